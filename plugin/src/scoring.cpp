// The library calls of detect, train, apply and rx: cube in, scores out,
// one progress bar across read, train, detect and write. Messages come
// before the bar (what is read and how) and after it (what was written and
// measured), so the bar stays one line.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "bs3l/limits.h"
#include "bs3l/metrics.h"
#include "bs3l/rx.h"
#include "detections.h"
#include "extra_outputs.h"
#include "input.h"
#include "jobs.h"
#include "output_file.h"
#include "progress.h"
#include "raster_io.h"
#include "result.h"
#include "score_units.h"
#include "styles.h"

namespace bs3l::app {
namespace {

using Notes = std::vector<std::string>;  // printed once the bar is done

const char *const kRawUnits = "--units pfa (the scores are written raw)";

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// "No CUDA, on the CPU" matters to whoever asked for a device (or --verbose),
// not on every CPU run.
void print_device_notice(const RunOptions &run, const std::string &notice) {
  if (run.quiet) return;
  if (!notice.empty() && (run.device_given || run.verbose)) std::printf("%s\n", notice.c_str());
  if (run.verbose) {
    const ResourceLimits r = resource_limits();
    std::printf("Resources: %d thread(s) (%s), %zu MB of memory free (%s)\n", run.threads > 0 ? run.threads : r.cpus,
                run.threads > 0 ? "--threads" : r.cpu_source.c_str(), r.memory >> 20, r.memory_source.c_str());
  }
}

// Where the phases end on the bar: read, train, detect; writing fills the rest.
struct Bar {
  double read, train, detect;
};

// The writes of a run share the bar's last part, a slice per output.
class Writes {
 public:
  Writes(RunProgress &p, double from, int count) : p_(p), from_(from), count_(std::max(count, 1)) {}
  void next() {
    const double w = (1 - from_) / count_;
    p_.phase("write", from_ + w * i_, from_ + w * (i_ + 1));
    ++i_;
  }

 private:
  RunProgress &p_;
  double from_;
  int count_, i_ = 0;
};

int output_count(const Outputs &o) {
  int n = 0;
  for (const std::string *s : {&o.scores, &o.model, &o.background, &o.detections, &o.vector, &o.quicklook})
    n += !s->empty();
  return n;
}

// The bar done, then what the run found and wrote; the AUC line even under
// -q (scripts read it), but not with --json (it is in the result).
void finish(RunProgress &p, const RunOptions &run, const Raster &r, const Notes &notes, const std::string &auc = "") {
  p.done();
  if (!run.quiet) {
    report_nodata(r, false);
    for (const std::string &n : notes) std::printf("%s\n", n.c_str());
  }
  if (!auc.empty() && !run.json) std::printf("%s\n", auc.c_str());
}

// The input whole, or streamed when the in-memory run would pass the
// budget; `copies`: cube-sized buffers the in-memory run holds.
Input open_scene(const std::string &path, const ReadOptions &ro, const RunOptions &run, const Outputs &out,
                 int copies, int blocks, bool whole = false) {
  ModelConfig mc;
  mc.blocks = blocks;
  whole = whole || !out.background.empty() || !out.quicklook.empty();
  Input in = open_input(path, ro, run, copies, DetectOptions().tile, receptive_radius(mc), whole);
  if (in.raster.dropped_bad_bands && !run.quiet)
    std::printf("Dropped %d band(s) marked bad in the bbl list (--keep-bad-bands keeps them)\n", in.raster.dropped_bad_bands);
  if (in.stream) {
    if (!out.background.empty()) throw Error("--background needs the scene in memory: raise --max-memory");
    if (!out.quicklook.empty()) throw Error("--quicklook needs the scene in memory: raise --max-memory");
  }
  return in;
}

// A streamed run's training takes this share of the bar before the passes
// (by pixels pushed through the network); in memory the passes are quick.
double training_share(const Input &in, const TrainOptions &o, bool refit) {
  if (!in.stream || o.mode != TrainMode::Fast) return 0.9;
  const double train = 3.0 * fast_steps(o, in.raster.cube.rows, in.raster.cube.cols) *
                       std::min(in.raster.cube.rows, o.tile) * std::min(in.raster.cube.cols, o.tile);
  return train / (train + (refit ? 2.0 : 1.0) * double(in.raster.cube.pixels()));
}

// The fast mode's steps resolved for this scene, once, so that the line
// printed, the saved parameters and the training agree.
TrainOptions for_scene(TrainOptions o, const Raster &r, const RunOptions &run) {
  if (o.mode != TrainMode::Fast) return o;
  const bool chosen = o.steps == 0;
  o.steps = fast_steps(o, r.cube.rows, r.cube.cols);
  if (chosen && o.steps != kAutoVisits && !run.quiet)
    std::printf("Training steps: %d (%s%d visits per pixel on a scene larger than the %d-pixel training tile; "
                "--steps sets them)\n",
                o.steps, o.steps == kMaxAutoSteps ? "the most chosen automatically: fewer than " : "", kAutoVisits,
                o.tile);
  return o;
}

// read, train, detect as shares of the bar up to `end` (the writes after).
Bar bar_of(const Input &in, double share, double end) {
  const double read = in.stream ? 0 : 0.05 * end;
  return {read, read + (end - read) * share, end};
}

// The fences in the input's units ("lo..hi"; MinMax: one offset and scale for all bands).
std::string fences_text(const Scaling &s) {
  char text[64];
  std::snprintf(text, sizeof text, "%g..%g", s.offset[0] + s.clip_lo / s.scale[0], s.offset[0] + s.clip_hi / s.scale[0]);
  return text;
}

// What the fences did to the training scene's values; empty when none was stray.
std::string stray_note(const Scaling &s) {
  if (!s.clipped) return "";
  char line[256];
  std::snprintf(line, sizeof line,
                "values range from %g to %g; those beyond %s (4 robust ranges past the 0.1-99.9th "
                "percentiles) are stray: missing to the network, left out of the fusion's kurtosis",
                s.seen_lo, s.seen_hi, fences_text(s).c_str());
  return line;
}

// The same for a scene scored with a model's fences: `pixels` hold a value beyond them.
std::string stray_note(size_t pixels, const Scaling &s) {
  if (!pixels) return "";
  return std::to_string(pixels) + " pixel(s) hold values beyond the model's fences " + fences_text(s) +
         " (4 robust ranges past its training scene's 0.1-99.9th percentiles): stray, missing to the network";
}

size_t count_beyond_fences(const Cube &c, const Scaling &s) {
  size_t n = 0;
  if (s.fenced(c.bands))
    for (size_t i = 0; i < c.pixels(); ++i) n += s.beyond_fences(c, i);
  return n;
}

Model train_on(const Input &in, TrainOptions o, RunProgress &p, bool verbose, Notes &notes) {
  o.progress = [&p, verbose, last = -1](double f, double loss) mutable {
    if (verbose) {
      const int pct = int(f * 100);
      if (pct / 5 != last) std::printf("training %3d%%  loss %.6g\n", pct, loss), last = pct / 5, std::fflush(stdout);
    }
    return p.at(f);
  };
  Model m = in.stream ? train(*in.stream, o) : train(in.raster.cube, o);
  const std::string stray = stray_note(m.scaling());
  if (!stray.empty()) notes.push_back("Input scaling: " + stray);
  return m;
}

// Every detection pass reports per tile (in memory) or window (streamed);
// `piece`: a window read with its halo, scored instead of `in`.
Detection detect_on(const Model &m, const Input &in, DetectOptions d, RunProgress &p, const Cube *piece = nullptr) {
  d.progress = [&p](double f, double) { return p.at(f); };
  if (piece) return detect(m, *piece, d);
  return in.stream ? detect(m, *in.stream, d, in.window_cols) : detect(m, in.raster.cube, d);
}

struct Truth {
  std::string path;  // empty: none
  std::vector<int8_t> labels;
};

// `given` (--truth), or a .mat input's own map/gt variable; `input` as typed
// (the raster's path may be a MATLAB:"file":var subdataset). Read and
// checked before anything is written, so a bad truth leaves no output.
Truth load_truth(const std::string &given, const std::string &input, const Raster &in, Notes &notes) {
  Truth t;
  t.path = given;
  const bool window = in.at.rows != in.scene_rows || in.at.cols != in.scene_cols;
  if (t.path.empty() && !window) {  // a tile rarely holds both classes: only an explicit --truth
    std::string why;
    t.path = companion_truth(in.path.rfind("MATLAB:", 0) == 0 ? input : in.path, &why);
    if (!t.path.empty()) notes.push_back("Truth: " + t.path + " (" + why + "; --truth overrides)");
  }
  if (t.path.empty()) return t;
  int rows = 0, cols = 0;
  const std::vector<int8_t> all = truth_labels(read_single_band(t.path, rows, cols));
  if (rows != in.scene_rows || cols != in.scene_cols)
    throw Error("truth '" + t.path + "' is " + std::to_string(cols) + "x" + std::to_string(rows) + " but the input is " +
                std::to_string(in.scene_cols) + "x" + std::to_string(in.scene_rows));
  for (int y = 0; y < in.at.rows; ++y)
    for (int x = 0; x < in.at.cols; ++x) t.labels.push_back(all[size_t(y + in.at.row) * cols + x + in.at.col]);
  size_t pos = 0, neg = 0;  // among the pixels that will be scored
  for (size_t i = 0; i < t.labels.size(); ++i)
    if (in.cube.is_valid(i)) pos += t.labels[i] == 1, neg += t.labels[i] == 0;
  if (pos == 0 || neg == 0)
    throw Error("truth '" + t.path + "' needs both anomaly (nonzero) and background (0) pixels");
  return t;
}

// "AUC 0.9876 (against TRUTH)", and into the --json result; "" without a truth.
std::string auc_line(const Truth &t, const std::vector<float> &score) {
  if (t.path.empty()) return "";
  const double auc = roc_auc(score, t.labels);
  run_result()["auc"] = auc, run_result()["truth"] = t.path;
  char line[64];
  std::snprintf(line, sizeof line, "AUC %.4f", auc);
  return std::string(line) + " (against " + t.path + ")";
}

// The model file, by the same rule as every output.
void save_model_file(const Model &m, const std::string &path, bool overwrite) {
  PendingOutput pending(path, overwrite);
  save_model(m, pending.temp());
  pending.commit();
}

// Planes of a cube read at `at`, cut to the window `w` (scene pixels).
std::vector<float> crop_planes(std::vector<float> v, int planes, const Window &at, const Window &w) {
  Cube c;
  c.bands = planes, c.rows = at.rows, c.cols = at.cols, c.data = std::move(v);
  return CubeReader(c).read({w.row - at.row, w.col - at.col, w.rows, w.cols}).data;
}

void write_scores(const Outputs &o, const Raster &in, const Scores &s, const std::string &method,
                  const std::string &params, Notes &notes, const std::string &scaling = "") {
  std::map<std::string, std::string> band = {{"BS3LNET_UNITS", s.pfa ? "pfa" : "raw"}, {"BS3LNET_RAW_UNIT", s.raw_unit}};
  nlohmann::ordered_json &res = run_result();
  res["method"] = method, res["parameters"] = params, res["units"] = s.pfa ? "pfa" : "raw", res["raw_unit"] = s.raw_unit;
  if (s.pfa) res["calibration"] = s.calibration;
  if (!s.fusion.empty()) res["fusion"] = s.fusion;
  if (s.pfa) band["BS3LNET_CALIBRATION"] = s.calibration;
  if (!s.fusion.empty()) band["BS3LNET_FUSION"] = s.fusion, notes.push_back("Fusion: " + s.fusion_note);
  std::map<std::string, std::string> meta = {{"BS3LNET_METHOD", method}, {"BS3LNET_PARAMETERS", params},
                                             {"BS3LNET_INPUT", in.path}, {"BS3LNET_BANDS", band_ranges(in.band_index)},
                                             {"BS3LNET_VERSION", version()}};
  if (!scaling.empty()) meta["BS3LNET_INPUT_SCALING"] = scaling, res["input_scaling"] = scaling;
  write_raster(o.scores, o.write, in.cube.rows, in.cube.cols, {s.value.data()}, in.geo,
               {s.pfa ? "anomaly score, -log10 of the estimated false-alarm probability" : "anomaly score"}, meta,
               false, s.pfa ? "-log10(pfa)" : "", band, s.pfa ? pfa_style() : "");
  notes.push_back("Scores: " + o.scores);
}

// --detections and --vector, each in its slice of the bar.
void write_thresholded(const Outputs &o, const Raster &in, const Scores &s, Writes &w, Notes &notes) {
  if (!o.thresholds()) return;
  w.next();
  if (!o.detections.empty() && !o.vector.empty()) w.next();  // two outputs, one pass
  const Detected hits = write_detections(o, in, s.value);
  if (!o.detections.empty()) notes.push_back("Detections: " + o.detections);
  if (!o.vector.empty())
    notes.push_back(std::to_string(hits.polygons) + " detection polygon(s) written to " + o.vector);
}

void write_extras(const Outputs &o, const Raster &in, Detection &d, const Scores &s, Writes &w, Notes &notes) {
  if (!o.background.empty()) {
    w.next();
    // Nodata and masked pixels were filled for the network: no reconstruction there.
    for (size_t i = 0; i < in.cube.pixels(); ++i)
      if (!in.cube.is_valid(i))
        for (int b = 0; b < in.cube.bands; ++b) d.background[size_t(b) * in.cube.pixels() + i] = NAN;
    std::vector<const float *> bands;
    std::vector<std::string> names;
    for (int b = 0; b < in.cube.bands; ++b) {
      bands.push_back(d.background.data() + size_t(b) * in.cube.pixels());
      names.push_back("background of input band " + std::to_string(in.band_index[b]));
    }
    write_raster(o.background, o.write, in.cube.rows, in.cube.cols, bands, in.geo, names,
                 {{"BS3LNET_METHOD", "bs3lnet background reconstruction"}});
  }
  write_thresholded(o, in, s, w, notes);
  if (!o.quicklook.empty()) {
    w.next();
    const std::string note = write_quicklook(o.quicklook, in, s.value, o.write.overwrite);
    if (!note.empty()) notes.push_back(note);
  }
}

}  // namespace

int detect_run(const DetectJob &job, GDALProgressFunc progress, void *data) {
  RunProgress p(progress, data);
  const RunOptions &run = job.run;
  print_device_notice(run, job.device_notice);
  TrainOptions o = job.train;
  const bool faithful = o.mode == TrainMode::Faithful;
  check_threshold_units(job.out.threshold, job.pfa, kRawUnits);
  check_output_set(job.out, {job.input, job.read.mask, job.truth});
  configure_cpu(o.threads);  // for detection too: train() gives the caller's settings back
  Input input = open_scene(job.input, job.read, run, job.out, 4, o.model.blocks, faithful || o.model.instance_norm);
  const Raster &r = input.raster;
  o = for_scene(o, r, run);
  if (!run.quiet)
    std::printf("Training BS3LNet on %dx%d pixels, %d bands (%s)\n", r.cube.cols, r.cube.rows, r.cube.bands,
                describe(o).c_str());
  const Bar bar = bar_of(input, training_share(input, o, true), 0.95);
  Notes notes;
  p.phase("read", 0, bar.read);
  read_whole(input);
  const Truth truth = load_truth(job.truth, job.input, r, notes);
  p.phase("train", bar.read, bar.train);
  const auto t0 = std::chrono::steady_clock::now();
  Model m = train_on(input, o, p, run.verbose, notes);
  run_result()["seconds_training"] = seconds_since(t0);
  m.set_tag("bands", join(r.band_index));
  m.set_tag("parameters", describe(o));
  p.phase("detect", bar.train, bar.detect);
  DetectOptions fit = job.detect;
  fit.refit = true;  // the reference is this scene's, and is saved with the model
  Detection det = detect_on(m, input, fit, p);
  m.set_reference(det.reference);
  const Scores s = network_scores(det, job.detect, job.pfa, true);
  Writes w(p, bar.detect, output_count(job.out));
  if (!job.out.model.empty()) {
    w.next();
    save_model_file(m, job.out.model, job.out.write.overwrite);
    notes.push_back("Model: " + job.out.model);
  }
  w.next();
  write_scores(job.out, r, s, "bs3lnet", describe(o) + " " + describe(job.detect), notes, stray_note(m.scaling()));
  write_extras(job.out, r, det, s, w, notes);
  take_stream_counts(input);
  finish(p, run, r, notes, auc_line(truth, s.value));
  return 0;
}

int train_run(const TrainJob &job, GDALProgressFunc progress, void *data) {
  RunProgress p(progress, data);
  const RunOptions &run = job.run;
  print_device_notice(run, job.device_notice);
  TrainOptions o = job.train;
  check_output_set(job.out, {job.input});
  configure_cpu(o.threads);
  Input input = open_scene(job.input, job.read, run, job.out, 4, o.model.blocks,
                           o.mode == TrainMode::Faithful || o.model.instance_norm);
  const Raster &r = input.raster;
  o = for_scene(o, r, run);
  const Bar bar = bar_of(input, training_share(input, o, true), 0.98);
  p.phase("read", 0, bar.read);
  read_whole(input);
  p.phase("train", bar.read, bar.train);
  Notes notes;
  Model m = train_on(input, o, p, run.verbose, notes);
  m.set_tag("bands", join(r.band_index));
  m.set_tag("parameters", describe(o));
  p.phase("detect", bar.train, bar.detect);
  DetectOptions fit;
  fit.refit = true, fit.score = Score::Mse;  // the reference holds every score's parts
  m.set_reference(detect_on(m, input, fit, p).reference);
  Writes(p, bar.detect, 1).next();
  save_model_file(m, job.out.model, job.out.write.overwrite);
  notes.push_back("Model written to " + job.out.model);
  take_stream_counts(input);
  finish(p, run, r, notes);
  return 0;
}

int apply_run(const ApplyJob &job, GDALProgressFunc progress, void *data) {
  RunProgress p(progress, data);
  const RunOptions &run = job.run;
  check_threshold_units(job.out.threshold, job.pfa, kRawUnits);  // before anything is read
  check_output_set(job.out, {job.input, job.model});
  configure_cpu(run.threads);
  std::string notice;
  Model m = load_model(job.model, resolve_device(job.device, &notice));
  print_device_notice(run, notice);
  // The paper's protocol scores raw mse unless told otherwise.
  const bool faithful = m.tag("parameters").find("mode=faithful") != std::string::npos;
  DetectOptions d = job.detect;
  if (faithful && !job.score_given) d.score = Score::Mse;
  const bool pfa = job.pfa && !(faithful && !job.units_given);
  check_threshold_units(job.out.threshold, pfa, kRawUnits);
  d.refit = job.stats_scene;
  const bool window = !job.srcwin.empty();
  if (!d.refit && m.reference().empty()) {
    if (window) throw Error("'" + job.model + "' has no saved score reference (an older file): retrain it to use -srcwin");
    if (!run.quiet) std::printf("The model file has no saved score reference (an older file): measuring against the input\n");
    d.refit = true;
  }
  if (!d.refit && d.rx_all_weight >= 0 && !m.reference().has_all())
    throw Error("'" + job.model + "' has no RX against every pixel (an earlier build): --rx-all-weight needs "
                "--stats scene or a retrained model");
  // The input whole (or streamed) in `input`, or the window and its halo in
  // `piece`; `r` points at what is scored (no copy of a cube).
  Input input;
  Raster piece;
  if (window) {
    if (d.refit) throw Error("-srcwin needs --stats model: a window is measured against the training scene");
    ReadOptions ro = job.read;
    raster_size(job.input, ro.open_options, d.scene_rows, d.scene_cols);
    d.window = parse_srcwin(job.srcwin, d.scene_rows, d.scene_cols);
    ro.region = d.cube_at = read_region(m, d, d.scene_rows, d.scene_cols, d.window);
    if (!run.quiet) std::printf("Reading %s (window %s and its halo)\n", job.input.c_str(), job.srcwin.c_str());
    p.phase("read", 0, 0.3);
    piece = read_raster(job.input, ro);
  } else {
    input = open_scene(job.input, job.read, run, job.out, d.refit ? 4 : 3, m.config().blocks, m.config().instance_norm);
    for (RasterReader *reader : {input.pending.get(), input.stream.get()})  // counts the values the network will miss
      if (reader) reader->set_fences(m.scaling());
    p.phase("read", 0, input.stream ? 0 : 0.3);
  }
  const Raster *r = window ? &piece : &input.raster;
  const std::string trained = m.tag("bands");
  if (r->cube.bands != m.config().bands)
    throw Error("the model was trained on " + std::to_string(m.config().bands) + " bands but the input gives " +
                std::to_string(r->cube.bands) + " (use -b to select the same bands)");
  if (!trained.empty() && trained != join(r->band_index))
    throw Error("the model was trained on bands " + band_ranges(parse_band_list(trained, 1 << 30)) +
                " but the input gives bands " + band_ranges(r->band_index));
  read_whole(input);
  Notes notes;
  Truth truth;
  if (!window) truth = load_truth(job.truth, job.input, *r, notes);  // checked before the run; a window's after its crop
  p.phase("detect", input.stream ? 0 : 0.3, 0.9);
  Detection det = detect_on(m, input, d, p, window ? &piece.cube : nullptr);
  if (window) {  // keep the window: scores, background and the raster they describe
    det.score = crop_planes(std::move(det.score), 1, piece.at, d.window);
    if (!det.background.empty())
      det.background = crop_planes(std::move(det.background), piece.cube.bands, piece.at, d.window);
    piece = crop(std::move(piece), d.window);
    piece.counts.stray = count_beyond_fences(piece.cube, m.scaling());
    truth = load_truth(job.truth, job.input, piece, notes);
  }
  take_stream_counts(input);
  const std::string stray = stray_note(r->counts.stray, m.scaling());
  if (!stray.empty()) notes.push_back("Input scaling: " + stray);
  const Scores s = network_scores(det, d, pfa, d.refit);
  Writes w(p, 0.9, output_count(job.out));
  w.next();
  write_scores(job.out, *r, s, "bs3lnet",
               "model=" + job.model + " " + m.tag("parameters") + " " + describe(d) + " stats=" +
                   (d.refit ? "scene" : "model") + (window ? " srcwin=" + job.srcwin : ""),
               notes, stray);
  write_extras(job.out, *r, det, s, w, notes);
  finish(p, run, *r, notes, auc_line(truth, s.value));
  return 0;
}

int rx_run(const RxJob &job, GDALProgressFunc progress, void *data) {
  RunProgress p(progress, data);
  const RunOptions &run = job.run;
  check_threshold_units(job.out.threshold, job.pfa, kRawUnits);
  check_output_set(job.out, {job.input, job.read.mask, job.truth});
  configure_cpu(run.threads);
  const bool local = job.outer > 0;
  Input input = open_scene(job.input, job.read, run, job.out, local ? 4 : 2, 2, local);
  const Raster &r = input.raster;
  if (local && input.stream) throw Error("local RX (--window) needs the scene in memory: raise --max-memory");
  p.phase("read", 0, input.stream ? 0 : 0.4);
  read_whole(input);
  Notes notes;
  const Truth truth = load_truth(job.truth, job.input, r, notes);
  p.phase("detect", input.stream ? 0 : 0.4, 0.9);
  Scores s;
  std::string params;
  if (local) {
    s = in_units(rx_local(r.cube, job.inner, job.outer), job.pfa, Tail::Power,
                 "squared Mahalanobis distance to the local background");
    params = "inner=" + std::to_string(job.inner) + " outer=" + std::to_string(job.outer) +
             " ridge=1e-3 x mean variance, double precision";
  } else {
    s = in_units(input.stream ? rx_streamed(*input.stream) : rx_global(r.cube), job.pfa, Tail::Power,
                 "squared Mahalanobis distance to the scene mean");
    params = "pseudo-inverse covariance, double precision";
  }
  Writes w(p, 0.9, output_count(job.out));
  w.next();
  write_scores(job.out, r, s, local ? "local RX" : "global RX", params, notes);
  write_thresholded(job.out, r, s, w, notes);
  take_stream_counts(input);
  finish(p, run, r, notes, auc_line(truth, s.value));
  return 0;
}

}  // namespace bs3l::app
