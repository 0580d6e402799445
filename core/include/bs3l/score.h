// Turning the network's residuals into anomaly scores (torch-free).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "bs3l/calibrate.h"

namespace bs3l {

// mse:    mean over bands of the squared residual (the paper's score).
// scaled: each band's residual divided by its robust spread (1.4826 x the
//         median absolute deviation over the scene) before the mean, plus the
//         mean of that over the 3x3 neighbourhood (targets span pixels).
// fused:  `scaled` combined with global RX (see fuse()).
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

// The tail each score is calibrated with (tail_pfa); RX: Tail::Power.
Tail tail_of(Score s);

// What a score is measured against, fitted once on a reference scene (the
// one the network was trained on) and saved with the model: any window of
// any scene is then scored exactly as it would be within the whole.
struct ScoreReference {
  std::vector<double> band_weight;          // scaled: 1 / (band's robust spread^2 x bands used); 0 skips a band
  std::vector<double> rx_mean, rx_inverse;  // global RX: background mean (B) and pseudo-inverse covariance (B x B)
  std::vector<double> mse, scaled, rx;      // the three scores at the sample pixels, aligned
  bool empty() const { return band_weight.empty(); }
};

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

// The raw score of kind s from its per-pixel parts (rx only for Fused),
// with the fused components' p-values from the reference's samples.
std::vector<float> raw_score(const ScoreReference &ref, Score s, double rx_weight, const std::vector<float> &mse,
                             const std::vector<float> &scaled, const std::vector<float> &rx);

// -log10(pfa) of raw scores of kind s, calibrated on the reference's sample.
std::vector<float> calibrated(const ScoreReference &ref, Score s, double rx_weight, const std::vector<float> &raw,
                              TailFit *fit = nullptr);

}  // namespace bs3l
