// Classical Reed-Xiaoli baselines.
#pragma once
#include "bs3l/cube.h"

namespace bs3l {

// Global RX: Mahalanobis distance of each valid pixel to the valid-pixel mean
// with the pseudo-inverse covariance, in double precision. Invalid -> NaN.
std::vector<float> rx_global(const Cube &cube);


}  // namespace bs3l
