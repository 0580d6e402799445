#include "bs3l/metrics.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <numeric>
#include <string>

#include "bs3l/cube.h"

namespace bs3l {
namespace {

struct Labelled {
  std::vector<double> score;
  std::vector<bool> positive;
  size_t pos = 0, neg = 0;
};

Labelled collect(const std::vector<float> &scores, const std::vector<int8_t> &truth) {
  if (scores.size() != truth.size())
    throw Error("scores and truth differ in size (" + std::to_string(scores.size()) + " vs " +
                std::to_string(truth.size()) + " pixels)");
  Labelled l;
  for (size_t i = 0; i < scores.size(); ++i) {
    if (truth[i] < 0 || !std::isfinite(scores[i])) continue;  // nodata
    l.score.push_back(scores[i]);
    l.positive.push_back(truth[i] > 0);
    (truth[i] > 0 ? l.pos : l.neg)++;
  }
  if (l.pos == 0 || l.neg == 0)
    throw Error("the truth needs both anomaly and background pixels (found " + std::to_string(l.pos) +
                " anomaly, " + std::to_string(l.neg) + " background)");
  return l;
}

}  // namespace

double roc_auc(const std::vector<float> &scores, const std::vector<int8_t> &truth) {
  const Labelled l = collect(scores, truth);
  std::vector<size_t> order(l.score.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return l.score[a] < l.score[b]; });
  // Sum of the (tie-averaged) ranks of the positives: Mann-Whitney U.
  double rank_sum = 0;
  for (size_t i = 0; i < order.size();) {
    size_t j = i;
    while (j < order.size() && l.score[order[j]] == l.score[order[i]]) ++j;
    const double mid_rank = (double(i + 1) + double(j)) / 2.0;
    for (size_t k = i; k < j; ++k)
      if (l.positive[order[k]]) rank_sum += mid_rank;
    i = j;
  }
  const double p = double(l.pos), n = double(l.neg);
  return (rank_sum - p * (p + 1) / 2) / (p * n);
}

double detection_rate_at(const std::vector<float> &scores, const std::vector<int8_t> &truth, double far) {
  if (!(far >= 0 && far <= 1)) throw Error("a false-alarm rate must be in [0, 1]");
  const Labelled l = collect(scores, truth);
  std::vector<double> bg, tg;
  for (size_t i = 0; i < l.score.size(); ++i) (l.positive[i] ? tg : bg).push_back(l.score[i]);
  const size_t allowed = size_t(std::floor(far * double(bg.size()) + 1e-9));
  if (allowed >= bg.size()) return 1.0;
  // Every score above the (allowed+1)-th highest background score detects.
  std::nth_element(bg.begin(), bg.begin() + allowed, bg.end(), std::greater<double>());
  const double cut = bg[allowed];
  return double(std::count_if(tg.begin(), tg.end(), [&](double x) { return x > cut; })) / double(tg.size());
}

double average_precision(const std::vector<float> &scores, const std::vector<int8_t> &truth) {
  const Labelled l = collect(scores, truth);
  std::vector<size_t> order(l.score.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return l.score[a] > l.score[b]; });
  double ap = 0;
  size_t tp = 0, seen = 0;
  for (size_t i = 0; i < order.size();) {
    const double s = l.score[order[i]];
    size_t new_tp = 0;
    for (; i < order.size() && l.score[order[i]] == s; ++i, ++seen) new_tp += l.positive[order[i]];
    tp += new_tp;
    ap += double(new_tp) / double(l.pos) * double(tp) / double(seen);  // recall step x precision there
  }
  return ap;
}

std::vector<int32_t> label_components(const std::vector<uint8_t> &on, int rows, int cols, int *count) {
  if (on.size() != size_t(rows) * size_t(cols)) throw Error("mask size does not match its rows and columns");
  std::vector<int32_t> lab(on.size(), 0);
  std::vector<size_t> stack;
  int n = 0;
  for (size_t seed = 0; seed < on.size(); ++seed) {
    if (!on[seed] || lab[seed]) continue;
    lab[seed] = ++n;
    stack.push_back(seed);
    while (!stack.empty()) {
      const size_t p = stack.back();
      stack.pop_back();
      const int r = int(p / size_t(cols)), c = int(p % size_t(cols));
      for (int dr = -1; dr <= 1; ++dr)
        for (int dc = -1; dc <= 1; ++dc) {
          const int rr = r + dr, cc = c + dc;
          if (rr < 0 || cc < 0 || rr >= rows || cc >= cols) continue;
          const size_t q = size_t(rr) * size_t(cols) + size_t(cc);
          if (on[q] && !lab[q]) lab[q] = n, stack.push_back(q);
        }
    }
  }
  if (count) *count = n;
  return lab;
}

ObjectCounts object_counts(const std::vector<uint8_t> &detected, const std::vector<int8_t> &truth, int rows,
                           int cols) {
  if (detected.size() != truth.size()) throw Error("detections and truth differ in size");
  std::vector<uint8_t> anomaly(truth.size()), on(detected.size());
  for (size_t i = 0; i < truth.size(); ++i) anomaly[i] = truth[i] > 0, on[i] = detected[i] && truth[i] >= 0;
  ObjectCounts c;
  const std::vector<int32_t> t = label_components(anomaly, rows, cols, &c.truth_objects);
  const std::vector<int32_t> d = label_components(on, rows, cols, &c.detected_objects);
  std::vector<uint8_t> hit(size_t(c.truth_objects) + 1, 0), real(size_t(c.detected_objects) + 1, 0);
  for (size_t i = 0; i < t.size(); ++i)
    if (t[i] && d[i]) hit[size_t(t[i])] = 1, real[size_t(d[i])] = 1;
  c.hit = int(std::count(hit.begin(), hit.end(), uint8_t(1)));
  c.false_objects = c.detected_objects - int(std::count(real.begin(), real.end(), uint8_t(1)));
  return c;
}

RocReport roc_report(const std::vector<float> &scores, const std::vector<int8_t> &truth) {
  Labelled l = collect(scores, truth);
  const auto [lo, hi] = std::minmax_element(l.score.begin(), l.score.end());
  const double min = *lo, range = *hi - *lo;
  for (double &s : l.score) s = range > 0 ? (s - min) / range : 0.0;

  std::vector<size_t> order(l.score.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return l.score[a] > l.score[b]; });

  RocReport r;
  r.positives = l.pos;
  r.negatives = l.neg;
  // Walk thresholds from high to low; each distinct score is one tau.
  size_t tp = 0, fp = 0;
  for (size_t i = 0; i < order.size();) {
    const double tau = l.score[order[i]];
    while (i < order.size() && l.score[order[i]] == tau) (l.positive[order[i++]] ? tp : fp)++;
    r.curve.push_back({tau, double(tp) / l.pos, double(fp) / l.neg});
  }
  // AUC(D,F) over (0,0) .. curve .. (1,1); the tau areas over tau in [0,1].
  double prev_pf = 0, prev_pd = 0;
  for (const RocPoint &p : r.curve) {
    r.auc_df += (p.pf - prev_pf) * (p.pd + prev_pd) / 2;
    prev_pf = p.pf, prev_pd = p.pd;
  }
  r.auc_df += (1 - prev_pf) * (1 + prev_pd) / 2;
  for (size_t k = 1; k < r.curve.size(); ++k) {
    const RocPoint &a = r.curve[k - 1], &b = r.curve[k];
    r.auc_dtau += (a.tau - b.tau) * (a.pd + b.pd) / 2;
    r.auc_ftau += (a.tau - b.tau) * (a.pf + b.pf) / 2;
  }
  std::reverse(r.curve.begin(), r.curve.end());
  return r;
}

}  // namespace bs3l
