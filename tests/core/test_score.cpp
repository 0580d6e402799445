// The scores built from the network's residuals: band scaling, spatial
// support, rank fusion, and the training options that go with them.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "bs3l/bs3lnet.h"
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

TEST(Score, RanksShareTiesAndFusionAddsWeightedRanks) {
  const float nan = std::nanf("");
  const std::vector<double> r = unit_ranks({3.f, 1.f, nan, 3.f, 2.f});
  EXPECT_DOUBLE_EQ(r[1], 1.0 / 4);
  EXPECT_DOUBLE_EQ(r[4], 2.0 / 4);
  EXPECT_DOUBLE_EQ(r[0], 3.5 / 4);
  EXPECT_DOUBLE_EQ(r[3], 3.5 / 4);
  EXPECT_TRUE(std::isnan(r[2]));
  const std::vector<double> f = rank_fuse({1.f, 2.f, 3.f, 4.f}, {40.f, 30.f, 20.f, nan}, 0.5);
  EXPECT_DOUBLE_EQ(f[0], 0.25 + 0.5);  // rank 1/4, RX rank 3/3
  EXPECT_DOUBLE_EQ(f[2], 0.75 + 0.5 / 3);
  EXPECT_TRUE(std::isnan(f[3]));
  EXPECT_THROW(rank_fuse({1.f}, {1.f, 2.f}, 1), Error);
  const std::vector<float> e = exceedance_log10({5.f, 1.f, nan, 5.f, 2.f, 3.f});
  EXPECT_FLOAT_EQ(e[1], 0.f);                       // all 5 are >= the lowest
  EXPECT_FLOAT_EQ(e[4], float(-std::log10(4.0 / 5)));
  EXPECT_FLOAT_EQ(e[0], float(-std::log10(2.0 / 5)));  // a tie: both count
  EXPECT_FLOAT_EQ(e[3], e[0]);
  EXPECT_TRUE(std::isnan(e[2]));
  EXPECT_EQ(parse_score("fused"), Score::Fused);
  EXPECT_EQ(to_string(parse_score("scaled")), "scaled");
  EXPECT_THROW(parse_score("max"), Error);
}
