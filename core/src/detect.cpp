// Tiled scoring with the trained network, and global RX.
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

std::vector<float> rx_global(const Cube &cube) {
  check_cube(cube, 1);
  torch::NoGradGuard guard;
  const int64_t B = cube.bands, P = int64_t(cube.pixels()), chunk = 65536;
  torch::Tensor all = torch::from_blob(const_cast<float *>(cube.data.data()), {B, P});
  torch::Tensor valid = torch::from_blob(const_cast<uint8_t *>(cube.valid.data()), {cube.valid.empty() ? 0 : P},
                                         torch::kUInt8);
  auto dopt = torch::TensorOptions(torch::kFloat64);
  // Valid pixels in chunks of columns, so a large scene never needs a full
  // double copy: pass 1 sums, pass 2 centred scatter, pass 3 scores.
  auto for_chunks = [&](auto &&fn) {
    for (int64_t p0 = 0; p0 < P; p0 += chunk) {
      const int64_t p1 = std::min(P, p0 + chunk);
      torch::Tensor x = all.slice(1, p0, p1).to(torch::kFloat64).t();  // [n,B]
      torch::Tensor keep = cube.valid.empty() ? torch::ones({p1 - p0}, torch::kBool) : valid.slice(0, p0, p1).to(torch::kBool);
      fn(p0, p1, x, keep);
    }
  };
  torch::Tensor sum = torch::zeros({B}, dopt);
  int64_t n = 0;
  for_chunks([&](int64_t, int64_t, const torch::Tensor &x, const torch::Tensor &keep) {
    torch::Tensor v = x.index({keep});
    sum += v.sum(0);
    n += v.size(0);
  });
  const torch::Tensor mean = sum / double(n);
  torch::Tensor cov = torch::zeros({B, B}, dopt);
  for_chunks([&](int64_t, int64_t, const torch::Tensor &x, const torch::Tensor &keep) {
    torch::Tensor v = x.index({keep}) - mean;
    cov += v.t().mm(v);
  });
  cov /= double(std::max<int64_t>(1, n - 1));
  // Tolerance as MATLAB's pinv: max(size) * eps * largest singular value.
  const double rtol = double(B) * std::numeric_limits<double>::epsilon();
  const torch::Tensor inv = torch::linalg_pinv(cov, rtol, /*hermitian=*/true);
  std::vector<float> out(P, std::numeric_limits<float>::quiet_NaN());
  for_chunks([&](int64_t p0, int64_t p1, const torch::Tensor &x, const torch::Tensor &keep) {
    torch::Tensor v = x - mean;
    torch::Tensor d = (v.mm(inv) * v).sum(1).to(torch::kFloat32).contiguous();
    const float *dp = d.data_ptr<float>();
    const bool *kp = keep.data_ptr<bool>();
    for (int64_t i = p0; i < p1; ++i)
      if (kp[i - p0]) out[i] = dp[i - p0];
  });
  return out;
}

std::vector<float> rx_local(const Cube &cube, int inner, int outer) {
  check_cube(cube, 1);
  if (inner < 1 || outer <= inner || inner % 2 == 0 || outer % 2 == 0)
    throw Error("local RX windows must be odd sizes with inner < outer (e.g. 3,11)");
  const int r = outer / 2, ri = inner / 2, H = cube.rows, W = cube.cols, B = cube.bands;
  if (r >= H || r >= W) throw Error("the outer window (" + std::to_string(outer) + ") is too large for a " +
                                    std::to_string(W) + "x" + std::to_string(H) + " scene");
  torch::NoGradGuard guard;
  namespace F = torch::nn::functional;
  const auto dbl = torch::TensorOptions(torch::kFloat64);
  torch::Tensor x = torch::from_blob(const_cast<float *>(cube.data.data()), {1, B, H, W}).to(torch::kFloat64);
  torch::Tensor m = cube.valid.empty() ? torch::ones({1, 1, H, W}, dbl)
                                       : torch::from_blob(const_cast<uint8_t *>(cube.valid.data()), {1, 1, H, W}, torch::kUInt8)
                                             .to(torch::kFloat64);
  const auto pad = F::PadFuncOptions({r, r, r, r}).mode(torch::kReflect);
  x = F::pad(x, pad);
  m = F::pad(m, pad);
  // Offsets of the ring (outer window minus inner window), row-major in the window.
  std::vector<int64_t> ring;
  for (int dy = -r; dy <= r; ++dy)
    for (int dx = -r; dx <= r; ++dx)
      if (std::abs(dy) > ri || std::abs(dx) > ri) ring.push_back(int64_t(dy + r) * outer + (dx + r));
  const torch::Tensor ring_idx = torch::tensor(ring, torch::kLong);
  const int64_t K = outer * outer, n = int64_t(ring.size());
  std::vector<float> out(size_t(H) * W, std::numeric_limits<float>::quiet_NaN());
  // Row blocks keep the unfolded neighbourhoods near 128 MB.
  const int rows_per_block = std::max<int64_t>(1, (int64_t(128) << 20) / (8 * int64_t(B) * K * W));
  for (int y0 = 0; y0 < H; y0 += rows_per_block) {
    const int h = std::min(rows_per_block, H - y0);
    const auto unfold = F::UnfoldFuncOptions({outer, outer});
    torch::Tensor nb = F::unfold(x.slice(2, y0, y0 + h + 2 * r), unfold).view({B, K, h * W}).index_select(1, ring_idx);
    torch::Tensor wv = F::unfold(m.slice(2, y0, y0 + h + 2 * r), unfold).view({K, h * W}).index_select(0, ring_idx);
    torch::Tensor centre = x.slice(2, y0 + r, y0 + r + h).slice(3, r, r + W).reshape({B, h * W});
    for (int64_t l0 = 0; l0 < h * W; l0 += 256) {
      const int64_t l1 = std::min<int64_t>(h * W, l0 + 256);
      torch::Tensor s = nb.slice(2, l0, l1).permute({2, 1, 0});  // [L, n, B]
      torch::Tensor w = wv.slice(1, l0, l1).t().unsqueeze(2);     // [L, n, 1]
      torch::Tensor cnt = w.sum(1);                               // [L, 1]
      torch::Tensor mean = (s * w).sum(1) / cnt.clamp_min(1);
      torch::Tensor d = (s - mean.unsqueeze(1)) * w.sqrt();
      torch::Tensor cov = d.transpose(1, 2).bmm(d) / (cnt - 1).clamp_min(1).unsqueeze(2);
      torch::Tensor ridge = 1e-3 * cov.diagonal(0, 1, 2).mean(1).clamp_min(1e-12);
      cov = cov + ridge.view({-1, 1, 1}) * torch::eye(B, dbl);
      torch::Tensor v = (centre.slice(1, l0, l1).t() - mean).unsqueeze(2);  // [L, B, 1]
      torch::Tensor score = (v * torch::cholesky_solve(v, torch::linalg_cholesky(cov))).sum({1, 2});
      score = score.masked_fill(cnt.squeeze(1) < 2, std::numeric_limits<double>::quiet_NaN()).to(torch::kFloat32).contiguous();
      const float *sp = score.data_ptr<float>();
      for (int64_t l = l0; l < l1; ++l) {
        const size_t p = size_t(y0) * W + size_t(l);
        if (cube.valid.empty() || cube.valid[p]) out[p] = sp[l - l0];
      }
    }
  }
  return out;
}

}  // namespace bs3l
