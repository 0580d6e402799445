// Detection metrics: ROC AUC and the 3-D ROC figures of Chang (2021).
#pragma once
#include <cstdint>
#include <vector>

namespace bs3l {

struct RocPoint {
  double tau;  // threshold on the min-max normalised score (s >= tau detects)
  double pd;   // detection probability
  double pf;   // false-alarm probability
};

struct RocReport {
  double auc_df = 0;    // area under Pd(Pf)
  double auc_dtau = 0;  // area under Pd(tau)
  double auc_ftau = 0;  // area under Pf(tau)
  // Derived figures (formulas in docs/metrics.md).
  double td() const { return auc_df + auc_dtau; }            // target detectability
  double bs() const { return auc_df - auc_ftau; }            // background suppression
  double snpr() const { return auc_ftau > 0 ? auc_dtau / auc_ftau : 0; }  // signal-to-noise probability ratio
  double odp() const { return auc_dtau + 1.0 - auc_ftau; }   // overall detection probability
  double oa() const { return auc_df + auc_dtau - auc_ftau; } // overall accuracy
  std::vector<RocPoint> curve;  // from (pf,pd)=(1,1) at tau=0 down to (0,0)
  size_t positives = 0, negatives = 0;
};

// AUC(D,F) with ties counted half (the Mann-Whitney statistic). Entries with
// truth < 0 are ignored (nodata). Throws Error on size mismatch or one class.
double roc_auc(const std::vector<float> &scores, const std::vector<int8_t> &truth);

// Detection rate at a background false-alarm rate: the share of anomaly
// pixels above the highest threshold that lets at most `far` of the
// background pixels through (the ROC's best Pd with Pf <= far).
double detection_rate_at(const std::vector<float> &scores, const std::vector<int8_t> &truth, double far);

// Full report; scores are min-max normalised to [0,1] first.
RocReport roc_report(const std::vector<float> &scores, const std::vector<int8_t> &truth);

}  // namespace bs3l
