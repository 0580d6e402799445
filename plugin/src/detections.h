// Detected pixels from a score map, as a 0/1 mask raster and/or polygons:
// shared by detect, apply, rx and threshold (score once, threshold often).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "args.h"
#include "raster_io.h"

namespace bs3l::app {

// Checks --max-pfa / --threshold / --top-percent (one of them; --max-pfa
// only on scores in pfa units) before any work.
void check_threshold_options(const Args &a, bool pfa);

// Detected pixels: score >= --threshold, >= -log10(--max-pfa), or the top
// --top-percent (default 1) of the valid scores; `thr` gets the threshold.
std::vector<uint8_t> detection_mask(const Args &a, const std::vector<float> &score, double &thr);

// Before any work: every output of the run (`outs` rasters, plus --vector and
// --quicklook in their fixed formats) can be written, none given twice.
void check_output_set(const Args &a, const WriteOptions &w, const std::vector<std::string> &outs,
                      const std::vector<std::string> &inputs);

// --detections (Byte 0/1, 255 = nodata) and --vector of `score`, placed as
// `in`; returns how many pixels were detected, `thr` the threshold used.
size_t write_detections(const Args &a, const WriteOptions &w, const Raster &in, const std::vector<float> &score,
                        double *thr = nullptr);

}  // namespace bs3l::app
