// The input scene, whole in memory or streamed window by window under a
// memory budget (--max-memory, --stream).
#pragma once
#include <memory>
#include <string>

#include "jobs.h"
#include "raster_io.h"

namespace bs3l::app {

struct Input {
  Raster raster;                          // whole; or, when streamed, its metadata (cube sizes, no data)
  std::unique_ptr<RasterReader> stream;   // set when streamed
  int window_cols = 0;                    // streamed: columns per window (one tile row high)
  std::unique_ptr<RasterReader> pending;  // in memory, until read_whole()
};

// "2G", "500M", "64K", "1.5G"; a plain number is megabytes (as GDAL_CACHEMAX).
size_t parse_size(const std::string &text);

// Opens `path` and decides how to read it: whole, unless --stream or the
// in-memory run would hold more than the budget: `copies` cube-sized
// buffers (measured peak: 3 for apply, 4 when the reference is fitted,
// which keeps the residual) plus per-pixel scores. Also bounds GDAL's block
// cache by the budget. `whole`: the run needs the scene in memory
// (--background, --quicklook, local RX, the paper's protocol, instance
// norm): without --max-memory the budget is then all the free memory.
// Reads nothing yet but the metadata (and a --mask).
Input open_input(const std::string &path, const ReadOptions &options, const RunOptions &run, int copies, int tile,
                 int halo, bool whole = false);

// Reads an in-memory input's cube (the run's read phase); a streamed input
// reads as it goes.
void read_whole(Input &in);

// A streamed input's ReadCounts (what its windows found, each pixel once)
// into raster.counts, for report_nodata; nothing for an in-memory input.
void take_stream_counts(Input &in);

// Prints what the read left out beyond declared nodata (NaN/Inf pixels) and
// warns of pixels that hold the nodata value in some bands only.
void report_nodata(const Raster &r, bool quiet);

// Global RX of a streamed scene: statistics pass, then scores by strips.
std::vector<float> rx_streamed(const SceneReader &scene);

}  // namespace bs3l::app
