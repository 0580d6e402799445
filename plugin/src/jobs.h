// The typed job of each command, filled from the option table by job_args.cpp, and the one
// library call that runs it (in the style of GDAL's *_lib.cpp utilities).
// The parsed argument map stops at job_args.cpp. Each call writes its
// outputs under temporary names for the caller's OutputSet to rename, and
// reports one rising 0..1 across its phases (read, train, detect, write)
// to a GDALProgressFunc whose FALSE cancels (Cancelled is thrown).
#pragma once
#include <cpl_progress.h>

#include <cstddef>
#include <string>

#include "bs3l/bs3lnet.h"
#include "extra_outputs.h"
#include "raster_io.h"

namespace bs3l::app {

// How a run reports and what it may use.
struct RunOptions {
  bool quiet = false;         // -q (and --json): no messages, no bar
  bool verbose = false;       // training loss lines instead of the bar
  bool json = false;          // the result as JSON on stdout, once the outputs landed
  int threads = 0;            // 0: the cores this process may use
  size_t max_memory = 0;      // --max-memory in bytes; 0: the default budget
  bool stream = false;        // --stream: window by window whatever the budget
  bool device_given = false;  // --device typed: a CUDA fallback is worth saying
};

// Which pixels --detections and --vector mark.
struct Threshold {
  enum Kind { TopPercent, Value, MaxPfa } kind = TopPercent;
  double value = 1;  // percent of the valid pixels, a score, or a false-alarm probability
};

// Every output a run may write; an empty path is one not asked for.
struct Outputs {
  std::string scores, model, background, detections, vector, quicklook;
  WriteOptions write;            // -of, -co, --overwrite (rasters)
  VectorOptions vector_options;  // -f, -lco, -nln
  Threshold threshold;
  bool thresholds() const { return !detections.empty() || !vector.empty(); }
};

// What every job that reads a scene holds.
struct SceneJob {
  std::string input, truth;  // truth: --truth; empty = a .mat input's own, if any
  ReadOptions read;
  RunOptions run;
  Outputs out;
};

struct DetectJob : SceneJob {
  TrainOptions train;
  DetectOptions detect;
  bool pfa = true;
  std::string device_notice;  // why --device auto fell back to the CPU
};

struct TrainJob : SceneJob {  // out.model
  TrainOptions train;
  std::string device_notice;
};

// apply: what depends on the model (the paper's protocol scores raw mse
// unless told otherwise) is settled once it is loaded.
struct ApplyJob : SceneJob {
  std::string model, device;
  std::string srcwin;  // "XOFF YOFF XSIZE YSIZE"; empty = the whole input
  DetectOptions detect;
  bool score_given = false;  // --score typed
  bool units_given = false;  // --units typed
  bool pfa = true;           // --units (for a model of the paper's protocol: raw unless typed)
  bool stats_scene = false;  // --stats scene: measured against the input, not the training scene
};

struct RxJob : SceneJob {
  int inner = 0, outer = 0;  // --window INNER,OUTER: local RX; 0 = global
  bool pfa = false;
};

struct ThresholdJob {
  std::string scores;  // a score raster written by detect, apply or rx
  bool quiet = false;
  Outputs out;         // detections and/or vector
};

struct EvaluateJob {
  std::string scores, truth;
  std::string roc, plot;  // CSV and SVG outputs; empty = not asked for
  bool overwrite = false, json = false;
  Threshold threshold;    // for the object counts
};

struct InfoJob {
  std::string input;
  ReadOptions read;
};

struct SynthJob {
  std::string folder;
  int size = 0, bands = 0, seed = 0;
  bool overwrite = false, quiet = false;
};

int detect_run(const DetectJob &job, GDALProgressFunc progress, void *data);
int train_run(const TrainJob &job, GDALProgressFunc progress, void *data);
int apply_run(const ApplyJob &job, GDALProgressFunc progress, void *data);
int rx_run(const RxJob &job, GDALProgressFunc progress, void *data);
int threshold_run(const ThresholdJob &job, GDALProgressFunc progress, void *data);
// Quick, with no bar: evaluate, info and synth.
int evaluate_run(const EvaluateJob &job);
int info_run(const InfoJob &job);
int synth_run(const SynthJob &job);

}  // namespace bs3l::app
