// Detected pixels from a score map, as a 0/1 mask raster and/or polygons:
// shared by detect, apply, rx and threshold (score once, threshold often).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "jobs.h"
#include "raster_io.h"

namespace bs3l::app {

// --max-pfa needs scores in pfa units; `raw_why` says why these are raw.
void check_threshold_units(const Threshold &t, bool pfa, const std::string &raw_why);

// Detected pixels: score >= the threshold value, >= -log10(max pfa), or the
// top percent of the valid scores; `thr` gets the threshold.
std::vector<uint8_t> detection_mask(const Threshold &t, const std::vector<float> &score, double &thr);

// Before any work: every output of the run (rasters in -of's format,
// --vector and --quicklook in theirs) can be written, none given twice.
void check_output_set(const Outputs &o, const std::vector<std::string> &inputs);

// --detections (Byte 0/1, 255 = nodata) and --vector of `score`, placed as `in`.
struct Detected {
  size_t pixels = 0;
  int polygons = 0;
  double threshold = 0;
};
Detected write_detections(const Outputs &o, const Raster &in, const std::vector<float> &score);

}  // namespace bs3l::app
