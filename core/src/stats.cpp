// The streamed statistics pass: scaling, nodata fill, RX background.
#include "bs3l/stats.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
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

std::vector<uint8_t> stray_pixels(const Cube &cube, const Scaling &s) {
  std::vector<uint8_t> out = cube.flat_pixels();
  if (!s.fenced(cube.bands)) return out;
  const size_t n = cube.pixels();
  for (int b = 0; b < cube.bands; ++b) {  // band by band: the cube's order (Scaling::beyond_fences per pixel)
    const float *p = cube.data.data() + size_t(b) * n;
    for (size_t i = 0; i < n; ++i) {
      const float v = (p[i] - s.offset[size_t(b)]) * s.scale[size_t(b)];
      if ((v < s.clip_lo || v > s.clip_hi) && cube.is_valid(i)) {
        if (out.empty()) out.assign(n, 0);
        out[i] = 1;
      }
    }
  }
  return out;
}

namespace {

// RX's inverse covariance. Rank 0: the pseudo-inverse, tolerance as
// MATLAB's pinv (max(size) x eps x the largest singular value). Rank k
// (below the band count): the inverse on the k leading principal directions only. The trailing ones are
// mostly sensor noise, which whitening raises to equal weight; dropping
// them lifted the fused score on 16 of 19 real scenes
// (bench/results/quality_screening.md, "subspace RX").
std::vector<double> rx_inverse_of(const torch::Tensor &cov, int rank) {
  const int64_t B = cov.size(0);
  const double rtol = double(B) * std::numeric_limits<double>::epsilon();
  torch::Tensor inv;
  if (rank == 0) {
    inv = torch::linalg_pinv(cov, rtol, /*hermitian=*/true);
  } else {
    auto [ev, vec] = torch::linalg_eigh(cov);  // ascending
    const torch::Tensor top = ev.slice(0, B - rank), v = vec.slice(1, B - rank);
    const double floor = rtol * std::max(0.0, ev[B - 1].item<double>());
    const torch::Tensor keep = top > floor;
    const torch::Tensor scale = torch::where(keep, 1.0 / top.clamp_min(floor > 0 ? floor : 1e-300), torch::zeros_like(top));
    inv = (v * scale).mm(v.t());
  }
  inv = inv.contiguous();
  return std::vector<double>(inv.data_ptr<double>(), inv.data_ptr<double>() + B * B);
}

constexpr uint64_t kFenceSample = uint64_t(1) << 22;  // values kept for the fences' percentiles

double quantile(std::vector<float> &v, double q) {
  const size_t k = size_t(std::floor(q * double(v.size() - 1)));
  std::nth_element(v.begin(), v.begin() + k, v.end());
  return v[k];
}

struct Fences {
  double lo = -std::numeric_limits<double>::infinity(), hi = std::numeric_limits<double>::infinity();
};

// A few stray values (dead or saturated detector elements, an undeclared
// fill value) would set the min-max scale of the whole cube, and squeezed
// into 1% of it the scene trains a useless network
// (bench/results/quality_screening.md, "stray values"). Fences: 4 robust
// ranges beyond the 0.1 and 99.9th percentiles of all values; the extremes
// of the 19 real scenes lie within 2.5.
Fences fences_of(const std::vector<std::vector<float>> &per_band) {
  std::vector<float> all;
  for (const std::vector<float> &v : per_band) all.insert(all.end(), v.begin(), v.end());
  Fences f;
  if (all.empty()) return f;
  const double q_lo = quantile(all, 0.001), q_hi = quantile(all, 0.999), r = q_hi - q_lo;
  if (r > 0) f.lo = q_lo - 4 * r, f.hi = q_hi + 4 * r;
  return f;
}

// One min/max for all bands (the paper's map01). With stray values, those of
// the values within the fences (of the sample, on a large scene), so that
// the rest of the scene is scaled as if they were not there.
void fit_minmax(Scaling &sc, int B, double lo, double hi, const Fences &fence,
                const std::vector<std::vector<float>> &sample) {
  const double f_lo = fence.lo, f_hi = fence.hi;
  sc.seen_lo = lo, sc.seen_hi = hi;
  sc.clipped = lo < f_lo || hi > f_hi;
  if (sc.clipped) {
    lo = f_hi, hi = f_lo;
    for (const std::vector<float> &v : sample)
      for (float x : v)
        if (x >= f_lo && x <= f_hi) lo = std::min(lo, double(x)), hi = std::max(hi, double(x));
  }
  const double range = hi > lo ? hi - lo : 1.0;
  sc.offset.assign(B, float(lo)), sc.scale.assign(B, float(1.0 / range));
  if (std::isfinite(f_lo)) sc.clip_lo = float((f_lo - lo) / range), sc.clip_hi = float((f_hi - lo) / range);
}

}  // namespace

SceneStats scene_stats(const SceneReader &scene, Normalize kind, bool want_rx, int strip_rows,
                       const std::vector<uint8_t> *rx_keep, int rx_rank) {
  const int B = scene.bands(), H = scene.rows(), W = scene.cols();
  if (B < 1 || H < 1 || W < 1) throw Error("empty scene");
  if (strip_rows <= 0) strip_rows = strip_rows_for(scene);
  if (rx_keep && rx_keep->size() != size_t(H) * W) throw Error("the RX pixel mask does not match the scene");
  std::vector<double> sum(B, 0.0), sq(B, 0.0);
  double lo = std::numeric_limits<double>::max(), hi = std::numeric_limits<double>::lowest();
  size_t count = 0, rx_count = 0;
  // A sample for the fences: every stride-th value in band-major order over
  // the whole scene, so it does not depend on strip_rows.
  const uint64_t plane = uint64_t(H) * W, stride = std::max<uint64_t>(1, (plane * B + kFenceSample - 1) / kFenceSample);
  std::vector<std::vector<float>> sample(kind == Normalize::MinMax ? B : 0);
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
      if (sample.empty()) continue;
      const uint64_t at = uint64_t(b) * plane + uint64_t(r0) * W;  // the strip's first value, band-major
      for (size_t i = size_t((stride - at % stride) % stride); i < n; i += stride)
        if (c.is_valid(i)) sample[b].push_back(p[i]);
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
  const Fences fence = kind == Normalize::MinMax ? fences_of(sample) : Fences();
  if (kind == Normalize::MinMax) {
    // One global min/max for all bands: keeps the relative band magnitudes
    // that the spectral shape carries.
    fit_minmax(sc, B, lo, hi, fence, sample);
  } else if (kind == Normalize::ZScore) {
    for (int b = 0; b < B; ++b) {
      const double mean = sum[b] / count, var = std::max(0.0, sq[b] / count - mean * mean);
      sc.offset[b] = float(mean), sc.scale[b] = var > 0 ? float(1.0 / std::sqrt(var)) : 1.f;
    }
  }
  for (int b = 0; b < B; ++b) s.mean.push_back(sum[b] / count);
  if (sc.clipped)  // the means (the network's fill for missing values) without the stray values
    for (int b = 0; b < B; ++b) {
      double t = 0;
      size_t k = 0;
      for (float v : sample[b])
        if (v >= fence.lo && v <= fence.hi) t += v, ++k;
      if (k) s.mean[b] = t / double(k);
    }
  s.fill = scaled_means(s.mean, sc);
  if (want_rx) {
    if (rx_count == 0) throw Error("no pixel left for the RX background");
    const double n = double(rx_count);
    const torch::Tensor m = torch::tensor(dsum, torch::kFloat64) / n;  // mean - shift
    const torch::Tensor cov = (scatter - n * m.outer(m)) / std::max(1.0, n - 1);
    for (int b = 0; b < B; ++b) s.rx.mean.push_back(shift[b] + m[b].item<double>());
    s.rx.rank = rx_rank > 0 && rx_rank < B ? rx_rank : 0;  // as many as bands is plain RX
    s.rx.inverse = rx_inverse_of(cov, s.rx.rank);
  }
  return s;
}

}  // namespace bs3l
