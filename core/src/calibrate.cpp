// Tail fits that the few top-scoring pixels (the anomalies) cannot drag.
#include "bs3l/calibrate.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>

namespace bs3l {
namespace {

double t_of(Tail tail, double x) { return tail == Tail::Power ? std::log(std::max(x, 1e-300)) : x; }

std::vector<double> sorted_finite(const std::vector<double> &v) {
  std::vector<double> s;
  for (double x : v)
    if (std::isfinite(x)) s.push_back(x);
  std::sort(s.begin(), s.end());
  return s;
}

double quantile(const std::vector<double> &s, double p) {  // linear interpolation, as numpy
  const double h = (s.size() - 1) * p;
  const size_t k = size_t(h);
  return k + 1 < s.size() ? s[k] + (h - k) * (s[k + 1] - s[k]) : s.back();
}

}  // namespace

std::string TailFit::describe() const {
  std::ostringstream s;
  s.precision(6);
  if (slope == 0) {
    s << "empirical: share of the scene scoring at least as high (no tail could be fitted)";
    return s.str();
  }
  s << "share of the scene scoring at least as high up to its " << lo << " quantile u=" << u << " (share " << p_u
    << "); above, " << (tail == Tail::Power ? "power-law" : "exponential") << " tail fitted to the quantiles " << lo
    << "-" << hi << ": pfa = " << p_u << " * exp(" << slope << " * (" << (tail == Tail::Power ? "ln x - ln u" : "x - u")
    << "))";
  return s.str();
}

std::vector<double> exceedance(const std::vector<double> &v) {
  std::vector<size_t> order;
  for (size_t i = 0; i < v.size(); ++i)
    if (std::isfinite(v[i])) order.push_back(i);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return v[a] < v[b]; });
  std::vector<double> out(v.size(), std::numeric_limits<double>::quiet_NaN());
  const double n = double(order.size());
  for (size_t i = 0; i < order.size();) {
    size_t j = i;
    while (j < order.size() && v[order[j]] == v[order[i]]) ++j;
    for (size_t k = i; k < j; ++k) out[order[k]] = (n - double(i)) / n;  // n - i entries are >= this one
    i = j;
  }
  return out;
}

TailFit fit_tail(const std::vector<double> &score, Tail tail, double lo, double hi) {
  TailFit f;
  f.tail = tail, f.lo = lo, f.hi = hi;
  const std::vector<double> s = sorted_finite(score);
  if (s.size() < 100) return f;  // too few pixels for a tail
  f.u = quantile(s, lo);
  f.p_u = double(s.end() - std::lower_bound(s.begin(), s.end(), f.u)) / double(s.size());
  if (tail == Tail::Power && !(f.u > 0)) return f;
  double st = 0, sy = 0, stt = 0, sty = 0;
  const int levels = 21;
  for (int k = 0; k < levels; ++k) {
    const double p = lo + (hi - lo) * k / (levels - 1), t = t_of(tail, quantile(s, p)), y = std::log(1 - p);
    st += t, sy += y, stt += t * t, sty += t * y;
  }
  const double var = stt - st * st / levels;
  const double slope = var > 0 ? (sty - st * sy / levels) / var : 0;
  if (std::isfinite(slope) && slope < 0) f.slope = slope;
  return f;
}

std::vector<double> tail_pfa(const std::vector<double> &score, const TailFit &fit) {
  std::vector<double> p = exceedance(score);
  if (fit.slope == 0) return p;
  const double tu = t_of(fit.tail, fit.u);
  for (size_t i = 0; i < p.size(); ++i)
    if (std::isfinite(score[i]) && score[i] > fit.u)
      p[i] = std::max(fit.p_u * std::exp(fit.slope * (t_of(fit.tail, score[i]) - tu)), 1e-300);
  return p;
}

Calibration::Calibration(const std::vector<double> &sample, Tail tail, double lo, double hi)
    : sorted(sorted_finite(sample)), fit(fit_tail(sample, tail, lo, hi)) {}

double Calibration::pfa(double x) const {
  if (!std::isfinite(x) || sorted.empty()) return std::numeric_limits<double>::quiet_NaN();
  if (fit.slope != 0 && x > fit.u)
    return std::max(fit.p_u * std::exp(fit.slope * (t_of(fit.tail, x) - t_of(fit.tail, fit.u))), 1e-300);
  // The sample's share >= x at its own values; strictly decreasing between
  // and beyond them, so that scores the sample does not separate stay
  // apart (a step function would tie them and change the AUC).
  const double n = double(sorted.size()), lo = sorted.front(), hi = sorted.back();
  const double spread = hi > lo ? hi - lo : 1.0;
  const size_t k = size_t(std::lower_bound(sorted.begin(), sorted.end(), x) - sorted.begin());
  double above;
  if (k == 0 && x < lo) above = n + (lo - x) / (lo - x + spread);   // below the sample: in (n, n + 1)
  else if (k == sorted.size()) above = spread / (x - hi + spread);  // above it: in (0, 1)
  else if (x == sorted[k]) above = n - double(k);
  else above = n - double(k) + (sorted[k] - x) / (sorted[k] - sorted[k - 1]);
  return above / n;
}

RankCalibration::RankCalibration(const std::vector<double> &sample, Calibration onto_)
    : own(sample, Tail::Exponential, 0.90, 0.99), onto(std::move(onto_)) {
  own.fit.slope = 0;  // the share of the sample only
}

double RankCalibration::pfa(double x) const {
  const double q = own.pfa(x);
  const std::vector<double> &s = onto.sorted;
  if (!std::isfinite(q) || s.empty()) return std::numeric_limits<double>::quiet_NaN();
  const double n = double(s.size()), k = n * (1 - q);  // onto's entry with the share q at or above it
  if (k <= 0) return onto.pfa(s.front()) * q;             // below the lowest: q in (1, 1 + 1/n)
  if (k >= n - 1) return onto.pfa(s.back()) * q * n;     // above the highest: proportional
  const size_t i = size_t(k);
  return onto.pfa(s[i] + (k - double(i)) * (s[i + 1] - s[i]));
}

std::string RankCalibration::describe(const std::string &onto_name) const {
  return "ranked onto " + onto_name + ": the score at rank share q of the reference takes the pfa of " + onto_name +
         " at rank share q; " + onto_name + ": " + onto.fit.describe();
}

std::vector<float> pfa_log10(const std::vector<float> &score, Tail tail, TailFit *fit) {
  const std::vector<double> s(score.begin(), score.end());
  const TailFit f = fit_tail(s, tail);
  if (fit) *fit = f;
  const std::vector<double> p = tail_pfa(s, f);
  std::vector<float> out(p.size());
  for (size_t i = 0; i < p.size(); ++i) out[i] = float(-std::log10(p[i]));  // NaN stays NaN
  return out;
}

}  // namespace bs3l
