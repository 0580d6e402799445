// Tiled scoring with the trained network, in memory or streamed.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>

#include "bs3l/rx.h"
#include "bs3l/stats.h"
#include "memory.h"
#include "model_impl.h"

namespace bs3l {

using torch::indexing::Slice;

namespace {

const float kNaN = std::numeric_limits<float>::quiet_NaN();

// Instance norm normalises each tile by its own statistics: only a single
// tile (the whole scene) gives the whole-scene scores.
bool whole_scene_only(const Model::Impl &m) { return m.config.instance_norm; }

int floor_to(int v, int step) { return v / step * step; }

// Scene rows/cols [lo, hi) widened by one (the 3x3 ring), out to the tile
// grid, plus the halo, inside [0, n).
std::pair<int, int> needed(int lo, int hi, int n, int tile, int halo, bool ring = true) {
  if (ring) lo = std::max(0, lo - 1), hi = std::min(n, hi + 1);
  const int g0 = floor_to(lo, tile), g1 = std::min(n, floor_to(hi - 1, tile) + tile);
  return {std::max(0, g0 - halo), std::min(n, g1 + halo)};
}

void check_window(const Window &w, int rows, int cols, const char *what) {
  if (w.rows < 1 || w.cols < 1 || w.row < 0 || w.col < 0 || w.row + w.rows > rows || w.col + w.cols > cols)
    throw Error(std::string(what) + " lies outside the scene");
}

void check_model(const Model::Impl &m, int bands) {
  if (!m.net) throw Error("the model has not been trained");
  if (bands != m.config.bands)
    throw Error("the model expects " + std::to_string(m.config.bands) + " bands but the scene has " +
                std::to_string(bands));
}

// Where a cube sits: the scene's size, the cube's place, the window scored.
struct Placement {
  int H, W;
  Window at, win;
  bool part;
};

Placement placement_of(const Cube &cube, const DetectOptions &o) {
  Placement p;
  p.part = o.scene_rows > 0;
  p.H = p.part ? o.scene_rows : cube.rows, p.W = p.part ? o.scene_cols : cube.cols;
  p.at = p.part ? o.cube_at : Window{0, 0, cube.rows, cube.cols};
  p.win = p.part ? o.window : p.at;
  check_window(p.at, p.H, p.W, "the cube");
  if (p.at.rows != cube.rows || p.at.cols != cube.cols) throw Error("the cube's size differs from its place in the scene");
  check_window(p.win, p.H, p.W, "the window");
  return p;
}

// What the network gives per cube pixel for the tiles the window needs:
// mse and (with weights) the weighted energy; the residual (band-
// sequential, cube-sized) when kept; the background when asked.
struct NetOut {
  std::vector<float> mse, weighted, residual, background;
};

NetOut run_network(Model::Impl &m, const Cube &cube, const DetectOptions &o, const Placement &p,
                   const std::vector<float> &fill, const std::vector<double> &weights, bool keep_residual,
                   bool ring = true) {
  const torch::Device dev = o.device.empty() ? m.device : torch::Device(resolve_device(o.device));
  if (o.amp && !dev.is_cuda()) throw Error("--amp (bf16 autocast) needs a CUDA device");
  m.net->to(dev);
  m.net->eval();
  torch::InferenceMode guard;
  const int halo = receptive_radius(m.config), h = cube.rows, w = cube.cols, B = cube.bands, H = p.H, W = p.W;
  const size_t n = cube.pixels();
  const Window &at = p.at, &win = p.win;
  NetOut out;
  out.mse.assign(n, kNaN), out.weighted.assign(n, kNaN);
  if (o.want_background) out.background.assign(size_t(B) * n, 0.f);
  auto fopt = torch::TensorOptions(torch::kFloat32);
  torch::Tensor off = torch::tensor(m.scaling.offset.empty() ? std::vector<float>(B, 0.f) : m.scaling.offset, fopt);
  torch::Tensor scale = torch::tensor(m.scaling.scale.empty() ? std::vector<float>(B, 1.f) : m.scaling.scale, fopt);
  // Scene pixels whose parts are needed: the window and (for the 3x3
  // support) its ring.
  const int e = ring ? 1 : 0;
  const int er0 = std::max(0, win.row - e), er1 = std::min(H, win.row + win.rows + e);
  const int ec0 = std::max(0, win.col - e), ec1 = std::min(W, win.col + win.cols + e);
  // Tiles on the scene's grid, so a window computes the very tensors the
  // whole scene does. On CUDA a tile that does not fit is halved and redone.
  auto run = [&](int tile) {
    // Ctrl-C is honoured between tiles (o.progress: false cancels).
    const int tiles = ((er1 - floor_to(er0, tile) + tile - 1) / tile) * ((ec1 - floor_to(ec0, tile) + tile - 1) / tile);
    int done = 0;
    for (int r0 = floor_to(er0, tile); r0 < er1; r0 += tile) {
      const int r1 = std::min(H, r0 + tile), pr0 = std::max(0, r0 - halo), pr1 = std::min(H, r1 + halo);
      if (pr0 < at.row || pr1 > at.row + h) throw Error("the cube lacks the halo of its window (see read_region)");
      torch::Tensor strip = prepare_rows(cube, m.scaling, fill, pr0 - at.row, pr1 - at.row, dev);
      for (int c0 = floor_to(ec0, tile); c0 < ec1; c0 += tile) {
        if (o.progress && !o.progress(double(done++) / tiles, 0)) throw Cancelled();
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
            out.mse[i] = tm[k];
            if (!tw_.empty()) out.weighted[i] = tw_[k];
          }
        if (keep_residual) place(res, out.residual);
        if (o.want_background) {
          torch::Tensor bg = core(y);
          if (m.scaling.kind != Normalize::None) bg = (bg / scale.view({-1, 1, 1}) + off.view({-1, 1, 1})).contiguous();
          place(bg, out.background);
        }
      }
    }
  };
  const bool whole = whole_scene_only(m);
  if (p.part && whole && (at.rows != H || at.cols != W)) throw Error("a model with instance norm scores whole scenes only");
  // Memory guard: smaller tiles until one fits in host memory.
  int first = whole ? std::max(H, W) : o.tile;
  if (!dev.is_cuda()) {
    const size_t free = available_memory(), keep = (keep_residual ? size_t(4) * B : 0) * n + size_t(12) * n;
    const size_t have = free - std::min(free, keep), strip = size_t(4) * B * w;
    auto need = [&](int t) {
      const size_t side = size_t(std::min(t, std::max(H, W)) + 2 * halo);
      return net_bytes(side * side, B, m.config.features, m.config.blocks, false) + strip * (std::min(t, h) + 2 * halo);
    };
    // A window's cube was read for one tile grid: keep it.
    while (!whole && !p.part && first > 32 && need(first) > have) first /= 2;
    if (need(first) > have)
      throw Error("detection needs about " + megabytes(need(first)) + " of memory but " + megabytes(have) +
                  " is available" + (whole ? " (--norm instance scores the whole scene in one pass)" : ""));
  }
  if (keep_residual) out.residual.assign(size_t(B) * n, 0.f);
  for (int tile = first;; tile = std::max(32, tile / 2)) {
    try {
      Autocast amp(o.amp);
      run(tile);
      break;
    } catch (const c10::Error &e) {
      if (whole || p.part || !dev.is_cuda() || tile <= 32 ||
          std::string(e.what()).find("out of memory") == std::string::npos)
        throw;
    }
  }
  return out;
}

// The window's parts (NaN elsewhere): mse, scaled (from the weighted
// energy and its ring), RX against `bg` and against every pixel (all's
// background, per block where it has them; when given).
struct Parts {
  std::vector<float> mse, scaled, rx, rx_all;
  std::vector<uint8_t> stray;  // pixels of stray data (stray_pixels; when refitting)
};

Parts parts_of(const Cube &cube, const NetOut &net, const Placement &p, const RxBackground *bg,
               const ScoreReference *all = nullptr) {
  Parts s;
  s.mse = net.mse;
  s.scaled = with_neighbours(net.weighted, cube.rows, cube.cols, cube.valid);
  if (bg) s.rx = rx_score(cube, *bg);
  if (all) s.rx_all = rx_by_block(cube, *all, p.H, p.W, p.at);
  for (int r = 0; r < cube.rows; ++r)
    for (int c = 0; c < cube.cols; ++c) {
      const int y = r + p.at.row, x = c + p.at.col;
      if (y >= p.win.row && y < p.win.row + p.win.rows && x >= p.win.col && x < p.win.col + p.win.cols) continue;
      const size_t i = size_t(r) * cube.cols + c;
      s.mse[i] = s.scaled[i] = kNaN;
      if (bg) s.rx[i] = kNaN;
      if (all) s.rx_all[i] = kNaN;
    }
  return s;
}

// The reference from a whole scene's parts (valid pixels: finite mse).
// The weight of RX against every pixel: the caller's, or the scene's rule,
// and on a scene larger than kFusionBlock the rule and RX's background per
// block (read from `scene`, rows x cols): s.rx_all is then rescored per block
// (the reference keeps a sample of both).
ScoreReference reference_of(Parts &s, std::vector<double> weights, const RxBackground &bg,
                            const RxBackground &all, double all_weight, const SceneReader &scene,
                            const Scaling &scaling) {
  std::vector<uint8_t> valid(s.mse.size());
  for (size_t i = 0; i < valid.size(); ++i) valid[i] = std::isfinite(s.mse[i]);
  ScoreReference ref;
  ref.band_weight = std::move(weights);
  ref.rx_mean = bg.mean, ref.rx_inverse = bg.inverse, ref.rx_rank = bg.rank;
  ref.all_mean = all.mean, ref.all_inverse = all.inverse;
  ref.kurtosis = rx_kurtosis(s.rx_all, s.stray);  // the global one's; stray data does not decide it
  ref.all_weight = all_weight >= 0 ? all_weight : rx_all_weight(ref.kurtosis);
  std::vector<float> by_block;  // RX per block, scored while fitting the blocks
  if (all_weight < 0) fit_blocks(scene, ref, &by_block, &scaling);
  const std::vector<size_t> sample = sample_pixels(valid.size(), valid);
  for (size_t i : sample)
    ref.mse.push_back(s.mse[i]), ref.scaled.push_back(s.scaled[i]), ref.rx.push_back(s.rx[i]),
        ref.rx_all.push_back(s.rx_all[i]);
  if (ref.has_block_rx()) {
    s.rx_all = std::move(by_block);
    for (size_t i : sample) ref.rx_block.push_back(s.rx_all[i]);
  }
  if (ref.has_blocks()) {
    const std::vector<float> w = pixel_weights(ref, scene.rows(), scene.cols(), {0, 0, scene.rows(), scene.cols()});
    for (size_t i : sample) ref.sample_weight.push_back(w[i]);
  }
  return ref;
}

// The fused score's weight per pixel of the window `at` (none for other scores).
std::vector<float> fused_weights(const ScoreReference &ref, const DetectOptions &o, int rows, int cols, const Window &at) {
  return o.score == Score::Fused ? pixel_weights(ref, rows, cols, at) : std::vector<float>();
}

// The reference as the caller weighs it (DetectOptions::rx_all_weight).
ScoreReference weighed(ScoreReference ref, double all_weight) {
  if (all_weight >= 0 && ref.has_all()) {
    ref.all_weight = all_weight;
    ref.block_weight.clear(), ref.sample_weight.clear(), ref.grid_rows = ref.grid_cols = 0;
    ref.block_mean.clear(), ref.block_inverse.clear(), ref.rx_block.clear();
  }
  return ref;
}

// The nodata fill: the training scene's means, saved with the model; a
// model file of an earlier build has none: this scene's (one statistics pass).
std::vector<float> fill_of(const Model::Impl &m, const SceneReader &scene) {
  if (!m.fill.empty()) return m.fill;
  return scaled_means(scene_stats(scene, Normalize::None, false).mean, m.scaling);
}

// Global RX's background when refitting: every valid pixel but the fraction
// the network scores highest (one statistics pass).
RxBackground purified_rx(const SceneReader &scene, const std::vector<float> &scaled, double drop,
                         const std::vector<uint8_t> &stray, int rank = 0) {
  std::vector<uint8_t> keep = background_pixels(scaled, drop);
  for (size_t i = 0; i < stray.size(); ++i) keep[i] = keep[i] && !stray[i];  // stray data shapes no background
  return scene_stats(scene, Normalize::None, true, 0, &keep, rank).rx;
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
  check_model(m, cube.bands);
  if (o.tile < 1) throw Error("tile size must be at least 1");
  const Placement p = placement_of(cube, o);
  check_cube(cube, 1, p.part);  // a piece of a scene may be all nodata
  if (p.H < 2 || p.W < 2) throw Error("the scene must be at least 2x2 pixels");
  // A model without a reference (fresh from train()) is measured against this scene.
  const bool refit = o.refit || m.reference.empty();
  if (p.part && refit)
    throw Error(o.refit ? "a window cannot be measured against itself: score it against the model's reference"
                        : "a window is scored against the model's reference, which this model lacks");
  const std::vector<float> fill = fill_of(m, CubeReader(cube));
  Detection d;
  if (!refit) {
    const ScoreReference ref = weighed(m.reference, o.rx_all_weight);
    NetOut net = run_network(m, cube, o, p, fill, ref.band_weight, false);
    const RxBackground bg{ref.rx_mean, ref.rx_inverse};
    const bool fused = o.score == Score::Fused;
    const Parts s = parts_of(cube, net, p, fused ? &bg : nullptr, fused && ref.has_all() ? &ref : nullptr);
    d.score = raw_score(ref, o.score, o.rx_weight, s.mse, s.scaled, s.rx, s.rx_all, fused_weights(ref, o, p.H, p.W, p.at));
    d.background = std::move(net.background);
    d.reference = ref;
    return d;
  }
  // Refit: the band weights need every sample's residual first.
  NetOut net = run_network(m, cube, o, p, fill, {}, true);
  const size_t n = cube.pixels();
  const std::vector<double> weights = band_weights(net.residual, cube.bands, n, sample_pixels(n, cube.valid));
  std::vector<float> mse(n);
  residual_energy(net.residual.data(), cube.bands, n, weights, mse.data(), net.weighted.data());
  net.residual = std::vector<float>();
  for (size_t i = 0; i < n; ++i)
    if (!cube.is_valid(i)) net.weighted[i] = kNaN;
  Parts s = parts_of(cube, net, p, nullptr);
  s.stray = stray_pixels(cube, m.scaling);
  const RxBackground bg = purified_rx(CubeReader(cube), s.scaled, o.rx_purify, s.stray, o.rx_rank),
                     all = purified_rx(CubeReader(cube), s.scaled, 0, s.stray);
  s.rx = rx_score(cube, bg), s.rx_all = rx_score(cube, all);
  d.reference = reference_of(s, weights, bg, all, o.rx_all_weight, CubeReader(cube), m.scaling);
  d.score = raw_score(d.reference, o.score, o.rx_weight, s.mse, s.scaled, s.rx, s.rx_all,
                      fused_weights(d.reference, o, cube.rows, cube.cols, {0, 0, cube.rows, cube.cols}));
  d.background = std::move(net.background);
  return d;
}

Detection detect(const Model &model, const SceneReader &scene, const DetectOptions &o, int window_cols) {
  Model::Impl &m = model.impl();
  check_model(m, scene.bands());
  if (o.want_background) throw Error("the background reconstruction needs the scene in memory");
  if (o.scene_rows > 0) throw Error("a streamed scene is scored whole");
  if (o.tile < 1) throw Error("tile size must be at least 1");
  const int H = scene.rows(), W = scene.cols(), B = scene.bands();
  if (H < 2 || W < 2) throw Error("the scene must be at least 2x2 pixels");
  if (whole_scene_only(m)) {
    Cube c = scene.read({0, 0, H, W});
    return detect(model, c, o);
  }
  const size_t n = size_t(H) * W;
  // Windows of whole grid tiles (one row of them, window_cols wide), each
  // read with its halo; the 3x3 support is taken at the end from the
  // scene-wide per-pixel energies, so no window needs its neighbours' tiles.
  const int step = std::max(1, o.tile), wc = std::max(step, floor_to(std::max(window_cols, step), step));
  const int halo = receptive_radius(m.config);
  const bool refit = o.refit || m.reference.empty();
  const int passes = refit ? 2 : 1, windows = ((H + step - 1) / step) * ((W + wc - 1) / wc);
  int done = 0;
  auto for_windows = [&](auto &&fn) {
    for (int r0 = 0; r0 < H; r0 += step)
      for (int c0 = 0; c0 < W; c0 += wc) {
        if (o.progress && !o.progress(double(done++) / (passes * windows), 0)) throw Cancelled();
        const Window w{r0, c0, std::min(step, H - r0), std::min(wc, W - c0)};
        DetectOptions po = o;
        po.progress = nullptr;  // counted here, per window
        po.scene_rows = H, po.scene_cols = W, po.window = w;
        const auto [a0, a1] = needed(w.row, w.row + w.rows, H, step, halo, false);
        const auto [b0, b1] = needed(w.col, w.col + w.cols, W, step, halo, false);
        po.cube_at = {a0, b0, a1 - a0, b1 - b0};
        const Cube c = scene.read(po.cube_at);
        check_cube(c, 1, true);
        fn(c, po, placement_of(c, po));
      }
  };
  auto each_window_pixel = [&](const Placement &p, auto &&fn) {  // fn(cube index, scene index)
    for (int y = p.win.row; y < p.win.row + p.win.rows; ++y)
      for (int x = p.win.col; x < p.win.col + p.win.cols; ++x)
        fn(size_t(y - p.at.row) * p.at.cols + (x - p.at.col), size_t(y) * W + x);
  };
  const std::vector<float> fill = fill_of(m, scene);
  std::vector<double> weights;
  RxBackground bg, bg_all;
  const ScoreReference model_ref = weighed(m.reference, o.rx_all_weight);
  if (refit) {
    // Pass 1: the residual at the sample pixels (as sample_pixels picks
    // them), for the band spreads.
    const size_t stride = sample_stride(n), slots = (n + stride - 1) / stride;
    std::vector<float> res(size_t(B) * slots, 0.f);
    std::vector<uint8_t> got(slots, 0);
    for_windows([&](const Cube &c, const DetectOptions &po, const Placement &p) {
      const NetOut net = run_network(m, c, po, p, fill, {}, true, false);
      each_window_pixel(p, [&](size_t i, size_t j) {
        if (j % stride || !c.is_valid(i)) return;
        got[j / stride] = 1;
        for (int b = 0; b < B; ++b) res[size_t(b) * slots + j / stride] = net.residual[size_t(b) * c.pixels() + i];
      });
    });
    std::vector<size_t> sample;
    for (size_t k = 0; k < slots; ++k)
      if (got[k]) sample.push_back(k);
    if (sample.empty()) throw Error("no valid pixel (everything is nodata or masked)");
    weights = band_weights(res, B, slots, sample);
  } else {
    weights = model_ref.band_weight;
    bg = {model_ref.rx_mean, model_ref.rx_inverse};
  }
  // Pass 2: every pixel's energies (and RX against the model's background),
  // then the 3x3 support scene-wide.
  Parts all;
  std::vector<float> weighted(n, kNaN);
  std::vector<uint8_t> valid(n, 0);
  all.mse.assign(n, kNaN), all.rx.assign(n, kNaN);
  const bool want_rx = !refit && o.score == Score::Fused, want_all = want_rx && model_ref.has_all();
  if (want_all) all.rx_all.assign(n, kNaN);
  for_windows([&](const Cube &c, const DetectOptions &po, const Placement &p) {
    const NetOut net = run_network(m, c, po, p, fill, weights, false, false);
    const std::vector<float> rx = want_rx ? rx_score(c, bg) : std::vector<float>(),
                             rx_all = want_all ? rx_by_block(c, model_ref, H, W, po.cube_at) : std::vector<float>();
    const std::vector<uint8_t> stray = refit ? stray_pixels(c, m.scaling) : std::vector<uint8_t>();
    if (!stray.empty() && all.stray.empty()) all.stray.assign(n, 0);
    each_window_pixel(p, [&](size_t i, size_t j) {
      if (!stray.empty()) all.stray[j] = stray[i];
      valid[j] = c.is_valid(i);
      all.mse[j] = net.mse[i], weighted[j] = net.weighted[i];
      if (want_rx) all.rx[j] = rx[i];
      if (want_all) all.rx_all[j] = rx_all[i];
    });
  });
  all.scaled = with_neighbours(weighted, H, W, valid);
  weighted = std::vector<float>();
  if (refit) {
    // RX's background without the pixels the network ranks highest, then
    // RX against it: two passes by strips, no halo.
    bg = purified_rx(scene, all.scaled, o.rx_purify, all.stray, o.rx_rank);
    all.rx = rx_score(scene, bg);
    bg_all = purified_rx(scene, all.scaled, 0, all.stray);
    all.rx_all = rx_score(scene, bg_all);
  }
  if (o.progress && !o.progress(1.0, 0)) throw Cancelled();
  Detection d;
  d.reference = refit ? reference_of(all, weights, bg, bg_all, o.rx_all_weight, scene, m.scaling) : model_ref;
  if (d.reference.mse.empty()) throw Error("no valid pixel (everything is nodata or masked)");
  d.score = raw_score(d.reference, o.score, o.rx_weight, all.mse, all.scaled, all.rx, all.rx_all,
                      fused_weights(d.reference, o, H, W, {0, 0, H, W}));
  return d;
}

}  // namespace bs3l
