#include "bs3l/synthetic.h"

#include <algorithm>
#include <cmath>
#include <random>

namespace bs3l {
namespace {

// Portable random numbers: mt19937_64 is fully specified, the
// distributions of <random> are not.
struct Rng {
  std::mt19937_64 g;
  explicit Rng(uint64_t seed) : g(seed) {}
  double uniform() { return double(g() >> 11) * (1.0 / 9007199254740992.0); }
  double normal() {
    const double u = std::max(uniform(), 1e-300), v = uniform();
    return std::sqrt(-2 * std::log(u)) * std::cos(2 * M_PI * v);
  }
};

double bump(double x, double mu, double sigma) { return std::exp(-0.5 * (x - mu) * (x - mu) / (sigma * sigma)); }
double step(double x, double at, double width) { return 1 / (1 + std::exp(-(x - at) / width)); }
double water_dips(double l, double depth) { return 1 - depth * (bump(l, 1400, 50) + bump(l, 1900, 60)); }

// Reflectance in [0,1] of the background materials and the targets.
double material(int k, double l) {
  switch (k) {
    case 0:  // vegetation: green peak, red edge, water absorption
      return (0.04 + 0.05 * bump(l, 550, 35) + 0.42 * step(l, 715, 15) * (1 - 0.4 * step(l, 1350, 150))) *
             water_dips(l, 0.6);
    case 1:  // bare soil
      return (0.08 + 0.27 * (1 - std::exp(-(l - 400) / 700))) * water_dips(l, 0.25);
    case 2:  // water
      return 0.01 + 0.07 * std::exp(-(l - 400) / 180);
    case 3:  // concrete roof
      return (0.24 + 0.06 * (l - 400) / 2100) * water_dips(l, 0.1);
    case 4:  // asphalt road
      return 0.06 + 0.06 * (l - 400) / 2100;
    case 5:  // red paint
      return 0.05 + 0.55 * step(l, 600, 12) * (1 - 0.6 * step(l, 1100, 80));
    case 6:  // blue tarp
      return 0.08 + 0.45 * bump(l, 470, 40) + 0.3 * step(l, 1500, 100);
    default:  // bright metal panel
      return 0.55 + 0.15 * std::sin(l / 180.0);
  }
}



}  // namespace

SyntheticScene make_scene(int n, int bands, uint64_t seed) {
  SyntheticScene s{n, bands, {}, {}, {}, std::vector<int16_t>(size_t(bands) * n * n), std::vector<uint8_t>(size_t(n) * n, 0)};
  Rng rng(seed);
  const double spacing = 2100.0 / (bands - 1);
  for (int b = 0; b < bands; ++b) {
    const double l = 400 + spacing * b;
    s.wavelength.push_back(l);
    s.fwhm.push_back(1.1 * spacing);
    s.bbl.push_back(std::abs(l - 1400) < spacing * 1.1 || std::abs(l - 1900) < spacing * 1.1 ? 0 : 1);
  }
  // Smooth abundance fields: random low-frequency waves per material.
  const int materials = 5;
  std::vector<double> wave(materials * 4 * 4);
  for (double &w : wave) w = rng.uniform();
  std::vector<double> abundance(size_t(materials) * n * n), light(size_t(n) * n);
  for (int r = 0; r < n; ++r)
    for (int c = 0; c < n; ++c) {
      double z[materials], sum = 0;
      for (int k = 0; k < materials; ++k) {
        z[k] = 0;
        for (int j = 0; j < 4; ++j) {
          const double *w = &wave[(k * 4 + j) * 4];
          z[k] += std::sin(2 * M_PI * ((1 + 3 * w[0]) * r / n + (1 + 3 * w[1]) * c / n + w[2])) * (0.5 + w[3]);
        }
        z[k] = std::exp(3 * z[k]);
        sum += z[k];
      }
      for (int k = 0; k < materials; ++k) abundance[(size_t(k) * n + r) * n + c] = z[k] / sum;
      light[size_t(r) * n + c] = 0.9 + 0.1 * std::sin(2 * M_PI * (r + 2 * c) / n);
    }
  std::vector<double> cube(size_t(bands) * n * n);
  for (size_t p = 0; p < size_t(n) * n; ++p) {
    const double shade = rng.normal();  // spectrally correlated noise
    for (int b = 0; b < bands; ++b) {
      const double l = s.wavelength[b];
      double v = 0;
      for (int k = 0; k < materials; ++k) v += abundance[size_t(k) * n * n + p] * material(k, l);
      v = v * light[p] * (1 + 0.01 * shade) + 0.002 * rng.normal();
      if (!s.bbl[b]) v = 0.05 * v + 0.01 * rng.normal();  // absorbed, noisy
      cube[size_t(b) * n * n + p] = v;
    }
  }
  // Targets: a 4x3 grid, sizes 1..4 px, fractions 0.1..1.
  const int sizes[12] = {1, 2, 3, 4, 1, 2, 3, 4, 1, 2, 3, 4};
  const double fractions[12] = {0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 0.5, 1.0};
  for (int t = 0; t < 12; ++t) {
    const int r0 = n / 8 + (t / 4) * n / 3 + int(rng.uniform() * n / 10), c0 = n / 10 + (t % 4) * n / 4 + int(rng.uniform() * n / 10);
    const int kind = 5 + t % 3;
    for (int r = r0; r < r0 + sizes[t]; ++r)
      for (int c = c0; c < c0 + sizes[t]; ++c) {
        const size_t p = size_t(r) * n + c;
        s.truth[p] = 1;
        for (int b = 0; b < bands; ++b) {
          double &v = cube[size_t(b) * n * n + p];
          const double target = s.bbl[b] ? material(kind, s.wavelength[b]) * light[p] : v;
          v = (1 - fractions[t]) * v + fractions[t] * target;
        }
      }
  }
  for (size_t i = 0; i < cube.size(); ++i) s.data[i] = int16_t(std::lround(std::clamp(cube[i], -0.5, 3.0) * 10000));
  return s;
}

}  // namespace bs3l
