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

// Area under the precision-recall curve as average precision: the mean,
// over the anomaly pixels in score order, of the precision at each (tied
// scores enter together), as scikit-learn's average_precision_score.
double average_precision(const std::vector<float> &scores, const std::vector<int8_t> &truth);

// 8-connected components of the nonzero entries of a rows x cols mask;
// labels from 1 (0 = off), `count` gets how many.
std::vector<int32_t> label_components(const std::vector<uint8_t> &on, int rows, int cols, int *count);

// Object level: truth objects (8-connected anomaly pixels) with at least one
// detected pixel, and detected objects that touch no anomaly pixel.
struct ObjectCounts {
  int truth_objects = 0, hit = 0;
  int detected_objects = 0, false_objects = 0;
};
ObjectCounts object_counts(const std::vector<uint8_t> &detected, const std::vector<int8_t> &truth, int rows, int cols);

// Full report; scores are min-max normalised to [0,1] first.
RocReport roc_report(const std::vector<float> &scores, const std::vector<int8_t> &truth);

}  // namespace bs3l
