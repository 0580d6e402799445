// ROC AUC and the 3-D ROC figures against hand-computed cases.
#include <gtest/gtest.h>

#include "bs3l/cube.h"
#include "bs3l/metrics.h"

using namespace bs3l;

TEST(Auc, PerfectInvertedAndTies) {
  EXPECT_DOUBLE_EQ(roc_auc({0.1f, 0.2f, 0.9f, 0.8f}, {0, 0, 1, 1}), 1.0);
  EXPECT_DOUBLE_EQ(roc_auc({0.9f, 0.8f, 0.1f, 0.2f}, {0, 0, 1, 1}), 0.0);
  EXPECT_DOUBLE_EQ(roc_auc({1, 1, 1, 1}, {0, 1, 0, 1}), 0.5);  // all equal
  // One positive ties one negative, beats the other: (1 + 0.5) / 2.
  EXPECT_DOUBLE_EQ(roc_auc({0.5f, 0.5f, 0.1f}, {1, 0, 0}), 0.75);
  // 2 positives x 3 negatives, counted by hand: pairs won 5, tied 1 -> 5.5/6.
  EXPECT_DOUBLE_EQ(roc_auc({3, 2, 2, 1, 0}, {1, 1, 0, 0, 0}), 5.5 / 6.0);
}

TEST(Auc, NodataIgnoredAndBadInputsRejected) {
  EXPECT_DOUBLE_EQ(roc_auc({0.1f, 5.f, 0.9f, NAN}, {0, -1, 1, 1}), 1.0);
  EXPECT_THROW(roc_auc({1, 2, 3}, {0, 1}), Error);
  EXPECT_THROW(roc_auc({1, 2, 3}, {0, 0, 0}), Error);
}

namespace {
// 20x20 image, truth = 5x5 block top-left, score 10 on its left 5x3 part.
void reference_case(std::vector<float> &s, std::vector<int8_t> &t) {
  s.assign(400, 0.f);
  t.assign(400, 0);
  for (int r = 0; r < 5; ++r)
    for (int c = 0; c < 5; ++c) {
      t[r * 20 + c] = 1;
      if (c < 3) s[r * 20 + c] = 10.f;
    }
}
}  // namespace

TEST(Roc3D, ReferenceCase1) {
  std::vector<float> s;
  std::vector<int8_t> t;
  reference_case(s, t);
  RocReport r = roc_report(s, t);
  EXPECT_NEAR(r.auc_df, 0.800000, 1e-6);
  EXPECT_NEAR(r.auc_ftau, 0.500000, 1e-6);
  EXPECT_NEAR(r.auc_dtau, 0.800000, 1e-6);
  EXPECT_NEAR(r.auc_df, roc_auc(s, t), 1e-12);
}

TEST(Roc3D, ReferenceCase2) {
  std::vector<float> s;
  std::vector<int8_t> t;
  reference_case(s, t);
  s[19 * 20 + 19] = 100.f;  // one background pixel
  RocReport r = roc_report(s, t);
  EXPECT_NEAR(r.auc_df, 0.797867, 1e-6);
  EXPECT_NEAR(r.auc_ftau, 0.052533, 1e-6);
  EXPECT_NEAR(r.auc_dtau, 0.350000, 1e-6);
  EXPECT_NEAR(r.odp(), 0.35 + 1 - r.auc_ftau, 1e-12);
  EXPECT_NEAR(r.oa(), r.auc_df + 0.35 - r.auc_ftau, 1e-12);
  EXPECT_NEAR(r.auc_df, roc_auc(s, t), 1e-12);
  ASSERT_FALSE(r.curve.empty());
  EXPECT_DOUBLE_EQ(r.curve.front().pd, 1.0);  // tau = 0 detects everything
  EXPECT_DOUBLE_EQ(r.curve.front().pf, 1.0);
}

// The detection rate at a false-alarm rate is the ROC's best Pd with
// Pf <= rate, ties on the cut counted as false alarms; nodata ignored.
TEST(Auc, DetectionRateAtAFalseAlarmRate) {
  std::vector<float> s;
  std::vector<int8_t> t;
  for (int i = 0; i < 1000; ++i) s.push_back(float(i)), t.push_back(0);  // background 0..999
  for (float v : {999.5f, 998.5f, 995.f, 500.f}) s.push_back(v), t.push_back(1);
  s.push_back(5000.f), t.push_back(-1);  // nodata
  EXPECT_DOUBLE_EQ(detection_rate_at(s, t, 0.0), 0.25);    // above every background pixel
  EXPECT_DOUBLE_EQ(detection_rate_at(s, t, 0.002), 0.5);   // two background pixels let through
  EXPECT_DOUBLE_EQ(detection_rate_at(s, t, 0.004), 0.5);   // 995 ties the 5th highest background: not above it
  EXPECT_DOUBLE_EQ(detection_rate_at(s, t, 0.005), 0.75);
  EXPECT_DOUBLE_EQ(detection_rate_at(s, t, 1.0), 1.0);
  EXPECT_THROW(detection_rate_at(s, t, 2.0), Error);
}

TEST(Metrics, AveragePrecisionAsScikitLearn) {
  // sklearn.metrics.average_precision_score on the same vectors
  EXPECT_NEAR(bs3l::average_precision({0.9f, 0.8f, 0.7f, 0.1f}, {1, 0, 1, 0}), 0.5 + 0.5 * 2.0 / 3.0, 1e-12);
  EXPECT_NEAR(bs3l::average_precision({0.5f, 0.5f, 0.2f}, {1, 0, 1}), 0.5 * 0.5 + 0.5 * 2.0 / 3.0, 1e-12);
  EXPECT_NEAR(bs3l::average_precision({3, 2, 1, 0}, {1, 1, -1, 0}), 1.0, 1e-12);  // nodata left out
  EXPECT_THROW(bs3l::average_precision({1, 2}, {0, 0}), bs3l::Error);
}

TEST(Metrics, ObjectsHitAndFalseObjects) {
  const int rows = 6, cols = 6;
  std::vector<int8_t> truth(rows * cols, 0);
  std::vector<uint8_t> det(rows * cols, 0);
  auto at = [&](int r, int c) { return size_t(r * cols + c); };
  for (int r : {0, 1})
    for (int c : {0, 1}) truth[at(r, c)] = 1;    // object 1: a 2x2 block
  truth[at(5, 5)] = 1;                            // object 2: one pixel, missed
  truth[at(2, 3)] = truth[at(3, 4)] = 1;          // object 3: diagonal neighbours, one object
  truth[at(5, 0)] = -1;                           // nodata
  det[at(1, 1)] = 1;                              // hits object 1
  det[at(3, 4)] = det[at(3, 5)] = 1;              // one detected object, hits object 3
  det[at(4, 0)] = 1;                              // a false object
  det[at(5, 0)] = 1;                              // on nodata: not counted
  const bs3l::ObjectCounts c = bs3l::object_counts(det, truth, rows, cols);
  EXPECT_EQ(c.truth_objects, 3);
  EXPECT_EQ(c.hit, 2);
  EXPECT_EQ(c.detected_objects, 3);
  EXPECT_EQ(c.false_objects, 1);
  EXPECT_THROW(bs3l::object_counts(det, std::vector<int8_t>(3, 0), rows, cols), bs3l::Error);
}
