// Robust band scaling, spatial support and fusion of anomaly scores.
#include "bs3l/score.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "bs3l/cube.h"

namespace bs3l {

Score parse_score(const std::string &name) {
  if (name == "mse") return Score::Mse;
  if (name == "scaled") return Score::Scaled;
  if (name == "fused") return Score::Fused;
  throw Error("unknown score '" + name + "' (use fused, scaled or mse)");
}

std::string to_string(Score s) {
  switch (s) {
    case Score::Mse: return "mse";
    case Score::Scaled: return "scaled";
    case Score::Fused: return "fused";
  }
  return "?";
}

namespace {

double median_in_place(std::vector<float> &v) {
  const size_t k = v.size() / 2;
  std::nth_element(v.begin(), v.begin() + k, v.end());
  double m = v[k];
  if (v.size() % 2 == 0) m = 0.5 * (m + *std::max_element(v.begin(), v.begin() + k));
  return m;
}

// 1.4826 x MAD of the valid values of one band (a Gaussian's standard
// deviation, unmoved by the few anomalies). At most ~1M samples, evenly spaced.
double robust_spread(const float *band, size_t n, const std::vector<uint8_t> &valid) {
  const size_t stride = std::max<size_t>(1, n >> 20);
  std::vector<float> v;
  v.reserve(n / stride + 1);
  for (size_t i = 0; i < n; i += stride)
    if (valid.empty() || valid[i]) v.push_back(band[i]);
  if (v.empty()) return 0;
  const double med = median_in_place(v);
  for (float &x : v) x = float(std::fabs(x - med));
  return 1.4826 * median_in_place(v);
}

}  // namespace

std::vector<float> scaled_score(const std::vector<float> &residual, int bands, int rows, int cols,
                                const std::vector<uint8_t> &valid) {
  const size_t n = size_t(rows) * cols;
  if (residual.size() != size_t(bands) * n || (!valid.empty() && valid.size() != n))
    throw Error("residual and mask sizes do not match the scene");
  std::vector<double> m(n, 0.0);
  int used = 0;
  for (int b = 0; b < bands; ++b) {
    const float *r = residual.data() + size_t(b) * n;
    const double s = robust_spread(r, n, valid);
    if (!(s > 0)) continue;  // a band the network reproduces exactly carries no evidence
    const double w = 1.0 / (s * s);
    for (size_t i = 0; i < n; ++i) m[i] += w * double(r[i]) * r[i];
    ++used;
  }
  if (used) for (double &x : m) x /= used;
  const float nan = std::numeric_limits<float>::quiet_NaN();
  auto ok = [&](size_t i) { return valid.empty() || valid[i]; };
  std::vector<float> out(n, nan);
  for (int r = 0; r < rows; ++r)
    for (int c = 0; c < cols; ++c) {
      const size_t i = size_t(r) * cols + c;
      if (!ok(i)) continue;
      double sum = 0;
      int cnt = 0;
      for (int y = std::max(0, r - 1); y <= std::min(rows - 1, r + 1); ++y)
        for (int x = std::max(0, c - 1); x <= std::min(cols - 1, c + 1); ++x) {
          const size_t j = size_t(y) * cols + x;
          if (ok(j)) sum += m[j], ++cnt;
        }
      out[i] = float(m[i] + sum / cnt);
    }
  return out;
}

std::vector<float> fuse(const std::vector<float> &scaled, const std::vector<float> &rx, double weight) {
  if (scaled.size() != rx.size()) throw Error("scores to fuse differ in size");
  const std::vector<double> a(scaled.begin(), scaled.end()), b(rx.begin(), rx.end());
  // 0.95-0.99 here (not the calibration's 0.90): the fused order then stays
  // that of the rank sum below the 95th percentiles (AUC measured equal).
  const std::vector<double> pa = tail_pfa(a, fit_tail(a, Tail::Exponential, 0.95, 0.99));
  const std::vector<double> pb = tail_pfa(b, fit_tail(b, Tail::Power, 0.95, 0.99));
  std::vector<float> out(a.size());
  for (size_t i = 0; i < out.size(); ++i) out[i] = float(-std::log10(pa[i] + weight * pb[i]));  // NaN propagates
  return out;
}

Tail tail_of(Score) { return Tail::Exponential; }

}  // namespace bs3l
