// Classical Reed-Xiaoli baselines.
#pragma once
#include "bs3l/cube.h"

namespace bs3l {

// Global RX: Mahalanobis distance of each valid pixel to the valid-pixel mean
// with the pseudo-inverse covariance, in double precision. Invalid -> NaN.
std::vector<float> rx_global(const Cube &cube);

// The two halves of rx_global: the background statistics of a scene, and
// the distance of each valid pixel of any cube with as many bands to them.
struct RxBackground {
  std::vector<double> mean, inverse;  // B, and B x B row-major
  int rank = 0;  // the leading principal directions `inverse` keeps (0: all)
};
RxBackground rx_fit(const Cube &cube);
std::vector<float> rx_score(const Cube &cube, const RxBackground &background);
// The same for a scene read by strips (only the scores held).
std::vector<float> rx_score(const SceneReader &scene, const RxBackground &background);

// Local (dual-window) RX: mean and covariance from the valid pixels between an
// inner and an outer square window (odd sizes, inner < outer) centred on each
// pixel, mirrored at the scene edges. The ring often holds fewer pixels than
// there are bands, so the covariance gets a ridge of 1e-3 x its mean variance.
std::vector<float> rx_local(const Cube &cube, int inner, int outer);


}  // namespace bs3l
