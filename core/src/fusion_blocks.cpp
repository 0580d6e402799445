// The fused score's RX against every pixel per block of a large scene: the
// block's own weight and background.
#include <algorithm>
#include <limits>

#include "bs3l/rx.h"
#include "bs3l/score.h"
#include "bs3l/stats.h"

namespace bs3l {
namespace {

Window block_window(int a, int b, int H, int W, int nr, int nc) {
  const int r0 = block_edge(a, H, nr), c0 = block_edge(b, W, nc);
  return {r0, c0, block_edge(a + 1, H, nr) - r0, block_edge(b + 1, W, nc) - c0};
}

RxBackground block_background(const ScoreReference &ref, size_t k, size_t B) {
  return {std::vector<double>(ref.block_mean.begin() + k * B, ref.block_mean.begin() + (k + 1) * B),
          std::vector<double>(ref.block_inverse.begin() + k * B * B, ref.block_inverse.begin() + (k + 1) * B * B)};
}

// Copies a block's scores `s` into the scene-sized `out` (W columns).
void paste(const std::vector<float> &s, const Window &k, int W, std::vector<float> &out) {
  for (int y = 0; y < k.rows; ++y) std::copy_n(&s[size_t(y) * k.cols], k.cols, &out[size_t(y + k.row) * W + k.col]);
}

}  // namespace

void fit_blocks(const SceneReader &scene, ScoreReference &ref, std::vector<float> *rx, const Scaling *scaling) {
  const int H = scene.rows(), W = scene.cols(), nr = fusion_blocks(H), nc = fusion_blocks(W);
  ref.block_weight.clear(), ref.block_mean.clear(), ref.block_inverse.clear();
  if (nr * nc == 1) return;
  ref.grid_rows = H, ref.grid_cols = W;
  if (rx) rx->assign(size_t(H) * W, 0.0f);
  for (int a = 0; a < nr; ++a)
    for (int b = 0; b < nc; ++b) {
      const Window k = block_window(a, b, H, W, nr, nc);
      const Cube block = scene.read(k);
      size_t valid = 0;
      for (size_t i = 0; i < block.pixels(); ++i) valid += block.is_valid(i);
      RxBackground bg{ref.all_mean, ref.all_inverse};
      double w = ref.all_weight;
      std::vector<float> s;
      if (valid >= size_t(10) * size_t(block.bands)) {  // else too few pixels for a covariance
        // Stray data (stray_pixels) shapes neither the background nor the weight.
        const std::vector<uint8_t> stray = scaling ? stray_pixels(block, *scaling) : std::vector<uint8_t>();
        if (stray.empty()) {
          bg = rx_fit(block);
        } else {
          Cube rest = block;
          rest.valid.resize(rest.pixels(), 1);
          for (size_t i = 0; i < stray.size(); ++i) rest.valid[i] = rest.valid[i] && !stray[i];
          bg = rx_fit(rest);
        }
        s = rx_score(block, bg);
        w = rx_all_weight(rx_kurtosis(s, stray));
      } else if (rx) {
        s = rx_score(block, bg);
      }
      if (rx) paste(s, k, W, *rx);
      ref.block_weight.push_back(w);
      ref.block_mean.insert(ref.block_mean.end(), bg.mean.begin(), bg.mean.end());
      ref.block_inverse.insert(ref.block_inverse.end(), bg.inverse.begin(), bg.inverse.end());
    }
}

std::vector<float> rx_by_block(const Cube &cube, const ScoreReference &ref, int rows, int cols, const Window &at) {
  if (!ref.has_block_rx() || rows != ref.grid_rows || cols != ref.grid_cols)
    return rx_score(cube, RxBackground{ref.all_mean, ref.all_inverse});
  const int nr = fusion_blocks(rows), nc = fusion_blocks(cols);
  const size_t B = size_t(cube.bands);
  if (ref.block_mean.size() != size_t(nr) * nc * B || ref.block_inverse.size() != size_t(nr) * nc * B * B)
    throw Error("the RX backgrounds per block do not match the scene's bands");
  std::vector<float> out(cube.pixels(), std::numeric_limits<float>::quiet_NaN());
  const CubeReader in(cube);
  for (int a = 0; a < nr; ++a)
    for (int b = 0; b < nc; ++b) {
      const Window k = block_window(a, b, rows, cols, nr, nc);
      const int y0 = std::max(k.row, at.row), y1 = std::min(k.row + k.rows, at.row + at.rows);
      const int x0 = std::max(k.col, at.col), x1 = std::min(k.col + k.cols, at.col + at.cols);
      if (y0 >= y1 || x0 >= x1) continue;
      const std::vector<float> s =
          rx_score(in.read({y0 - at.row, x0 - at.col, y1 - y0, x1 - x0}), block_background(ref, size_t(a) * nc + b, B));
      for (int y = y0; y < y1; ++y)
        std::copy_n(&s[size_t(y - y0) * (x1 - x0)], x1 - x0, &out[size_t(y - at.row) * at.cols + (x0 - at.col)]);
    }
  return out;
}

}  // namespace bs3l
