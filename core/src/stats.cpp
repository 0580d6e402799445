// The streamed statistics pass: scaling, nodata fill, RX background.
#include "bs3l/stats.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <limits>

namespace bs3l {

int strip_rows_for(const SceneReader &scene) {
  const size_t row = size_t(4) * std::max(1, scene.bands()) * std::max(1, scene.cols());
  return int(std::clamp<size_t>((size_t(64) << 20) / row, 1, 64));
}

std::vector<float> scaled_means(const std::vector<double> &mean, const Scaling &s) {
  std::vector<float> m;
  for (size_t b = 0; b < mean.size(); ++b)
    m.push_back(s.kind == Normalize::None ? float(mean[b]) : float((mean[b] - s.offset[b]) * s.scale[b]));
  return m;
}

SceneStats scene_stats(const SceneReader &scene, Normalize kind, bool want_rx, int strip_rows,
                       const std::vector<uint8_t> *rx_keep) {
  const int B = scene.bands(), H = scene.rows(), W = scene.cols();
  if (B < 1 || H < 1 || W < 1) throw Error("empty scene");
  if (strip_rows <= 0) strip_rows = strip_rows_for(scene);
  if (rx_keep && rx_keep->size() != size_t(H) * W) throw Error("the RX pixel mask does not match the scene");
  std::vector<double> sum(B, 0.0), sq(B, 0.0);
  double lo = std::numeric_limits<double>::max(), hi = std::numeric_limits<double>::lowest();
  size_t count = 0, rx_count = 0;
  // RX: scatter about the first valid pixel (one pass, no cancellation).
  std::vector<double> shift, dsum(B, 0.0);
  torch::Tensor scatter = torch::zeros({B, B}, torch::kFloat64);
  torch::NoGradGuard guard;
  for (int r0 = 0; r0 < H; r0 += std::max(1, strip_rows)) {
    const int rows = std::min(std::max(1, strip_rows), H - r0);
    const Cube c = scene.read({r0, 0, rows, W});
    const size_t n = c.pixels();
    for (int b = 0; b < B; ++b) {
      const float *p = c.data.data() + size_t(b) * n;
      for (size_t i = 0; i < n; ++i) {
        if (!c.is_valid(i)) continue;
        const double v = p[i];
        if (!std::isfinite(v))
          throw Error("band " + std::to_string(b + 1) + " has a non-finite value (NaN or Inf) at row " +
                      std::to_string(r0 + i / W) + ", column " + std::to_string(i % W) + "; declare it nodata or mask it");
        sum[b] += v, sq[b] += v * v, lo = std::min(lo, v), hi = std::max(hi, v);
      }
    }
    const size_t strip_valid = c.valid_count();
    count += strip_valid;
    if (!want_rx || strip_valid == 0) continue;
    for (int y = 0; y < rows; ++y) {
      std::vector<double> d;  // valid pixels of the row, [k][B]
      for (int x = 0; x < W; ++x) {
        const size_t i = size_t(y) * W + x;
        if (!c.is_valid(i) || (rx_keep && !(*rx_keep)[size_t(r0 + y) * W + x])) continue;
        ++rx_count;
        if (shift.empty())
          for (int b = 0; b < B; ++b) shift.push_back(c.data[size_t(b) * n + i]);
        for (int b = 0; b < B; ++b) {
          const double v = double(c.data[size_t(b) * n + i]) - shift[b];
          d.push_back(v), dsum[b] += v;
        }
      }
      if (d.empty()) continue;
      const torch::Tensor t = torch::from_blob(d.data(), {int64_t(d.size() / B), B}, torch::kFloat64);
      scatter += t.t().mm(t);
    }
  }
  if (count == 0) throw Error("no valid pixel (everything is nodata or masked)");
  SceneStats s;
  s.valid = count;
  Scaling &sc = s.scaling;
  sc.kind = kind;
  sc.offset.assign(B, 0.f), sc.scale.assign(B, 1.f);
  if (kind == Normalize::MinMax) {
    // One global min/max for all bands, as the paper's map01: keeps the
    // relative band magnitudes that the spectral shape carries.
    const double range = hi > lo ? hi - lo : 1.0;
    sc.offset.assign(B, float(lo)), sc.scale.assign(B, float(1.0 / range));
  } else if (kind == Normalize::ZScore) {
    for (int b = 0; b < B; ++b) {
      const double mean = sum[b] / count, var = std::max(0.0, sq[b] / count - mean * mean);
      sc.offset[b] = float(mean), sc.scale[b] = var > 0 ? float(1.0 / std::sqrt(var)) : 1.f;
    }
  }
  for (int b = 0; b < B; ++b) s.mean.push_back(sum[b] / count);
  s.fill = scaled_means(s.mean, sc);
  if (want_rx) {
    if (rx_count == 0) throw Error("no pixel left for the RX background");
    const double n = double(rx_count);
    const torch::Tensor m = torch::tensor(dsum, torch::kFloat64) / n;  // mean - shift
    const torch::Tensor cov = (scatter - n * m.outer(m)) / std::max(1.0, n - 1);
    // Tolerance as MATLAB's pinv: max(size) * eps * largest singular value.
    const double rtol = double(B) * std::numeric_limits<double>::epsilon();
    const torch::Tensor inv = torch::linalg_pinv(cov, rtol, /*hermitian=*/true).contiguous();
    for (int b = 0; b < B; ++b) s.rx.mean.push_back(shift[b] + m[b].item<double>());
    s.rx.inverse.assign(inv.data_ptr<double>(), inv.data_ptr<double>() + size_t(B) * B);
  }
  return s;
}

}  // namespace bs3l
