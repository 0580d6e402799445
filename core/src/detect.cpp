// Tiled scoring with the trained network, and global RX.
#include <cmath>
#include <limits>

#include "bs3l/rx.h"
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
  auto fopt = torch::TensorOptions(torch::kFloat32);
  torch::Tensor off = torch::tensor(m.scaling.offset.empty() ? std::vector<float>(B, 0.f) : m.scaling.offset, fopt);
  torch::Tensor scale = torch::tensor(m.scaling.scale.empty() ? std::vector<float>(B, 1.f) : m.scaling.scale, fopt);

  for (int r0 = 0; r0 < H; r0 += o.tile) {
    const int r1 = std::min(H, r0 + o.tile), pr0 = std::max(0, r0 - halo), pr1 = std::min(H, r1 + halo);
    // Rows with halo, all columns; columns are tiled below from this strip.
    torch::Tensor strip = prepare_rows(cube, m.scaling, fill, pr0, pr1, dev);
    for (int c0 = 0; c0 < W; c0 += o.tile) {
      const int c1 = std::min(W, c0 + o.tile), pc0 = std::max(0, c0 - halo), pc1 = std::min(W, c1 + halo);
      torch::Tensor x = strip.index({Slice(), Slice(), Slice(pc0, pc1)}).unsqueeze(0);
      torch::Tensor y = m.net->forward(x);
      auto core = [&](const torch::Tensor &t) {
        return t.index({0, Slice(), Slice(r0 - pr0, r1 - pr0), Slice(c0 - pc0, c1 - pc0)});
      };
      torch::Tensor s = core((y - x).pow(2).mean(1, true)).to(torch::kCPU).contiguous();
      const float *sp = s.data_ptr<float>();
      for (int r = r0; r < r1; ++r)
        for (int c = c0; c < c1; ++c) {
          const size_t i = size_t(r) * W + c;
          if (cube.is_valid(i)) d.score[i] = sp[(r - r0) * (c1 - c0) + (c - c0)];
        }
      if (o.want_background) {
        torch::Tensor bg = core(y).to(torch::kCPU);
        if (m.scaling.kind != Normalize::None) bg = bg / scale.view({-1, 1, 1}) + off.view({-1, 1, 1});
        bg = bg.contiguous();
        const float *bp = bg.data_ptr<float>();
        for (int b = 0; b < B; ++b)
          for (int r = r0; r < r1; ++r)
            std::copy(bp + (size_t(b) * (r1 - r0) + (r - r0)) * (c1 - c0),
                      bp + (size_t(b) * (r1 - r0) + (r - r0) + 1) * (c1 - c0),
                      d.background.begin() + (size_t(b) * H + r) * W + c0);
      }
    }
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

}  // namespace bs3l
