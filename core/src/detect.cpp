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

Detection detect(const Model &model, const Cube &cube, const DetectOptions &o) {
  Model::Impl &m = model.impl();
  if (!m.net) throw Error("the model has not been trained");
  check_cube(cube);
  if (cube.bands != m.config.bands)
    throw Error("the model expects " + std::to_string(m.config.bands) + " bands but the scene has " +
                std::to_string(cube.bands));
  if (cube.rows < 2 || cube.cols < 2) throw Error("the scene must be at least 2x2 pixels");
  if (o.tile < 1) throw Error("tile size must be at least 1");
  const torch::Device dev = o.device.empty() ? m.device : torch::Device(resolve_device(o.device));
  m.net->to(dev);
  m.net->eval();
  torch::InferenceMode guard;

  const std::vector<float> fill = valid_means(cube, m.scaling);
  const int halo = receptive_radius(m.config), H = cube.rows, W = cube.cols, B = cube.bands;
  Detection d;
  d.score.assign(cube.pixels(), std::numeric_limits<float>::quiet_NaN());
  if (o.want_background) d.background.assign(size_t(B) * cube.pixels(), 0.f);
  // The scaled scores need every residual first (their spread is scene-wide).
  std::vector<float> residual;  // allocated after the memory guard below
  auto fopt = torch::TensorOptions(torch::kFloat32);
  torch::Tensor off = torch::tensor(m.scaling.offset.empty() ? std::vector<float>(B, 0.f) : m.scaling.offset, fopt);
  torch::Tensor scale = torch::tensor(m.scaling.scale.empty() ? std::vector<float>(B, 1.f) : m.scaling.scale, fopt);

  if (o.amp && !dev.is_cuda()) throw Error("--amp (bf16 autocast) needs a CUDA device");
  // On CUDA a tile that does not fit is halved and the scene redone.
  auto run = [&](int tile) {
    for (int r0 = 0; r0 < H; r0 += tile) {
      const int r1 = std::min(H, r0 + tile), pr0 = std::max(0, r0 - halo), pr1 = std::min(H, r1 + halo);
      // Rows with halo, all columns; columns are tiled below from this strip.
      torch::Tensor strip = prepare_rows(cube, m.scaling, fill, pr0, pr1, dev);
      for (int c0 = 0; c0 < W; c0 += tile) {
        const int c1 = std::min(W, c0 + tile), pc0 = std::max(0, c0 - halo), pc1 = std::min(W, c1 + halo);
        torch::Tensor x = strip.index({Slice(), Slice(), Slice(pc0, pc1)}).unsqueeze(0);
        torch::Tensor y = m.net->forward(x).to(torch::kFloat32);
        auto core = [&](const torch::Tensor &t) {
          return t.index({0, Slice(), Slice(r0 - pr0, r1 - pr0), Slice(c0 - pc0, c1 - pc0)});
        };
        // A [B, tile rows, tile cols] CPU tensor into a band-sequential scene buffer.
        auto place = [&](torch::Tensor t, std::vector<float> &dst) {
          t = t.contiguous();
          const float *tp = t.data_ptr<float>();
          for (int b = 0; b < B; ++b)
            for (int r = r0; r < r1; ++r)
              std::copy(tp + (size_t(b) * (r1 - r0) + (r - r0)) * (c1 - c0),
                        tp + (size_t(b) * (r1 - r0) + (r - r0) + 1) * (c1 - c0),
                        dst.begin() + (size_t(b) * H + r) * W + c0);
        };
        if (residual.empty()) {  // mse now; the other scores once every residual is in
          torch::Tensor s = core((y - x).pow(2).mean(1, true)).to(torch::kCPU).contiguous();
          const float *sp = s.data_ptr<float>();
          for (int r = r0; r < r1; ++r)
            for (int c = c0; c < c1; ++c) {
              const size_t i = size_t(r) * W + c;
              if (cube.is_valid(i)) d.score[i] = sp[(r - r0) * (c1 - c0) + (c - c0)];
            }
        } else {
          place(core(x - y).to(torch::kCPU), residual);
        }
        if (o.want_background) {
          torch::Tensor bg = core(y).to(torch::kCPU);
          if (m.scaling.kind != Normalize::None) bg = bg / scale.view({-1, 1, 1}) + off.view({-1, 1, 1});
          place(bg, d.background);
        }
      }
    }
  };
  // Instance norm normalises each tile by its own statistics: only a single
  // tile (the whole scene) gives the whole-scene scores.
  const bool whole = m.config.instance_norm;
  // Memory guard: smaller tiles until one fits in host memory.
  int first = whole ? std::max(H, W) : o.tile;
  if (!dev.is_cuda()) {
    const size_t free = available_memory(), keep = o.score == Score::Mse ? 0 : size_t(4) * B * cube.pixels();
    const size_t have = free - std::min(free, keep), strip = size_t(4) * B * W;
    auto need = [&](int t) {
      const size_t side = size_t(std::min(t, std::max(H, W)) + 2 * halo);
      return net_bytes(side * side, B, m.config.features, m.config.blocks, false) + strip * (std::min(t, H) + 2 * halo);
    };
    while (!whole && first > 32 && need(first) > have) first /= 2;
    if (need(first) > have)
      throw Error("detection needs about " + megabytes(need(first)) + " of memory but " + megabytes(have) +
                  " is available" + (whole ? " (--norm instance scores the whole scene in one pass)" : ""));
  }
  if (o.score != Score::Mse) residual.assign(size_t(B) * cube.pixels(), 0.f);
  for (int tile = first;; tile = std::max(32, tile / 2)) {
    try {
      Autocast amp(o.amp);
      run(tile);
      break;
    } catch (const c10::Error &e) {
      if (whole || !dev.is_cuda() || tile <= 32 || std::string(e.what()).find("out of memory") == std::string::npos)
        throw;
    }
  }
  if (o.score != Score::Mse) {
    d.score = scaled_score(residual, B, H, W, cube.valid);
    residual = std::vector<float>();
    if (o.score == Score::Fused) d.score = fuse(d.score, rx_global(cube), o.rx_weight);
  }
  return d;
}

}  // namespace bs3l
