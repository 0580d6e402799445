// Tiled scoring with the trained network.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>

#include "bs3l/rx.h"
#include "memory.h"
#include "model_impl.h"

namespace bs3l {

using torch::indexing::Slice;

namespace {

// Instance norm normalises each tile by its own statistics: only a single
// tile (the whole scene) gives the whole-scene scores.
bool whole_scene_only(const Model::Impl &m) { return m.config.instance_norm; }

int floor_to(int v, int step) { return v / step * step; }

// Scene rows/cols [lo, hi) widened by one (the 3x3 ring), out to the tile
// grid, plus the halo, inside [0, n).
std::pair<int, int> needed(int lo, int hi, int n, int tile, int halo) {
  lo = std::max(0, lo - 1), hi = std::min(n, hi + 1);
  const int g0 = floor_to(lo, tile), g1 = std::min(n, floor_to(hi - 1, tile) + tile);
  return {std::max(0, g0 - halo), std::min(n, g1 + halo)};
}

void check_window(const Window &w, int rows, int cols, const char *what) {
  if (w.rows < 1 || w.cols < 1 || w.row < 0 || w.col < 0 || w.row + w.rows > rows || w.col + w.cols > cols)
    throw Error(std::string(what) + " lies outside the scene");
}

// The reference fitted on a whole scene from its full residual.
ScoreReference fit_reference(const Cube &cube, const std::vector<float> &residual, std::vector<float> &mse,
                             std::vector<float> &weighted) {
  const size_t n = cube.pixels();
  const std::vector<size_t> sample = sample_pixels(n, cube.valid);
  ScoreReference ref;
  ref.band_weight = band_weights(residual, cube.bands, n, sample);
  residual_energy(residual.data(), cube.bands, n, ref.band_weight, mse.data(), weighted.data());
  const RxBackground bg = rx_fit(cube);
  ref.rx_mean = bg.mean, ref.rx_inverse = bg.inverse;
  const std::vector<float> scaled = with_neighbours(weighted, cube.rows, cube.cols, cube.valid),
                           rx = rx_score(cube, bg);
  for (size_t i : sample) ref.mse.push_back(mse[i]), ref.scaled.push_back(scaled[i]), ref.rx.push_back(rx[i]);
  for (size_t i = 0; i < n; ++i)
    if (!cube.is_valid(i)) mse[i] = weighted[i] = std::numeric_limits<float>::quiet_NaN();
  return ref;
}

}  // namespace

Window read_region(const Model &model, const DetectOptions &o, int rows, int cols, const Window &w) {
  check_window(w, rows, cols, "the window");
  if (whole_scene_only(model.impl())) return {0, 0, rows, cols};
  const int halo = receptive_radius(model.config()), tile = std::max(1, o.tile);
  const auto [r0, r1] = needed(w.row, w.row + w.rows, rows, tile, halo);
  const auto [c0, c1] = needed(w.col, w.col + w.cols, cols, tile, halo);
  return {r0, c0, r1 - r0, c1 - c0};
}

Detection detect(const Model &model, const Cube &cube, const DetectOptions &o) {
  Model::Impl &m = model.impl();
  if (!m.net) throw Error("the model has not been trained");
  check_cube(cube);
  if (cube.bands != m.config.bands)
    throw Error("the model expects " + std::to_string(m.config.bands) + " bands but the scene has " +
                std::to_string(cube.bands));
  if (cube.rows < 2 || cube.cols < 2) throw Error("the scene must be at least 2x2 pixels");
  if (o.tile < 1) throw Error("tile size must be at least 1");
  // The scene and the cube's place in it.
  const bool part = o.scene_rows > 0;
  const int H = part ? o.scene_rows : cube.rows, W = part ? o.scene_cols : cube.cols, B = cube.bands;
  const Window at = part ? o.cube_at : Window{0, 0, cube.rows, cube.cols};
  const Window win = part ? o.window : at;
  check_window(at, H, W, "the cube");
  if (at.rows != cube.rows || at.cols != cube.cols) throw Error("the cube's size differs from its place in the scene");
  check_window(win, H, W, "the window");
  // A model without a reference (fresh from train()) is measured against this scene.
  const bool refit = o.refit || m.reference.empty();
  if (part && refit) throw Error("a window is scored against the model's reference, which this model lacks");
  if (part && whole_scene_only(m) && (at.rows != H || at.cols != W))
    throw Error("a model with instance norm scores whole scenes only");
  const torch::Device dev = o.device.empty() ? m.device : torch::Device(resolve_device(o.device));
  m.net->to(dev);
  m.net->eval();
  torch::InferenceMode guard;

  const std::vector<float> fill = m.fill.empty() ? valid_means(cube, m.scaling) : m.fill;
  const int halo = receptive_radius(m.config), h = cube.rows, w = cube.cols;
  const size_t n = cube.pixels();
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const std::vector<double> weights = refit ? std::vector<double>() : m.reference.band_weight;
  Detection d;
  std::vector<float> mse(n, nan), weighted(n, nan), residual;  // residual: refit only, after the memory guard
  if (o.want_background) d.background.assign(size_t(B) * n, 0.f);
  auto fopt = torch::TensorOptions(torch::kFloat32);
  torch::Tensor off = torch::tensor(m.scaling.offset.empty() ? std::vector<float>(B, 0.f) : m.scaling.offset, fopt);
  torch::Tensor scale = torch::tensor(m.scaling.scale.empty() ? std::vector<float>(B, 1.f) : m.scaling.scale, fopt);
  // Scene pixels whose parts are needed: the window and its 3x3 ring.
  const int er0 = std::max(0, win.row - 1), er1 = std::min(H, win.row + win.rows + 1);
  const int ec0 = std::max(0, win.col - 1), ec1 = std::min(W, win.col + win.cols + 1);

  if (o.amp && !dev.is_cuda()) throw Error("--amp (bf16 autocast) needs a CUDA device");
  // Tiles on the scene's grid, so a window computes the very tensors the
  // whole scene does. On CUDA a tile that does not fit is halved and redone.
  auto run = [&](int tile) {
    for (int r0 = floor_to(er0, tile); r0 < er1; r0 += tile) {
      const int r1 = std::min(H, r0 + tile), pr0 = std::max(0, r0 - halo), pr1 = std::min(H, r1 + halo);
      if (pr0 < at.row || pr1 > at.row + h) throw Error("the cube lacks the halo of its window (see read_region)");
      torch::Tensor strip = prepare_rows(cube, m.scaling, fill, pr0 - at.row, pr1 - at.row, dev);
      for (int c0 = floor_to(ec0, tile); c0 < ec1; c0 += tile) {
        const int c1 = std::min(W, c0 + tile), pc0 = std::max(0, c0 - halo), pc1 = std::min(W, c1 + halo);
        if (pc0 < at.col || pc1 > at.col + w) throw Error("the cube lacks the halo of its window (see read_region)");
        torch::Tensor x = strip.index({Slice(), Slice(), Slice(pc0 - at.col, pc1 - at.col)}).unsqueeze(0);
        torch::Tensor y = m.net->forward(x).to(torch::kFloat32);
        auto core = [&](const torch::Tensor &t) {
          return t.index({0, Slice(), Slice(r0 - pr0, r1 - pr0), Slice(c0 - pc0, c1 - pc0)}).to(torch::kCPU).contiguous();
        };
        const int th = r1 - r0, tw = c1 - c0;
        // A [B, th, tw] tile into a band-sequential cube-sized buffer.
        auto place = [&](const torch::Tensor &t, std::vector<float> &dst) {
          const float *tp = t.data_ptr<float>();
          for (int b = 0; b < B; ++b)
            for (int r = 0; r < th; ++r)
              std::copy(tp + (size_t(b) * th + r) * tw, tp + (size_t(b) * th + r + 1) * tw,
                        dst.begin() + (size_t(b) * h + r0 + r - at.row) * w + (c0 - at.col));
        };
        const torch::Tensor res = core(x - y);
        std::vector<float> tm(size_t(th) * tw), tw_(weights.empty() ? 0 : size_t(th) * tw);
        residual_energy(res.data_ptr<float>(), B, tm.size(), weights, tm.data(), tw_.data());
        for (int r = 0; r < th; ++r)
          for (int c = 0; c < tw; ++c) {
            const size_t i = size_t(r0 + r - at.row) * w + (c0 + c - at.col), k = size_t(r) * tw + c;
            if (!cube.is_valid(i)) continue;
            mse[i] = tm[k];
            if (!tw_.empty()) weighted[i] = tw_[k];
          }
        if (refit) place(res, residual);
        if (o.want_background) {
          torch::Tensor bg = core(y);
          if (m.scaling.kind != Normalize::None) bg = (bg / scale.view({-1, 1, 1}) + off.view({-1, 1, 1})).contiguous();
          place(bg, d.background);
        }
      }
    }
  };
  const bool whole = whole_scene_only(m);
  // Memory guard: smaller tiles until one fits in host memory.
  int first = whole ? std::max(H, W) : o.tile;
  if (!dev.is_cuda()) {
    const size_t free = available_memory(), keep = (refit ? size_t(4) * B : 0) * n + size_t(12) * n;
    const size_t have = free - std::min(free, keep), strip = size_t(4) * B * w;
    auto need = [&](int t) {
      const size_t side = size_t(std::min(t, std::max(H, W)) + 2 * halo);
      return net_bytes(side * side, B, m.config.features, m.config.blocks, false) + strip * (std::min(t, h) + 2 * halo);
    };
    // A window's cube was read for one tile grid: keep it.
    while (!whole && !part && first > 32 && need(first) > have) first /= 2;
    if (need(first) > have)
      throw Error("detection needs about " + megabytes(need(first)) + " of memory but " + megabytes(have) +
                  " is available" + (whole ? " (--norm instance scores the whole scene in one pass)" : ""));
  }
  if (refit) residual.assign(size_t(B) * n, 0.f);
  for (int tile = first;; tile = std::max(32, tile / 2)) {
    try {
      Autocast amp(o.amp);
      run(tile);
      break;
    } catch (const c10::Error &e) {
      if (whole || part || !dev.is_cuda() || tile <= 32 ||
          std::string(e.what()).find("out of memory") == std::string::npos)
        throw;
    }
  }
  if (refit) {
    d.reference = fit_reference(cube, residual, mse, weighted);
    residual = std::vector<float>();
  } else {
    d.reference = m.reference;
  }
  const ScoreReference &ref = d.reference;
  std::vector<float> scaled, rx;
  if (o.score != Score::Mse) scaled = with_neighbours(weighted, h, w, cube.valid);
  if (o.score == Score::Fused) rx = rx_score(cube, {ref.rx_mean, ref.rx_inverse});
  d.score = raw_score(ref, o.score, o.rx_weight, mse, scaled, rx);
  // Outside the window the parts are incomplete.
  for (int r = 0; r < h; ++r)
    for (int c = 0; c < w; ++c)
      if (r + at.row < win.row || r + at.row >= win.row + win.rows || c + at.col < win.col ||
          c + at.col >= win.col + win.cols)
        d.score[size_t(r) * w + c] = nan;
  return d;
}

}  // namespace bs3l
