// The fused score's RX weight per block of a large scene.
#include "bs3l/rx.h"
#include "bs3l/score.h"

namespace bs3l {

std::vector<double> block_weights(const SceneReader &scene, double scene_weight) {
  const int H = scene.rows(), W = scene.cols(), nr = fusion_blocks(H), nc = fusion_blocks(W);
  if (nr * nc == 1) return {};
  std::vector<double> w;
  for (int a = 0; a < nr; ++a)
    for (int b = 0; b < nc; ++b) {
      const int r0 = block_edge(a, H, nr), r1 = block_edge(a + 1, H, nr);
      const int c0 = block_edge(b, W, nc), c1 = block_edge(b + 1, W, nc);
      const Cube block = scene.read({r0, c0, r1 - r0, c1 - c0});
      size_t valid = 0;
      for (size_t i = 0; i < block.pixels(); ++i) valid += block.is_valid(i);
      if (valid < size_t(10) * size_t(block.bands)) {  // too few pixels for a covariance
        w.push_back(scene_weight);
        continue;
      }
      w.push_back(rx_all_weight(rx_kurtosis(rx_score(block, rx_fit(block)))));
    }
  return w;
}

}  // namespace bs3l
