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

// The tail each score is calibrated with (tail_pfa); RX: Tail::Power.
Tail tail_of(Score s);

}  // namespace bs3l
