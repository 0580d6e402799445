// The scores built from the network's residuals: band scaling, spatial
// support, fusion, calibration, and the training options that go with them.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "bs3l/bs3lnet.h"
#include "bs3l/calibrate.h"
#include "bs3l/metrics.h"
#include "bs3l/score.h"

using namespace bs3l;

namespace {

// Gaussian residuals, band b with standard deviation sd[b].
std::vector<float> noise(int bands, int rows, int cols, const std::vector<float> &sd, unsigned seed = 3) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> n(0.f, 1.f);
  std::vector<float> r(size_t(bands) * rows * cols);
  for (int b = 0; b < bands; ++b)
    for (size_t i = 0; i < size_t(rows) * cols; ++i) r[size_t(b) * rows * cols + i] = sd[b] * n(rng);
  return r;
}

}  // namespace

TEST(Score, ScaledIgnoresEachBandsUnits) {
  const int B = 4, H = 20, W = 30;
  std::vector<float> r = noise(B, H, W, {1, 1, 1, 1});
  std::vector<float> k = r;
  const float gain[B] = {0.01f, 3.f, 250.f, 1.f};
  for (int b = 0; b < B; ++b)
    for (size_t i = 0; i < size_t(H) * W; ++i) k[size_t(b) * H * W + i] *= gain[b];
  const std::vector<float> a = scaled_score(r, B, H, W, {}), c = scaled_score(k, B, H, W, {});
  for (size_t i = 0; i < a.size(); ++i) ASSERT_NEAR(a[i], c[i], 1e-4 * a[i]) << "px " << i;
}

TEST(Score, QuietBandOutweighsNoisyBand) {
  // The same residual spike counts for more where the band is quiet: the
  // paper's mse ranks these two pixels the other way round.
  const int B = 2, H = 30, W = 30;
  std::vector<float> r = noise(B, H, W, {0.01f, 1.f});
  const size_t quiet = 5 * W + 5, noisy = 20 * W + 20, n = size_t(H) * W;
  r[quiet] = 0.5f, r[n + quiet] = 0.f;   // 50 sigma in the quiet band
  r[noisy] = 0.f, r[n + noisy] = 3.f;    // 3 sigma in the noisy band
  const std::vector<float> s = scaled_score(r, B, H, W, {});
  EXPECT_GT(s[quiet], s[noisy]);
}

TEST(Score, NeighboursAddEvidenceAndInvalidPixelsAreNaN) {
  const int B = 3, H = 16, W = 16;
  std::vector<float> r(size_t(B) * H * W, 0.f);
  for (size_t i = 0; i < r.size(); ++i) r[i] = (i % 7) * 0.01f - 0.03f;  // some spread in every band
  const size_t n = size_t(H) * W, lone = 3 * W + 3, block = 10 * W + 10;
  for (int b = 0; b < B; ++b) {
    r[b * n + lone] = 1.f;
    for (size_t j : {block, block + 1, block + W, block + W + 1}) r[b * n + j] = 1.f;
  }
  std::vector<uint8_t> valid(n, 1);
  valid[0] = 0;
  const std::vector<float> s = scaled_score(r, B, H, W, valid);
  EXPECT_GT(s[block], s[lone]);  // a 2x2 target beats a lone pixel of the same residual
  EXPECT_TRUE(std::isnan(s[0]));
  EXPECT_TRUE(std::isfinite(s[1]));
  EXPECT_THROW(scaled_score(r, B, H, W + 1, {}), Error);
}

TEST(Score, ExceedanceCountsTiesAndSkipsNaN) {
  const double nan = std::nan("");
  const std::vector<double> e = exceedance({5, 1, nan, 5, 2, 3});
  EXPECT_DOUBLE_EQ(e[1], 1.0);  // all 5 are >= the lowest
  EXPECT_DOUBLE_EQ(e[4], 4.0 / 5);
  EXPECT_DOUBLE_EQ(e[0], 2.0 / 5);  // a tie: both count
  EXPECT_DOUBLE_EQ(e[3], e[0]);
  EXPECT_TRUE(std::isnan(e[2]));
  EXPECT_EQ(parse_score("fused"), Score::Fused);
  EXPECT_EQ(to_string(parse_score("scaled")), "scaled");
  EXPECT_THROW(parse_score("max"), Error);
}

std::vector<double> exponential(size_t n, unsigned seed = 5) {
  std::mt19937 rng(seed);
  std::exponential_distribution<double> e(1.0);
  std::vector<double> v(n);
  for (double &x : v) x = e(rng);
  return v;
}

TEST(Calibrate, ExponentialTailSeesThroughHalfAPercentOfAnomalies) {
  std::vector<double> v = exponential(20000);
  for (size_t i = 0; i < 100; ++i) v[i] = 50 + double(i);  // 0.5% of the scene, far out
  const TailFit f = fit_tail(v, Tail::Exponential);
  EXPECT_NEAR(f.slope, -0.9, 0.2);  // -1 without the anomalies
  // A background value with true pfa 1e-3 (x = ln 1000): the scene's own
  // share >= it is ~6e-3 (the anomalies count); the fitted tail is within a
  // factor of 3 and closer (in ratio).
  std::vector<double> probe = v;
  probe.push_back(std::log(1000.0));
  const double p = tail_pfa(probe, f).back(), e = exceedance(probe).back();
  EXPECT_GT(p, 1e-3 / 3);
  EXPECT_LT(p, 3e-3);
  EXPECT_LT(std::fabs(std::log(p / 1e-3)), std::fabs(std::log(e / 1e-3)));
  EXPECT_NE(f.describe().find("exponential"), std::string::npos);
}

TEST(Calibrate, PowerTailFitsInLogScore) {
  std::vector<double> v = exponential(20000, 7);
  for (double &x : v) x = std::exp(x / 2);  // Pareto, alpha 2: P(X >= x) = x^-2
  const TailFit f = fit_tail(v, Tail::Power);
  EXPECT_NEAR(f.slope, -2.0, 0.2);
  v.push_back(std::sqrt(1e4));  // true pfa 1e-4
  const double p = tail_pfa(v, f).back();
  EXPECT_GT(p, 0.5e-4);
  EXPECT_LT(p, 2e-4);
}

TEST(Calibrate, StrictlyMonotoneSoAucIsUnchanged) {
  const std::vector<double> v = exponential(5000, 9);
  std::vector<float> raw(v.begin(), v.end());
  raw[17] = std::nanf("");
  TailFit fit;
  const std::vector<float> c = pfa_log10(raw, Tail::Exponential, &fit);
  EXPECT_LT(fit.slope, 0);
  EXPECT_TRUE(std::isnan(c[17]));
  std::vector<size_t> order;
  for (size_t i = 0; i < raw.size(); ++i)
    if (i != 17) order.push_back(i);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return raw[a] < raw[b]; });
  for (size_t k = 1; k < order.size(); ++k)
    if (raw[order[k]] > raw[order[k - 1]]) EXPECT_GT(c[order[k]], c[order[k - 1]]) << "at rank " << k;
  std::vector<int8_t> labels(raw.size(), 0);
  for (size_t i = 0; i < labels.size(); i += 37) labels[i] = 1;
  EXPECT_DOUBLE_EQ(roc_auc(raw, labels), roc_auc(c, labels));
}

TEST(Calibrate, AReferenceSampleNeverTiesScoresItDoesNotSeparate) {
  // A sample of every 7th score (as a large scene's reference): pfa equals
  // the sample's share at its own values and keeps every other score apart,
  // below, between and above the sample, with a tail and without.
  const std::vector<double> all = exponential(7000, 21);
  std::vector<double> every;
  for (size_t i = 0; i < all.size(); i += 7) every.push_back(all[i]);
  for (Tail tail : {Tail::Exponential, Tail::Power}) {
    for (size_t size : {every.size(), size_t(60)}) {  // 60: too few for a tail
      const std::vector<double> sample(every.begin(), every.begin() + long(size));
      const Calibration cal(sample, tail, 0.90, 0.99);
      EXPECT_EQ(cal.fit.slope == 0, size == 60);
      std::vector<double> x(all);
      x.push_back(-1.0), x.push_back(1e6);
      std::sort(x.begin(), x.end());
      for (size_t k = 1; k < x.size(); ++k)
        if (x[k] > x[k - 1]) EXPECT_LT(cal.pfa(x[k]), cal.pfa(x[k - 1])) << "at " << x[k];
      const std::vector<double> own = exceedance(sample);
      for (size_t i = 0; i < sample.size(); i += 13)
        if (!(cal.fit.slope != 0 && sample[i] > cal.fit.u)) EXPECT_DOUBLE_EQ(cal.pfa(sample[i]), own[i]);
      EXPECT_LE(cal.pfa(-1.0), 1.0 + 1.0 / double(sample.size()));
      EXPECT_GT(cal.pfa(1e6), 0.0);
    }
  }
}

TEST(Calibrate, TooFewOrConstantScoresFallBackToTheEmpiricalShare) {
  const std::vector<double> few = {1, 2, 3, 4};
  EXPECT_EQ(fit_tail(few, Tail::Exponential).slope, 0);
  EXPECT_DOUBLE_EQ(tail_pfa(few, fit_tail(few, Tail::Exponential))[3], 0.25);
  const std::vector<double> flat(500, 2.0);
  EXPECT_EQ(fit_tail(flat, Tail::Power).slope, 0);
  EXPECT_NE(fit_tail(flat, Tail::Power).describe().find("empirical"), std::string::npos);
}

TEST(Calibrate, FuseAddsTheRxTermAndKeepsNaN) {
  const std::vector<double> a = exponential(2000, 11), b = exponential(2000, 12);
  std::vector<float> fa(a.begin(), a.end()), fb(b.begin(), b.end());
  fb[3] = std::nanf("");
  const std::vector<float> alone = fuse(fa, fb, 0.0), both = fuse(fa, fb, 0.5);
  EXPECT_TRUE(std::isnan(both[3]));
  const std::vector<double> pa = tail_pfa(a, fit_tail(a, Tail::Exponential, 0.95, 0.99));
  EXPECT_NEAR(alone[0], -std::log10(pa[0]), 1e-5);
  for (size_t i = 0; i < fa.size(); ++i)
    if (i != 3) EXPECT_LE(both[i], alone[i] + 1e-6);  // the RX term only adds probability
  EXPECT_THROW(fuse(fa, {1.f}, 0.1), Error);
}

// RX's background pixels when refitting: the valid ones but the top `drop`
// of the scaled score; never an invalid (NaN) one.
TEST(Score, BackgroundPixelsLeaveOutTheTopFraction) {
  std::vector<float> s(1000);
  for (size_t i = 0; i < s.size(); ++i) s[i] = float((i * 7919) % 1000);  // 0..999, shuffled
  s[5] = std::nanf("");
  const std::vector<uint8_t> all = background_pixels(s, 0.0), most = background_pixels(s, 0.1);
  size_t kept_all = 0, kept = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    kept_all += all[i], kept += most[i];
    if (i == 5) EXPECT_FALSE(all[i] || most[i]);
    else EXPECT_EQ(bool(most[i]), s[i] <= 899.f) << i;  // 999 finite values (595 is NaN): 900 and up go
  }
  EXPECT_EQ(kept_all, 999u);
  EXPECT_EQ(kept, 899u);
  EXPECT_THROW(background_pixels(s, 1.0), Error);
  EXPECT_THROW(background_pixels(s, -0.1), Error);
}

// Mardia's kurtosis of RX distances: near 1 for Gaussian pixels, well above
// when a few pixels sit far outside the global distribution; the weight of
// RX against every pixel follows it (0.2 up to 1.25, then 100 per unit).
TEST(Score, RxKurtosisSeesGlobalOutliersAndSetsTheWeight) {
  std::mt19937 rng(5);
  std::normal_distribution<double> n(0, 1);
  const int dims = 50;
  std::vector<float> gauss(20000), outliers;
  for (float &d : gauss) {
    double s = 0;
    for (int k = 0; k < dims; ++k) {
      const double z = n(rng);
      s += z * z;
    }
    d = float(s);
  }
  EXPECT_NEAR(rx_kurtosis(gauss), 1.0, 0.03);
  std::vector<float> dead = gauss;
  dead[11] = 1e6f * dims;
  EXPECT_NEAR(rx_kurtosis(dead), rx_kurtosis(gauss), 0.01);
  outliers = gauss;
  for (size_t i = 0; i < 100; ++i) outliers[i] = 40 * dims;  // 0.5% of the pixels far out
  EXPECT_GT(rx_kurtosis(outliers), 1.5);
  outliers[7] = std::nanf("");  // nodata is skipped
  EXPECT_TRUE(std::isfinite(rx_kurtosis(outliers)));
  std::vector<uint8_t> skip(outliers.size(), 0);
  for (size_t i = 0; i < outliers.size(); ++i) skip[i] = outliers[i] != gauss[i];
  EXPECT_EQ(rx_kurtosis(outliers, skip), rx_kurtosis(gauss, skip));  // left out
  EXPECT_DOUBLE_EQ(rx_all_weight(1.0), 0.2);
  EXPECT_DOUBLE_EQ(rx_all_weight(1.2), 0.2);
  EXPECT_NEAR(rx_all_weight(1.5), 60.2, 1e-9);
}

// The fused score's third term: weight 0 gives the two-term fusion (that of
// model files without RX against every pixel) bit for bit; a weight only
// adds probability, and a huge one orders pixels as that RX does.
TEST(Score, FusedThirdTermWeighsRxAgainstEveryPixel) {
  const std::vector<double> a = exponential(3000, 21), b = exponential(3000, 22), c = exponential(3000, 23);
  ScoreReference ref;
  ref.band_weight = {1};
  ref.scaled = a, ref.rx = b, ref.mse = a;
  const std::vector<float> fa(a.begin(), a.end()), fb(b.begin(), b.end()), fc(c.begin(), c.end());
  const std::vector<float> two = raw_score(ref, Score::Fused, 0.2, fa, fa, fb);
  ref.all_mean = {0}, ref.all_inverse = {1}, ref.rx_all = c;
  ref.all_weight = 0;
  EXPECT_EQ(raw_score(ref, Score::Fused, 0.2, fa, fa, fb, fc), two);
  ref.all_weight = 1;
  const std::vector<float> three = raw_score(ref, Score::Fused, 0.2, fa, fa, fb, fc);
  for (size_t i = 0; i < three.size(); ++i) EXPECT_LE(three[i], two[i] + 1e-6);
  ref.all_weight = 1e6;
  const std::vector<float> rx_led = raw_score(ref, Score::Fused, 0.2, fa, fa, fb, fc);
  std::vector<int8_t> top(c.size());
  const double cut = *std::max_element(c.begin(), c.end()) * 0.7;
  for (size_t i = 0; i < c.size(); ++i) top[i] = c[i] > cut;
  EXPECT_DOUBLE_EQ(roc_auc(rx_led, top), 1.0);
  EXPECT_THROW(raw_score(ref, Score::Fused, 0.2, fa, fa, fb, {1.f}), Error);
}

// The fused output is ranked onto `scaled`: its k-th highest pixel of the
// reference reads as `scaled`'s k-th highest, in the same order as its raw
// score (so the AUC is unchanged), beyond the sample too.
TEST(Calibrate, FusedOutputIsRankedOntoTheScaledScore) {
  const std::vector<double> a = exponential(3000, 31), b = exponential(3000, 32), c = exponential(3000, 33);
  ScoreReference ref;
  ref.band_weight = {1};
  ref.scaled = a, ref.rx = b, ref.mse = a, ref.all_mean = {0}, ref.all_inverse = {1}, ref.rx_all = c;
  ref.all_weight = 5;
  const std::vector<float> fa(a.begin(), a.end()), fb(b.begin(), b.end()), fc(c.begin(), c.end());
  std::vector<float> raw = raw_score(ref, Score::Fused, 0.2, fa, fa, fb, fc);
  std::string how;
  const std::vector<float> fused = calibrated(ref, Score::Fused, 0.2, raw, &how);
  const std::vector<float> scaled = calibrated(ref, Score::Scaled, 0.2, fa);
  EXPECT_NE(how.find("ranked onto the `scaled` score"), std::string::npos) << how;
  std::vector<float> f = fused, s = scaled;
  std::sort(f.begin(), f.end()), std::sort(s.begin(), s.end());
  // Within 1e-3: a few raw scores tie in float, and a tie reads as its highest share.
  for (size_t k = 0; k < f.size(); k += 7) EXPECT_NEAR(f[k], s[k], 1e-3 * std::max(1.f, s[k])) << "rank " << k;
  EXPECT_NEAR(f.back(), s.back(), 1e-4 * s.back());
  // Ordered as the raw score, and beyond the reference's highest still rising.
  const float top = *std::max_element(raw.begin(), raw.end());
  raw.push_back(top + 0.5f), raw.push_back(top + 5.f);
  const std::vector<float> out = calibrated(ref, Score::Fused, 0.2, raw);
  std::vector<size_t> order(raw.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t x, size_t y) { return raw[x] < raw[y]; });
  for (size_t k = 1; k < order.size(); ++k)
    if (raw[order[k]] > raw[order[k - 1]]) EXPECT_GE(out[order[k]], out[order[k - 1]]) << "at rank " << k;
  EXPECT_GT(out.back(), out[out.size() - 2]);
  EXPECT_GT(out[out.size() - 2], f.back());
}

// Blocks of a scene larger than kFusionBlock: equal cuts, every pixel in one.
TEST(Score, FusionBlocksCutTheSceneEvenly) {
  EXPECT_EQ(fusion_blocks(1), 1);
  EXPECT_EQ(fusion_blocks(kFusionBlock), 1);
  EXPECT_EQ(fusion_blocks(kFusionBlock + 1), 2);
  EXPECT_EQ(fusion_blocks(3 * kFusionBlock), 3);
  for (int extent : {129, 150, 200, 1000, 1001})
    for (int n = 1; n <= fusion_blocks(extent); ++n) {
      std::vector<int> size(n, 0);
      int last = 0;
      for (int y = 0; y < extent; ++y) {
        const int k = block_of(y, extent, n);
        ASSERT_GE(k, last) << extent << " " << y;  // blocks in order
        ASSERT_TRUE(k * extent / n <= y && y < (k + 1) * extent / n) << extent << " " << y;  // the edges
        ++size[k], last = k;
      }
      for (int s : size) EXPECT_LE(std::abs(s - extent / n), 1) << extent << "/" << n;
    }
}

// Per-pixel weights: each pixel's sum is the weighted mean of its p-values
// scaled to the scene weight's total, so a pixel weighed as the scene is
// scores bit for bit as without weights; another scene's size gets none.
TEST(Score, FusedWeightPerPixel) {
  const std::vector<double> a = exponential(3000, 31), b = exponential(3000, 32), c = exponential(3000, 33);
  ScoreReference ref;
  ref.band_weight = {1};
  ref.scaled = a, ref.rx = b, ref.mse = a, ref.rx_all = c;
  ref.all_mean = {0}, ref.all_inverse = {1}, ref.all_weight = 0.25;
  const std::vector<float> fa(a.begin(), a.end()), fb(b.begin(), b.end()), fc(c.begin(), c.end());
  const std::vector<float> one = raw_score(ref, Score::Fused, 0.2, fa, fa, fb, fc);
  EXPECT_EQ(raw_score(ref, Score::Fused, 0.2, fa, fa, fb, fc, std::vector<float>(fa.size(), 0.25f)), one);
  std::vector<float> w(fa.size(), 0.25f);
  w[7] = 8;
  const std::vector<float> mixed = raw_score(ref, Score::Fused, 0.2, fa, fa, fb, fc, w);
  ref.all_weight = 8;
  const std::vector<float> heavy = raw_score(ref, Score::Fused, 0.2, fa, fa, fb, fc);
  // pixel 7: the heavy weight's mean of p-values, on the light weight's scale
  EXPECT_NEAR(mixed[7], heavy[7] - std::log10((1 + 0.2 + 0.25) / (1 + 0.2 + 8)), 1e-5);
  EXPECT_EQ(mixed[8], one[8]);
  ref.all_weight = 0.25;
  EXPECT_THROW(raw_score(ref, Score::Fused, 0.2, fa, fa, fb, fc, {1.f}), Error);
  // The block of a pixel by its place in the scene, for any window.
  ref.grid_rows = 200, ref.grid_cols = 100, ref.block_weight = {1, 2};
  const std::vector<float> pw = pixel_weights(ref, 200, 100, {95, 10, 10, 3});
  ASSERT_EQ(pw.size(), 30u);
  EXPECT_EQ(pw.front(), 1.f);  // row 95: the first block (rows 0-99)
  EXPECT_EQ(pw.back(), 2.f);   // row 104: the second
  EXPECT_TRUE(pixel_weights(ref, 201, 100, {0, 0, 1, 1}).empty());
  ref.block_weight.clear();
  EXPECT_TRUE(pixel_weights(ref, 200, 100, {0, 0, 1, 1}).empty());
}
