// Turning the network's residuals into anomaly scores (torch-free).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace bs3l {

// mse:    mean over bands of the squared residual (the paper's score).
// scaled: each band's residual divided by its robust spread (1.4826 x the
//         median absolute deviation over the scene) before the mean, plus the
//         mean of that over the 3x3 neighbourhood (targets span pixels).
// fused:  rank of `scaled` + rx_weight x rank of global RX, both over the
//         valid pixels, divided by their count; written as the scene's
//         exceedance, -log10(share of valid pixels scoring at least as
//         high): 2 = the top 1%, 3 = the top 0.1%.
enum class Score { Mse, Scaled, Fused };
Score parse_score(const std::string &name);
std::string to_string(Score s);

// residual: bands x rows x cols (band-sequential); valid: rows*cols or empty.
// Returns rows*cols scores, NaN where invalid.
std::vector<float> scaled_score(const std::vector<float> &residual, int bands, int rows, int cols,
                                const std::vector<uint8_t> &valid);

// Mid-ranks of the finite entries divided by their count (in (0, 1]); NaN stays NaN.
std::vector<double> unit_ranks(const std::vector<float> &v);

// unit_ranks(a) + weight * unit_ranks(b); NaN where either is NaN.
// (double: float cannot tell 1/n steps apart near 1 beyond ~16M pixels)
std::vector<double> rank_fuse(const std::vector<float> &a, const std::vector<float> &b, double weight);

// -log10 of the share of finite entries >= each entry (0 for the lowest,
// log10(n) for a unique highest); monotone, so AUCs are unchanged. NaN stays.
std::vector<float> exceedance_log10(const std::vector<double> &v);

}  // namespace bs3l
