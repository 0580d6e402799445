// Calibrated scores: the estimated probability that a background pixel scores
// at least as high (pfa), from the scene itself, where anomalies are rare
// (torch-free).
#pragma once
#include <string>
#include <vector>

namespace bs3l {

// How the tail is extrapolated past the fitted quantiles: ln(pfa) linear in
// the score (exponential tail) or in its logarithm (power-law tail).
enum class Tail { Exponential, Power };

struct TailFit {
  Tail tail = Tail::Exponential;
  double lo = 0.90, hi = 0.99;  // the quantile levels fitted
  double u = 0, p_u = 1;        // the score at level lo, and the share of the scene >= it
  double slope = 0;             // d ln(pfa) / d t(score) above u; 0: no tail (empirical only)
  std::string describe() const;
};

// Share of the finite entries >= each entry (1 for the lowest); NaN stays NaN.
std::vector<double> exceedance(const std::vector<double> &v);

// Least-squares line ln(1 - p) = a + slope * t(q_p) through 21 quantile
// levels p from lo to hi of the finite scores (t: identity or ln). The top
// 1 - hi of the scene, where the anomalies are, does not enter the fit.
TailFit fit_tail(const std::vector<double> &score, Tail tail, double lo = 0.90, double hi = 0.99);

// pfa per entry: the scene's own share >= x up to u; beyond it
// p_u * exp(slope * (t(x) - t(u))). Strictly decreasing in the score, so
// any AUC is unchanged. NaN stays NaN.
std::vector<double> tail_pfa(const std::vector<double> &score, const TailFit &fit);

// A reference distribution: a sample of a scene's scores (sorted) and its
// tail. pfa(x) is the share of the sample >= x up to fit.u, the tail beyond;
// for the scene's own scores it equals tail_pfa. Between the sample's values
// it is interpolated and beyond them extended (just above 1 below the
// lowest), so that it strictly decreases: calibrated and raw scores rank
// every pixel alike.
struct Calibration {
  std::vector<double> sorted;  // finite values, ascending
  TailFit fit;
  Calibration() = default;
  Calibration(const std::vector<double> &sample, Tail tail, double lo, double hi);
  double pfa(double x) const;  // NaN stays NaN
};

// Calibration by rank, for a score whose own tail extrapolates badly (the
// fused score: its components' p-values decorrelate in the tail, and a line
// fitted below the top 1% misjudges the top 0.1%; bench/results/
// quality_screening.md): the score at rank share q of its own sample takes
// the pfa that `onto` gives at rank share q of onto's sample. So it flags as
// many pixels at each level as the score it is ranked onto. Strictly
// decreasing wherever onto's sample has no ties; above its own sample's
// highest value, proportional to its own (interpolated) share.
struct RankCalibration {
  Calibration own, onto;  // own: the empirical share only (no tail)
  RankCalibration(const std::vector<double> &sample, Calibration onto);
  double pfa(double x) const;  // NaN stays NaN
  std::string describe(const std::string &onto_name) const;
};

// -log10(pfa) as floats (3 = one false alarm per thousand background pixels).
std::vector<float> pfa_log10(const std::vector<float> &score, Tail tail, TailFit *fit = nullptr);

}  // namespace bs3l
