// Turning the network's residuals into anomaly scores (torch-free).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "bs3l/calibrate.h"
#include "bs3l/cube.h"
#include "bs3l/rx.h"

namespace bs3l {

// mse:    mean over bands of the squared residual (the paper's score).
// scaled: each band's residual divided by its robust spread (1.4826 x the
//         median absolute deviation over the scene) before the mean, plus the
//         mean of that over the 3x3 neighbourhood (targets span pixels).
// fused:  `scaled` combined with global RX, twice: RX against a background
//         the network purified, and RX against every pixel (of its block,
//         on a scene larger than kFusionBlock), whose weight the scene (or
//         block) decides (rx_all_weight()).
enum class Score { Mse, Scaled, Fused };
Score parse_score(const std::string &name);
std::string to_string(Score s);

// residual: bands x rows x cols (band-sequential); valid: rows*cols or empty.
// Returns rows*cols scores, NaN where invalid.
std::vector<float> scaled_score(const std::vector<float> &residual, int bands, int rows, int cols,
                                const std::vector<uint8_t> &valid);

// fused raw score: -log10(pfa(scaled) + weight * pfa(rx)), each pfa from the
// scene's own tail (tail_pfa over the quantiles 0.95-0.99; exponential for
// scaled, power law for RX). Up to the 95th percentiles this orders pixels
// as a sum of ranks would. NaN where either is NaN.
std::vector<float> fuse(const std::vector<float> &scaled, const std::vector<float> &rx, double weight);

// The pixels global RX's background is fitted on when refitting: the valid
// ones (finite `scaled`) less the fraction `drop` that `scaled` ranks
// highest, so that what the network flags (anomalies, rare materials) does
// not inflate the covariance RX measures against. drop 0: every valid pixel.
std::vector<uint8_t> background_pixels(const std::vector<float> &scaled, double drop);

// How far global RX's distribution is from a Gaussian background's: Mardia's
// multivariate kurtosis of the scene, mean(d^2) / (m (m + 2)) with d the
// squared Mahalanobis distances (RX) and m their mean (the covariance's rank
// for a sample covariance), so 1 for Gaussian pixels. Scenes holding pixels
// far out of the global distribution (what global RX finds) score well
// above 1; heterogeneous scenes with no such outliers stay near 1.
// Pixels marked in `skip` (stray data, stray_pixels) are left out.
double rx_kurtosis(const std::vector<float> &rx, const std::vector<uint8_t> &skip = {});
// The weight of RX against every pixel in the fused score, from the scene's
// kurtosis k: 0.2 + 200 x max(0, k - 1.2) (chosen on the real scenes, with
// leave-one-family-out checks: bench/results/fusion_screen.md).
double rx_all_weight(double kurtosis);

// The tail each score is calibrated with (tail_pfa); RX: Tail::Power.
Tail tail_of(Score s);

// What a score is measured against, fitted once on a reference scene (the
// one the network was trained on) and saved with the model: any window of
// any scene is then scored exactly as it would be within the whole.
struct ScoreReference {
  std::vector<double> band_weight;          // scaled: 1 / (band's robust spread^2 x bands used); 0 skips a band
  std::vector<double> rx_mean, rx_inverse;  // global RX: background mean (B) and pseudo-inverse covariance (B x B)
  // The leading principal directions rx_inverse keeps (0: all of them, as
  // in model files of earlier builds).
  int rx_rank = 0;
  std::vector<double> mse, scaled, rx;      // the three scores at the sample pixels, aligned
  // Global RX against every valid pixel (absent in model files of earlier
  // builds: the fused score then has no such term): background, its
  // scores at the sample pixels, the scene's RX kurtosis and the weight
  // the fused score gives it.
  std::vector<double> all_mean, all_inverse, rx_all;
  double kurtosis = 0, all_weight = 0;
  // Per block, on a scene larger than kFusionBlock (empty otherwise, and
  // under a weight the caller fixed): the weight of RX against every pixel
  // from each block's own RX kurtosis, blocks row-major on the grid_rows x
  // grid_cols scene the reference was fitted on; sample_weight: the weight at
  // each sample pixel (aligned with rx_all).
  int grid_rows = 0, grid_cols = 0;
  std::vector<double> block_weight, sample_weight;
  // And RX against every pixel of the block, fitted on the block alone:
  // each block's background mean (B) and pseudo-inverse covariance (B x B),
  // blocks one after another (empty: the global background, all_*; a block
  // too small for a covariance holds the global one), and these scores at
  // the sample pixels (rx_block; rx_all keeps the global ones, which a
  // weight the caller fixes is measured with).
  std::vector<double> block_mean, block_inverse, rx_block;
  bool empty() const { return band_weight.empty(); }
  bool has_all() const { return !all_mean.empty(); }
  bool has_blocks() const { return !block_weight.empty(); }
  bool has_block_rx() const { return has_blocks() && !block_mean.empty(); }
  // The sample that RX against every pixel is calibrated on.
  const std::vector<double> &all_sample() const { return has_block_rx() ? rx_block : rx_all; }
};

// The weight of RX against the purified background: `option` when >= 0;
// else 1 on a background of the leading principal directions
// (ref.rx_rank > 0) and 0.2 on a full-rank one (as in model files of
// earlier builds, whose scores stay as they were).
double rx_weight_of(const ScoreReference &ref, double option);

// A scene larger than this in a side is cut into fusion_blocks(side) equal
// blocks per side for the weight of RX against every pixel: the rule was
// chosen on scenes of 64-150 pixels, and one weight cannot serve a flight
// line whose land covers differ (bench/results/mosaic.md).
constexpr int kFusionBlock = 128;
int fusion_blocks(int extent);                   // ceil(extent / kFusionBlock)
int block_edge(int k, int extent, int blocks);   // where block k starts: floor(k x extent / blocks)
int block_of(int y, int extent, int blocks);     // the block holding y
// The fused score's per-pixel weights for the window `at` of a rows x cols
// scene; empty where one weight serves (no blocks, or another scene's size).
std::vector<float> pixel_weights(const ScoreReference &ref, int rows, int cols, const Window &at);
// On a scene larger than kFusionBlock, RX fitted per block on the block's
// own valid pixels: into ref.block_weight the rule's weight (rx_all_weight)
// from the block's RX kurtosis, into ref.block_mean / block_inverse the
// block's background. A block with fewer than 10 valid pixels per band takes
// ref.all_weight and the global background (ref.all_*). Nothing for a scene
// within one block. Reads one block at a time. When `rx` is given, it
// receives the scene's RX per block (as rx_by_block), scored on the way.
// With `scaling`, a block's stray pixels (stray_pixels) count in neither its
// background nor its kurtosis.
void fit_blocks(const SceneReader &scene, ScoreReference &ref, std::vector<float> *rx = nullptr,
                const Scaling *scaling = nullptr);
// RX against every pixel for the window `at` of a rows x cols scene, held
// in `cube`: each pixel against its block's background where the reference
// has them for a scene of that size, else against the global one (all_*).
std::vector<float> rx_by_block(const Cube &cube, const ScoreReference &ref, int rows, int cols, const Window &at);

// The pixels a reference is fitted on: every valid one below 2^18 pixels,
// else every k-th pixel (k = sample_stride(pixels) = pixels >> 17) that is
// valid: 2^17 to 2^18 samples.
size_t sample_stride(size_t pixels);
std::vector<size_t> sample_pixels(size_t pixels, const std::vector<uint8_t> &valid);

// 1 / (1.4826 MAD over `sample`)^2 / (bands with a spread) per band of a
// band-sequential residual of `pixels` pixels.
std::vector<double> band_weights(const std::vector<float> &residual, int bands, size_t pixels,
                                 const std::vector<size_t> &sample);

// Per pixel of a [bands][count] residual block: mean of r^2 into mse and,
// when weights are given, sum of w_b r^2 into weighted (double sums, band by
// band, so a pixel's value never depends on its block).
void residual_energy(const float *residual, int bands, size_t count, const std::vector<double> &weights, float *mse,
                     float *weighted);

// m plus its valid-pixel 3x3 mean (targets span pixels); NaN where invalid.
std::vector<float> with_neighbours(const std::vector<float> &m, int rows, int cols, const std::vector<uint8_t> &valid);

// The raw score of kind s from its per-pixel parts (rx and rx_all only for
// Fused; rx_weight as rx_weight_of takes it; rx_all weighted by
// ref.all_weight when the reference has it, or by all_weights per pixel),
// with the fused components' p-values from the reference's samples. A pixel weighed w_i instead of ref.all_weight has its
// sum scaled by (1 + rx_weight + all_weight) / (1 + rx_weight + w_i): each is
// then the same weighted mean of p-values, so blocks compare.
std::vector<float> raw_score(const ScoreReference &ref, Score s, double rx_weight, const std::vector<float> &mse,
                             const std::vector<float> &scaled, const std::vector<float> &rx,
                             const std::vector<float> &rx_all = {}, const std::vector<float> &all_weights = {});

// -log10(pfa) of raw scores of kind s, calibrated on the reference's sample
// (Fused: ranked onto `scaled`, RankCalibration); how: the calibration in words.
std::vector<float> calibrated(const ScoreReference &ref, Score s, double rx_weight, const std::vector<float> &raw,
                              std::string *how = nullptr);

}  // namespace bs3l
