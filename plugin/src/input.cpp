#include "input.h"

#include <gdal.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "bs3l/rx.h"
#include "bs3l/score.h"
#include "bs3l/stats.h"
#include "terminal.h"

namespace bs3l::app {

size_t parse_size(const std::string &text) {
  char *end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  const std::string unit = end ? std::string(end) : "";
  double mul = 0;
  if (unit.empty() || unit == "M" || unit == "MB") mul = 1 << 20;
  else if (unit == "G" || unit == "GB") mul = double(1 << 30);
  else if (unit == "K" || unit == "KB") mul = 1 << 10;
  else if (unit == "T" || unit == "TB") mul = double(1 << 30) * 1024;
  if (text.empty() || mul == 0 || !(v > 0) || !std::isfinite(v) || v * mul > 1e18)
    throw Error("--max-memory wants a size such as 2G, 500M or 64K, not '" + text + "'");
  return size_t(v * mul);
}

Input open_input(const std::string &path, const ReadOptions &options, const RunOptions &run, int copies, int tile,
                 int halo, bool whole) {
  const bool quiet = options.quiet;
  // Default: half of what is free, at most 4 GB (streaming costs little: a
  // streamed apply measured as fast as the in-memory one).
  const size_t budget = run.max_memory ? run.max_memory
                       : whole          ? available_memory_bytes()
                                        : std::min(available_memory_bytes() / 2, size_t(4) << 30);
  // GDAL's block cache is part of the budget (its default is 5% of RAM).
  GDALSetCacheMax64(GIntBig(std::min<size_t>(budget / 8, size_t(256) << 20)));
  Input in;
  if (!quiet) std::printf("Reading %s\n", path.c_str());
  auto reader = std::make_unique<RasterReader>(path, options);
  in.raster = reader->info();
  const int B = reader->bands(), H = reader->rows(), W = reader->cols();
  // Per pixel: scores and their parts; streamed, also the sample residuals
  // (B floats at up to 2^18 pixels) of a refitted run. Per block of a scene
  // larger than the fused score's block: RX's background (B^2 + B doubles).
  const size_t n = size_t(H) * W, cube = size_t(4) * B * n;
  const size_t blocks = size_t(fusion_blocks(H)) * size_t(fusion_blocks(W));
  size_t held = 32 * n + (blocks > 1 ? blocks * (size_t(B) * B + B) * 8 : 0);
  if (!run.stream && copies * cube + held <= budget) {
    in.pending = std::move(reader);
    return in;
  }
  held += size_t(4) * B * std::min<size_t>(n, size_t(1) << 18) + n;  // + the reader's one byte per pixel read
  // Windows one tile row high (plus halo and ring), as wide as the budget
  // allows in whole tiles: the cube, its prepared copy, the residual and
  // the network's activations, about five cube-sized buffers.
  const size_t rows = size_t(std::min(H, tile + 2 * halo + 2)), per_col = rows * B * 4 * 5;
  const size_t left = budget > held ? budget - held : 0;
  const int fit = int(std::min<size_t>(left / per_col, size_t(W) + 2 * halo + 2)) - 2 * halo - 2;
  const int least = std::min(W, tile);
  if (fit < least)
    throw Error("a memory budget of " + std::to_string(budget >> 20) + " MB (--max-memory) is too small for this " +
                "scene: its per-pixel scores (and per-block RX backgrounds) and one " + std::to_string(least) +
                "-column window need about " + std::to_string((held + per_col * (least + 2 * halo + 2)) >> 20) + " MB");
  in.window_cols = std::max(least, std::min(W, fit / tile * tile));
  if (!quiet)
    std::printf("Streaming: windows of %d x %d pixels and their halo (the scene would need about %zu MB in memory; "
                "budget %zu MB)\n",
                in.window_cols, std::min(H, tile), size_t(copies * cube + held) >> 20, budget >> 20);
  in.stream = std::move(reader);
  return in;
}

void read_whole(Input &in) {
  if (!in.pending) return;
  in.raster.cube = in.pending->read({0, 0, in.pending->rows(), in.pending->cols()}, true, &in.raster.counts);
  in.pending.reset();
}

void take_stream_counts(Input &in) {
  if (in.stream) in.raster.counts = in.stream->counts_read();
}

void report_nodata(const Raster &r, bool quiet) {
  if (quiet) return;
  const ReadCounts &n = r.counts;
  if (n.nonfinite) std::printf("Nodata: %zu pixel(s) with NaN or Inf in some band are left out\n", n.nonfinite);
  if (n.partial) {
    end_progress_line();
    std::fprintf(stderr,
                 "Warning: %zu pixel(s) hold the nodata value in some bands only and are used as data (a pixel is "
                 "nodata when every band holds it; --mask leaves out others)\n",
                 n.partial);
  }
  if (n.flat) {
    end_progress_line();
    std::fprintf(stderr,
                 "Warning: %zu valid pixel(s) hold one value in every band (commonest: %g), as fill does; if it is "
                 "fill, declare it nodata (--nodata %g)\n",
                 n.flat, double(n.flat_value), double(n.flat_value));
  }
}

std::vector<float> rx_streamed(const SceneReader &scene) {
  return rx_score(scene, scene_stats(scene, Normalize::None, true).rx);
}

}  // namespace bs3l::app
