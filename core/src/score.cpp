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

// 1.4826 x MAD of one band over the sample pixels (a Gaussian's standard
// deviation, unmoved by the few anomalies).
double robust_spread(const float *band, const std::vector<size_t> &sample) {
  std::vector<float> v;
  v.reserve(sample.size());
  for (size_t i : sample) v.push_back(band[i]);
  if (v.empty()) return 0;
  const double med = median_in_place(v);
  for (float &x : v) x = float(std::fabs(x - med));
  return 1.4826 * median_in_place(v);
}

Calibration component(const std::vector<double> &sample, Tail tail) {
  // 0.95-0.99 here (not the output's 0.90): the fused order then stays that
  // of the rank sum below the 95th percentiles (AUC measured equal).
  return Calibration(sample, tail, 0.95, 0.99);
}

}  // namespace

size_t sample_stride(size_t n) { return std::max<size_t>(1, n >> 17); }

std::vector<size_t> sample_pixels(size_t n, const std::vector<uint8_t> &valid) {
  const size_t stride = sample_stride(n);
  std::vector<size_t> s;
  s.reserve(n / stride + 1);
  for (size_t i = 0; i < n; i += stride)
    if (valid.empty() || valid[i]) s.push_back(i);
  return s;
}

std::vector<double> band_weights(const std::vector<float> &residual, int bands, size_t n,
                                 const std::vector<size_t> &sample) {
  if (residual.size() != size_t(bands) * n) throw Error("residual size does not match the scene");
  std::vector<double> w(bands, 0.0);
  int used = 0;
  for (int b = 0; b < bands; ++b) {
    const double s = robust_spread(residual.data() + size_t(b) * n, sample);
    if (s > 0) w[b] = 1.0 / (s * s), ++used;  // a band the network reproduces exactly carries no evidence
  }
  for (double &x : w) x /= std::max(used, 1);
  return w;
}

void residual_energy(const float *r, int bands, size_t count, const std::vector<double> &w, float *mse,
                     float *weighted) {
  std::vector<double> a(count, 0.0), b(w.empty() ? 0 : count, 0.0);
  for (int k = 0; k < bands; ++k) {
    const float *rk = r + size_t(k) * count;
    for (size_t i = 0; i < count; ++i) a[i] += double(rk[i]) * rk[i];
    if (!w.empty() && w[k] != 0)
      for (size_t i = 0; i < count; ++i) b[i] += w[k] * double(rk[i]) * rk[i];
  }
  for (size_t i = 0; i < count; ++i) mse[i] = float(a[i] / bands);
  if (!w.empty())
    for (size_t i = 0; i < count; ++i) weighted[i] = float(b[i]);
}

std::vector<float> with_neighbours(const std::vector<float> &m, int rows, int cols, const std::vector<uint8_t> &valid) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  auto ok = [&](size_t i) { return valid.empty() || valid[i]; };
  std::vector<float> out(size_t(rows) * cols, nan);
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
      out[i] = float(double(m[i]) + sum / cnt);
    }
  return out;
}

std::vector<float> scaled_score(const std::vector<float> &residual, int bands, int rows, int cols,
                                const std::vector<uint8_t> &valid) {
  const size_t n = size_t(rows) * cols;
  if (residual.size() != size_t(bands) * n || (!valid.empty() && valid.size() != n))
    throw Error("residual and mask sizes do not match the scene");
  const std::vector<double> w = band_weights(residual, bands, n, sample_pixels(n, valid));
  std::vector<float> mse(n), m(n);
  residual_energy(residual.data(), bands, n, w, mse.data(), m.data());
  return with_neighbours(m, rows, cols, valid);
}

namespace {

std::vector<float> fuse_with(const Calibration &a, const Calibration &b, const std::vector<float> &scaled,
                             const std::vector<float> &rx, double weight, const Calibration *c = nullptr,
                             const std::vector<float> &rx_all = {}, double all_weight = 0,
                             const std::vector<float> &all_weights = {}) {
  if (scaled.size() != rx.size() || (c && rx_all.size() != rx.size()) ||
      (!all_weights.empty() && all_weights.size() != rx.size()))
    throw Error("scores to fuse differ in size");
  std::vector<float> out(scaled.size());
  for (size_t i = 0; i < out.size(); ++i) {
    double p = a.pfa(scaled[i]) + weight * b.pfa(rx[i]);
    if (c && all_weight > 0) {
      const double w = all_weights.empty() ? all_weight : double(all_weights[i]);
      p += w * c->pfa(rx_all[i]);
      if (w != all_weight) p *= (1 + weight + all_weight) / (1 + weight + w);
    }
    out[i] = float(-std::log10(p));  // NaN propagates
  }
  return out;
}

std::vector<double> finite_of(const std::vector<float> &v) {
  std::vector<double> d;
  for (float x : v)
    if (std::isfinite(x)) d.push_back(x);
  return d;
}

}  // namespace

std::vector<uint8_t> background_pixels(const std::vector<float> &scaled, double drop) {
  if (!(drop >= 0 && drop < 1)) throw Error("the fraction of pixels left out of RX's background must be in [0, 1)");
  std::vector<float> v;
  for (float x : scaled)
    if (std::isfinite(x)) v.push_back(x);
  std::vector<uint8_t> keep(scaled.size(), 0);
  if (v.empty()) return keep;
  const size_t k = size_t(std::floor((1 - drop) * double(v.size() - 1)));
  std::nth_element(v.begin(), v.begin() + k, v.end());
  const float top = v[k];
  for (size_t i = 0; i < keep.size(); ++i) keep[i] = std::isfinite(scaled[i]) && scaled[i] <= top;
  return keep;
}

std::vector<float> fuse(const std::vector<float> &scaled, const std::vector<float> &rx, double weight) {
  return fuse_with(component(finite_of(scaled), Tail::Exponential), component(finite_of(rx), Tail::Power), scaled,
                   rx, weight);
}

double rx_kurtosis(const std::vector<float> &rx, const std::vector<uint8_t> &skip) {
  std::vector<double> d;
  for (size_t i = 0; i < rx.size(); ++i)
    if (std::isfinite(rx[i]) && (skip.empty() || !skip[i])) d.push_back(rx[i]);
  if (d.empty()) return 1;
  // Clipped at the 99.95th percentile: a few dead or saturated pixels
  // cannot decide the fusion alone; a real target of 0.08% of the scene
  // (abu-beach-1) still shows.
  std::vector<double> s = d;
  const size_t k = size_t(std::floor(0.9995 * double(s.size() - 1)));
  std::nth_element(s.begin(), s.begin() + k, s.end());
  const double top = s[k];
  double s1 = 0, s2 = 0;
  for (double x : d) x = std::min(x, top), s1 += x, s2 += x * x;
  const double m = s1 / double(d.size());
  return m > 0 ? (s2 / double(d.size())) / (m * (m + 2)) : 1;
}

double rx_all_weight(double kurtosis) { return 0.2 + 200 * std::max(0.0, kurtosis - 1.2); }

double rx_weight_of(const ScoreReference &ref, double option) {
  if (option >= 0) return option;
  return ref.rx_rank > 0 ? 1.0 : 0.2;
}

int fusion_blocks(int extent) { return std::max(1, (extent + kFusionBlock - 1) / kFusionBlock); }

int block_edge(int k, int extent, int blocks) { return int(int64_t(k) * extent / blocks); }

int block_of(int y, int extent, int blocks) {
  int k = int(int64_t(y) * blocks / extent);
  while (k + 1 < blocks && block_edge(k + 1, extent, blocks) <= y) ++k;
  while (k > 0 && block_edge(k, extent, blocks) > y) --k;
  return k;
}

std::vector<float> pixel_weights(const ScoreReference &ref, int rows, int cols, const Window &at) {
  if (!ref.has_blocks() || rows != ref.grid_rows || cols != ref.grid_cols) return {};
  const int nr = fusion_blocks(rows), nc = fusion_blocks(cols);
  std::vector<int> col_block(at.cols);
  for (int c = 0; c < at.cols; ++c) col_block[c] = block_of(c + at.col, cols, nc);
  std::vector<float> w(size_t(at.rows) * at.cols);
  for (int r = 0; r < at.rows; ++r) {
    const double *row = &ref.block_weight[size_t(block_of(r + at.row, rows, nr)) * nc];
    for (int c = 0; c < at.cols; ++c) w[size_t(r) * at.cols + c] = float(row[col_block[c]]);
  }
  return w;
}

std::vector<float> raw_score(const ScoreReference &ref, Score s, double rx_weight, const std::vector<float> &mse,
                             const std::vector<float> &scaled, const std::vector<float> &rx,
                             const std::vector<float> &rx_all, const std::vector<float> &all_weights) {
  rx_weight = rx_weight_of(ref, rx_weight);
  switch (s) {
    case Score::Mse: return mse;
    case Score::Scaled: return scaled;
    case Score::Fused: {
      if (!ref.has_all())  // a model file of an earlier build: its two-term fusion
        return fuse_with(component(ref.scaled, Tail::Exponential), component(ref.rx, Tail::Power), scaled, rx,
                         rx_weight);
      const Calibration all = component(ref.all_sample(), Tail::Power);
      return fuse_with(component(ref.scaled, Tail::Exponential), component(ref.rx, Tail::Power), scaled, rx,
                       rx_weight, &all, rx_all, ref.all_weight, all_weights);
    }
  }
  return mse;
}

std::vector<float> calibrated(const ScoreReference &ref, Score s, double rx_weight, const std::vector<float> &raw,
                              std::string *how) {
  const std::vector<float> sm(ref.mse.begin(), ref.mse.end()), ss(ref.scaled.begin(), ref.scaled.end()),
      sr(ref.rx.begin(), ref.rx.end()), sa(ref.all_sample().begin(), ref.all_sample().end()),
      sw(ref.sample_weight.begin(), ref.sample_weight.end());
  const std::vector<float> sample = raw_score(ref, s, rx_weight, sm, ss, sr, sa, ref.has_blocks() ? sw : std::vector<float>());
  std::vector<float> out(raw.size());
  const auto in_units = [&](const auto &cal) {
    for (size_t i = 0; i < raw.size(); ++i) out[i] = float(-std::log10(cal.pfa(raw[i])));  // NaN stays NaN
  };
  if (s == Score::Fused) {  // on the network's own scale: its tail holds, the fused one's does not
    const RankCalibration cal(std::vector<double>(sample.begin(), sample.end()),
                              Calibration(ref.scaled, tail_of(Score::Scaled), 0.90, 0.99));
    if (how) *how = cal.describe("the `scaled` score");
    in_units(cal);
    return out;
  }
  const Calibration cal(std::vector<double>(sample.begin(), sample.end()), tail_of(s), 0.90, 0.99);
  if (how) *how = cal.fit.describe();
  in_units(cal);
  return out;
}

Tail tail_of(Score) { return Tail::Exponential; }

}  // namespace bs3l
