// Global and local (dual-window) RX, in double precision.
#include <algorithm>
#include <cmath>
#include <limits>

#include <torch/torch.h>

#include "bs3l/rx.h"
#include "bs3l/stats.h"

namespace bs3l {

using torch::indexing::Slice;

namespace {

// Valid pixels in chunks of columns, so a large scene never needs a full
// double copy: fn(p0, p1, x [n,B] double, keep [n] bool).
template <class Fn>
void for_chunks(const Cube &cube, Fn &&fn) {
  const int64_t B = cube.bands, P = int64_t(cube.pixels()), chunk = 16384;  // ~26 MB per double copy at 200 bands
  torch::Tensor all = torch::from_blob(const_cast<float *>(cube.data.data()), {B, P});
  torch::Tensor valid = torch::from_blob(const_cast<uint8_t *>(cube.valid.data()), {cube.valid.empty() ? 0 : P},
                                         torch::kUInt8);
  for (int64_t p0 = 0; p0 < P; p0 += chunk) {
    const int64_t p1 = std::min(P, p0 + chunk);
    torch::Tensor x = all.slice(1, p0, p1).to(torch::kFloat64).t();
    torch::Tensor keep = cube.valid.empty() ? torch::ones({p1 - p0}, torch::kBool) : valid.slice(0, p0, p1).to(torch::kBool);
    fn(p0, p1, x, keep);
  }
}

torch::Tensor tensor_of(const std::vector<double> &v, std::vector<int64_t> shape) {
  return torch::from_blob(const_cast<double *>(v.data()), shape, torch::kFloat64).clone();
}

}  // namespace

RxBackground rx_fit(const Cube &cube) {
  check_cube(cube, 1);
  return scene_stats(CubeReader(cube), Normalize::None, true).rx;
}

std::vector<float> rx_score(const Cube &cube, const RxBackground &bg) {
  // Sizes only: every caller has checked the values (a window of a scene
  // may be all nodata).
  if (cube.data.size() != size_t(cube.bands) * cube.pixels() || (!cube.valid.empty() && cube.valid.size() != cube.pixels()))
    throw Error("cube data size does not match its dimensions");
  const int64_t B = cube.bands;
  if (bg.mean.size() != size_t(B) || bg.inverse.size() != size_t(B * B))
    throw Error("the RX background has " + std::to_string(bg.mean.size()) + " bands but the scene " +
                std::to_string(B));
  torch::NoGradGuard guard;
  const torch::Tensor mean = tensor_of(bg.mean, {B}), inv = tensor_of(bg.inverse, {B, B});
  std::vector<float> out(cube.pixels(), std::numeric_limits<float>::quiet_NaN());
  for_chunks(cube, [&](int64_t p0, int64_t p1, const torch::Tensor &x, const torch::Tensor &keep) {
    torch::Tensor v = x - mean;
    torch::Tensor d = (v.mm(inv) * v).sum(1).to(torch::kFloat32).contiguous();
    const float *dp = d.data_ptr<float>();
    const bool *kp = keep.data_ptr<bool>();
    for (int64_t i = p0; i < p1; ++i)
      if (kp[i - p0]) out[i] = dp[i - p0];
  });
  return out;
}

std::vector<float> rx_score(const SceneReader &scene, const RxBackground &bg) {
  const int H = scene.rows(), W = scene.cols(), strip_rows = strip_rows_for(scene);
  std::vector<float> out;
  out.reserve(size_t(H) * W);
  for (int r0 = 0; r0 < H; r0 += strip_rows) {
    const std::vector<float> s = rx_score(scene.read({r0, 0, std::min(strip_rows, H - r0), W}), bg);
    out.insert(out.end(), s.begin(), s.end());
  }
  return out;
}

std::vector<float> rx_global(const Cube &cube) { return rx_score(cube, rx_fit(cube)); }

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
