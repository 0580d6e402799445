// One streamed pass over a scene: what training and scoring need of it.
#pragma once
#include <cstdint>
#include <vector>

#include "bs3l/cube.h"
#include "bs3l/rx.h"

namespace bs3l {

struct SceneStats {
  Scaling scaling;
  std::vector<float> fill;  // valid band means, scaled: nodata's stand-in for the network
  std::vector<double> mean; // valid band means, raw
  RxBackground rx;          // global RX background, when asked
  size_t valid = 0;         // valid pixels
};

// Reads `strip_rows` rows at a time (0: strip_rows_for(scene)). Sums run in
// pixel order (RX's scatter row by row), so nothing depends on strip_rows: a
// streamed scene and the same scene in memory give the same statistics, bit
// for bit. Throws Error on a non-finite valid value and when no pixel is valid.
// rx_keep (rows x cols, row-major), when given, limits RX's background to the
// valid pixels it marks nonzero. rx_rank > 0 keeps that many leading
// principal directions in RX's inverse (rx_inverse_of); 0 keeps them all.
SceneStats scene_stats(const SceneReader &scene, Normalize kind, bool rx, int strip_rows = 0,
                       const std::vector<uint8_t> *rx_keep = nullptr, int rx_rank = 0);

// Band means in the network's input units (`scaling` applied): the fill
// that stands in for nodata.
std::vector<float> scaled_means(const std::vector<double> &mean, const Scaling &scaling);

// Stray data, 1 where so (empty when none): valid pixels of `cube` with a
// value beyond the scaling's fences (Scaling::clip_*), or with one value in
// every band (undeclared fill). They shape neither RX's backgrounds nor the
// fusion's weight; the network takes only the former as missing.
std::vector<uint8_t> stray_pixels(const Cube &cube, const Scaling &scaling);

// Rows per strip for a pass over a scene: about 64 MB of float32, 1 to 64.
int strip_rows_for(const SceneReader &scene);

}  // namespace bs3l
