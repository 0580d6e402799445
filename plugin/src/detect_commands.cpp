// detect, train, apply and rx: cube in, scores out.
#include <gdal.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>
#include <sstream>

#include "args.h"
#include "bs3l/bs3lnet.h"
#include "bs3l/limits.h"
#include "bs3l/calibrate.h"
#include "bs3l/metrics.h"
#include "bs3l/rx.h"
#include "commands.h"
#include "detections.h"
#include "result.h"
#include "styles.h"
#include "extra_outputs.h"
#include "input.h"
#include "options.h"
#include "output_file.h"
#include "train_args.h"
#include "raster_io.h"
#include "terminal.h"

namespace bs3l::app {
namespace {

// --json: the result is the only thing on stdout.
bool quiet(const Args &a) { return a.flag("-q") || a.flag("--quiet") || a.flag("--json"); }

// Seconds since `t0`, for the --json result.
double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// "No CUDA, on the CPU" matters to whoever asked for a device (or --verbose),
// not on every CPU run.
void print_device_notice(const Args &a, const std::string &notice) {
  if (!notice.empty() && !quiet(a) && (a.has("--device") || a.flag("--verbose"))) std::printf("%s\n", notice.c_str());
  if (a.flag("--verbose") && !quiet(a)) {
    const ResourceLimits r = resource_limits();
    const int threads = a.get_int("--threads", 0);
    std::printf("Resources: %d thread(s) (%s), %zu MB of memory free (%s)\n", threads > 0 ? threads : r.cpus,
                threads > 0 ? "--threads" : r.cpu_source.c_str(), r.memory >> 20, r.memory_source.c_str());
  }
}

ReadOptions read_options(const Args &a) {
  ReadOptions r;
  r.bands = a.get("-b");
  r.keep_bad_bands = a.flag("--keep-bad-bands");
  r.mask = a.get("--mask");
  r.nodata = a.get("--nodata");
  r.open_options = a.all("-oo");
  r.quiet = quiet(a);
  return r;
}

WriteOptions write_options(const Args &a) {
  WriteOptions w;
  w.format = a.get("-of");
  w.creation_options = a.all("-co");
  w.overwrite = a.flag("--overwrite");
  w.quiet = quiet(a);
  return w;
}

TrainOptions train_options(const Args &a) {
  std::string notice;
  TrainOptions o = train_options_of(a, &notice);
  print_device_notice(a, notice);
  const bool q = quiet(a), verbose = a.flag("--verbose");
  o.progress = [q, verbose, last = -1](double f, double loss) mutable {
    test_interrupt_at("train");
    if (interrupted()) return false;
    if (verbose) {
      const int pct = int(f * 100);
      if (pct / 5 != last) std::printf("training %3d%%  loss %.6g\n", pct, loss), last = pct / 5, std::fflush(stdout);
    } else if (!q) {
      term_progress(f);
    }
    return true;
  };
  return o;
}

// --units pfa|raw (the paper's protocol: raw unless asked); checked with the
// thresholds before anything runs.
bool pfa_units(const Args &a, bool faithful) {
  const std::string u = faithful && !a.has("--units") ? "raw" : a.get("--units");
  if (u != "pfa" && u != "raw") throw Error("unknown --units '" + u + "' (use pfa or raw)");
  const bool pfa = u == "pfa";
  if (a.has("--max-pfa") && !pfa) throw Error("--max-pfa needs --units pfa (the scores are written raw)");
  check_threshold_options(a, pfa);
  return pfa;
}

// A score raster, raw or calibrated, with what its values mean.
struct Scores {
  std::vector<float> value;
  bool pfa = false;
  std::string raw_unit, calibration;
  std::string fusion;  // the fused score's weights and why (empty for other scores)
};

Scores in_units(std::vector<float> raw, bool pfa, Tail tail, const std::string &raw_unit) {
  Scores s;
  s.pfa = pfa, s.raw_unit = raw_unit;
  if (!pfa) {
    s.value = std::move(raw);
    return s;
  }
  TailFit fit;
  s.value = pfa_log10(raw, tail, &fit);
  s.calibration = fit.describe();
  return s;
}

std::string raw_unit_of(Score s, double rx_weight, const ScoreReference &ref);

// What the fused score weighed its parts with, and whence the weight of RX
// against every pixel.
// `fitted`: the reference was fitted in this run (else it is the model's).
std::string fusion_of(const ScoreReference &ref, const DetectOptions &d, bool fitted) {
  if (d.score != Score::Fused || !ref.has_all()) return "";
  std::ostringstream o;
  o.precision(6);
  o << "global RX kurtosis " << ref.kurtosis << " (1 for a Gaussian background) -> weight " << ref.all_weight
    << " for RX against every pixel ("
    << (d.rx_all_weight >= 0 ? "--rx-all-weight"
        : fitted             ? "auto: 0.2 + 200 x max(0, kurtosis - 1.2)"
                             : "saved with the model")
    << "), " << d.rx_weight << " for RX against the purified background";
  return o.str();
}

// The network's scores, calibrated (pfa) against the reference they were
// measured with.
Scores network_scores(const Detection &det, const DetectOptions &d, bool pfa, bool fitted) {
  Scores s;
  s.pfa = pfa, s.raw_unit = raw_unit_of(d.score, d.rx_weight, det.reference);
  s.fusion = fusion_of(det.reference, d, fitted);
  if (!pfa) {
    s.value = det.score;
    return s;
  }
  TailFit fit;
  s.value = calibrated(det.reference, d.score, d.rx_weight, det.score, &fit);
  s.calibration = fit.describe();
  return s;
}

std::string raw_unit_of(Score s, double rx_weight, const ScoreReference &ref) {
  switch (s) {
    case Score::Mse: return "mean over bands of the squared residual, in the network's input units";
    case Score::Scaled: return "mean over bands of (residual / the band's robust spread)^2, plus its 3x3 mean";
    case Score::Fused: {
      std::ostringstream o;
      o << "-log10(pfa(scaled) + " << rx_weight << " x pfa(global RX)";
      if (ref.has_all()) o << " + " << ref.all_weight << " x pfa(global RX, every pixel)";
      o << ")";
      return o.str();
    }
  }
  return "?";
}

// The paper's protocol scores with the paper's mse unless told otherwise.
DetectOptions detect_options(const Args &a, bool faithful) {
  DetectOptions d;
  d.want_background = a.has("--background");
  d.amp = a.flag("--amp");
  d.score = faithful && !a.has("--score") ? Score::Mse : parse_score(a.get("--score"));
  d.rx_weight = a.get_double("--rx-weight", d.rx_weight);
  if (!(d.rx_weight >= 0 && d.rx_weight <= 1e6)) throw Error("--rx-weight must be in [0, 1e6]");
  d.rx_purify = a.get_double("--rx-purify", d.rx_purify);
  if (!(d.rx_purify >= 0 && d.rx_purify < 1)) throw Error("--rx-purify must be in [0, 1)");
  if (a.has("--rx-all-weight") && a.get("--rx-all-weight") != "auto") {
    d.rx_all_weight = a.get_double("--rx-all-weight", 0);
    if (!(d.rx_all_weight >= 0 && d.rx_all_weight <= 1e6)) throw Error("--rx-all-weight must be auto or in [0, 1e6]");
  }
  return d;
}

std::string describe(const DetectOptions &d) {
  std::ostringstream s;
  s << "score=" << to_string(d.score);
  if (d.score == Score::Fused) {
    s << " rx_weight=" << d.rx_weight << " rx_all_weight=";
    if (d.rx_all_weight >= 0) s << d.rx_all_weight; else s << "auto";
  }
  s << " rx_purify=" << d.rx_purify;
  return s.str();
}

std::string describe(const TrainOptions &o) {
  std::ostringstream s;
  if (o.mode == TrainMode::Faithful)
    s << "mode=faithful epochs=" << o.epochs << " batch_size=" << o.batch_size << " lr=" << o.lr
      << " fixed_masks=" << (o.fixed_masks ? "yes" : "no");
  else
    s << "mode=fast steps=" << o.steps << " lr=" << o.fast_lr << " tile=" << o.tile;
  s << " patch=" << o.patch << " ratio=" << o.ratio << " window=" << o.window << " features=" << o.model.features
    << " blocks=" << o.model.blocks << " norm=" << (o.model.instance_norm ? "instance" : "batch")
    << " normalize=" << to_string(o.normalize) << " seed=" << o.seed;
  return s.str();
}

std::string join(const std::vector<int> &v) {
  std::string s;
  for (int x : v) s += (s.empty() ? "" : ",") + std::to_string(x);
  return s;
}

// The input whole, or streamed when the in-memory run would pass the
// budget; `copies`: cube-sized buffers the in-memory run holds.
Input open_scene(const Args &a, const std::string &path, int copies, int blocks, bool whole = false) {
  ModelConfig mc;
  mc.blocks = blocks;
  whole = whole || a.has("--background") || a.has("--quicklook");
  Input in = open_input(a, path, read_options(a), copies, DetectOptions().tile, receptive_radius(mc), whole);
  if (in.raster.dropped_bad_bands && !quiet(a))
    std::printf("Dropped %d band(s) marked bad in the bbl list (--keep-bad-bands keeps them)\n", in.raster.dropped_bad_bands);
  if (in.stream) {
    if (a.has("--background")) throw Error("--background needs the scene in memory: raise --max-memory");
    if (a.has("--quicklook")) throw Error("--quicklook needs the scene in memory: raise --max-memory");
  }
  return in;
}

Model train_on(const Input &in, const TrainOptions &o) {
  return in.stream ? train(*in.stream, o) : train(in.raster.cube, o);
}

// A streamed run keeps one progress line: training takes the first
// `share` of it (by pixels pushed through the network), the passes the rest.
double training_share(const Input &in, const TrainOptions &o, bool refit) {
  if (!in.stream || o.mode != TrainMode::Fast) return 1.0;
  const double train = 3.0 * o.steps * std::min(in.raster.cube.rows, o.tile) * std::min(in.raster.cube.cols, o.tile);
  return train / (train + (refit ? 2.0 : 1.0) * double(in.raster.cube.pixels()));
}

void share_progress(const Args &a, TrainOptions &o, double share) {
  if (share >= 1 || a.flag("--verbose")) return;
  o.progress = [inner = o.progress, share](double f, double loss) { return inner(f * share, loss); };
}

// Ctrl-C stops every detection pass; a streamed one also draws its share
// of the progress line (in memory the pass is quick).
DetectOptions cancellable(DetectOptions d, bool draw = false, double share = 0) {
  d.progress = [draw, share](double f, double) {
    test_interrupt_at("detect");
    if (interrupted()) return false;
    if (draw) term_progress(share + (1 - share) * f);
    return true;
  };
  return d;
}

Detection detect_on(const Model &m, const Input &in, const DetectOptions &d, const Args &a, double share = 0) {
  if (!in.stream) return detect(m, in.raster.cube, cancellable(d));
  return detect(m, *in.stream, cancellable(d, !quiet(a), share), in.window_cols);
}

struct Truth {
  std::string path;  // empty: none
  std::vector<int8_t> labels;
};

// --truth FILE, or a .mat input's own map/gt variable; `given` is the input
// as typed (the raster's path may be a MATLAB:"file":var subdataset). Read
// and checked before anything is written, so a bad truth leaves no output.
Truth load_truth(const Args &a, const std::string &given, const Raster &in) {
  Truth t;
  t.path = a.get("--truth");
  const bool window = in.at.rows != in.scene_rows || in.at.cols != in.scene_cols;
  if (t.path.empty() && !window) {  // a tile rarely holds both classes: only an explicit --truth
    std::string why;
    t.path = companion_truth(in.path.rfind("MATLAB:", 0) == 0 ? given : in.path, &why);
    if (!t.path.empty() && !quiet(a)) std::printf("Truth: %s (%s; --truth overrides)\n", t.path.c_str(), why.c_str());
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

void report_auc(const Args &a, const Truth &t, const std::vector<float> &score) {
  if (t.path.empty()) return;
  const double auc = roc_auc(score, t.labels);
  if (a.flag("--json")) run_result()["auc"] = auc, run_result()["truth"] = t.path;
  else std::printf("AUC %.4f (against %s)\n", auc, t.path.c_str());
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

void write_scores(const Args &a, const std::string &out, const Raster &in, const Scores &s, const std::string &method,
                  const std::string &params) {
  if (!quiet(a)) std::printf("Writing %s\n", out.c_str());
  std::map<std::string, std::string> band = {{"BS3LNET_UNITS", s.pfa ? "pfa" : "raw"}, {"BS3LNET_RAW_UNIT", s.raw_unit}};
  nlohmann::ordered_json &res = run_result();
  res["method"] = method, res["parameters"] = params, res["units"] = s.pfa ? "pfa" : "raw", res["raw_unit"] = s.raw_unit;
  if (s.pfa) res["calibration"] = s.calibration;
  if (!s.fusion.empty()) res["fusion"] = s.fusion;
  if (s.pfa) band["BS3LNET_CALIBRATION"] = s.calibration;
  if (!s.fusion.empty()) {
    band["BS3LNET_FUSION"] = s.fusion;
    if (!quiet(a)) std::printf("Fusion: %s\n", s.fusion.c_str());
  }
  write_raster(out, write_options(a), in.cube.rows, in.cube.cols, {s.value.data()}, in.geo,
               {s.pfa ? "anomaly score, -log10 of the estimated false-alarm probability" : "anomaly score"},
               {{"BS3LNET_METHOD", method}, {"BS3LNET_PARAMETERS", params}, {"BS3LNET_INPUT", in.path},
                {"BS3LNET_BANDS", band_ranges(in.band_index)}, {"BS3LNET_VERSION", version()}},
               false, s.pfa ? "-log10(pfa)" : "", band, s.pfa ? pfa_style() : "");
}

void write_extras(const Args &a, const Raster &in, Detection &d, const Scores &s) {
  if (a.has("--background")) {
    // Nodata and masked pixels were filled for the network: no reconstruction there.
    for (size_t i = 0; i < in.cube.pixels(); ++i)
      if (!in.cube.is_valid(i))
        for (int b = 0; b < in.cube.bands; ++b) d.background[size_t(b) * in.cube.pixels() + i] = NAN;
    const std::string path = a.get("--background");
    std::vector<const float *> bands;
    std::vector<std::string> names;
    for (int b = 0; b < in.cube.bands; ++b) {
      bands.push_back(d.background.data() + size_t(b) * in.cube.pixels());
      names.push_back("background of input band " + std::to_string(in.band_index[b]));
    }
    write_raster(path, write_options(a), in.cube.rows, in.cube.cols, bands, in.geo, names,
                 {{"BS3LNET_METHOD", "bs3lnet background reconstruction"}});
  }
  write_detections(a, write_options(a), in, s.value);
  if (a.has("--quicklook")) write_quicklook(a.get("--quicklook"), in, s.value, a.flag("--overwrite"), quiet(a));
}

void check_outputs(const Args &a, const std::vector<std::string> &outs, const std::vector<std::string> &inputs) {
  check_output_set(a, write_options(a), outs, inputs);
}

}  // namespace

int cmd_detect(const Argv &argv) {
  Args a("detect", argv, spec_of("detect"));
  const std::string in = a.positional()[0], out = a.positional()[1];
  TrainOptions o = train_options(a);
  const bool faithful = o.mode == TrainMode::Faithful;
  const DetectOptions d = detect_options(a, faithful);
  const bool pfa = pfa_units(a, faithful);
  check_outputs(a, {out, a.get("--background"), a.get("--detections"), a.get("--save-model")},
                {in, a.get("--mask"), a.get("--truth")});
  configure_cpu(o.threads);  // for detection too: train() gives the caller's settings back
  const Input input = open_scene(a, in, 4, o.model.blocks, faithful || o.model.instance_norm);
  const Raster &r = input.raster;
  const Truth truth = load_truth(a, in, r);
  if (!quiet(a)) std::printf("Training BS3LNet on %dx%d pixels, %d bands (%s)\n", r.cube.cols, r.cube.rows, r.cube.bands, describe(o).c_str());
  const double share = training_share(input, o, true);
  share_progress(a, o, share);
  const auto t0 = std::chrono::steady_clock::now();
  Model m = train_on(input, o);
  run_result()["seconds_training"] = seconds_since(t0);
  m.set_tag("bands", join(r.band_index));
  m.set_tag("parameters", describe(o));
  DetectOptions fit = d;
  fit.refit = true;  // the reference is this scene's, and is saved with the model
  Detection det = detect_on(m, input, fit, a, share);
  m.set_reference(det.reference);
  if (a.has("--save-model")) save_model_file(m, a.get("--save-model"), a.flag("--overwrite"));
  const Scores s = network_scores(det, d, pfa, true);
  write_scores(a, out, r, s, "bs3lnet", describe(o) + " " + describe(d));
  write_extras(a, r, det, s);
  report_auc(a, truth, s.value);
  return 0;
}

int cmd_train(const Argv &argv) {
  Args a("train", argv, spec_of("train"));
  TrainOptions o = train_options(a);
  const std::string model_path = a.positional()[1];
  check_outputs(a, {model_path}, {a.positional()[0]});
  configure_cpu(o.threads);
  const Input input =
      open_scene(a, a.positional()[0], 4, o.model.blocks, o.mode == TrainMode::Faithful || o.model.instance_norm);
  const Raster &r = input.raster;
  const double share = training_share(input, o, true);
  share_progress(a, o, share);
  Model m = train_on(input, o);
  m.set_tag("bands", join(r.band_index));
  m.set_tag("parameters", describe(o));
  DetectOptions fit;
  fit.refit = true, fit.score = Score::Mse;  // the reference holds every score's parts
  m.set_reference(detect_on(m, input, fit, a, share).reference);
  save_model_file(m, model_path, a.flag("--overwrite"));
  if (!quiet(a)) std::printf("Model written to %s\n", model_path.c_str());
  return 0;
}

int cmd_apply(const Argv &argv) {
  Args a("apply", argv, spec_of("apply"));
  const std::string model_path = a.positional()[0], in = a.positional()[1], out = a.positional()[2];
  pfa_units(a, false);  // the thresholds, checked before anything is read
  check_outputs(a, {out, a.get("--background"), a.get("--detections")}, {in, model_path});
  configure_cpu(a.get_int("--threads", 0));
  std::string notice;
  Model m = load_model(model_path, resolve_device(a.get("--device"), &notice));
  print_device_notice(a, notice);
  const bool faithful = m.tag("parameters").find("mode=faithful") != std::string::npos;
  DetectOptions d = detect_options(a, faithful);
  const bool pfa = pfa_units(a, faithful);
  d.refit = a.get("--stats") == "scene";
  if (a.get("--stats") != "model" && !d.refit) throw Error("unknown --stats '" + a.get("--stats") + "' (use model or scene)");
  if (!d.refit && m.reference().empty()) {
    if (a.has("-srcwin")) throw Error("'" + model_path + "' has no saved score reference (an older file): retrain it to use -srcwin");
    if (!quiet(a)) std::printf("The model file has no saved score reference (an older file): measuring against the input\n");
    d.refit = true;
  }
  if (!d.refit && d.rx_all_weight >= 0 && !m.reference().has_all())
    throw Error("'" + model_path + "' has no RX against every pixel (an earlier build): --rx-all-weight needs "
                "--stats scene or a retrained model");
  // The input whole (or streamed) in `input`, or the window and its halo in
  // `piece`; `r` points at what is scored (no copy of a cube).
  Input input;
  Raster piece;
  const bool window = a.has("-srcwin");
  if (window) {
    if (d.refit) throw Error("-srcwin needs --stats model: a window is measured against the training scene");
    ReadOptions ro = read_options(a);
    raster_size(in, ro.open_options, d.scene_rows, d.scene_cols);
    d.window = parse_srcwin(a.get("-srcwin"), d.scene_rows, d.scene_cols);
    ro.region = d.cube_at = read_region(m, d, d.scene_rows, d.scene_cols, d.window);
    if (!quiet(a)) std::printf("Reading %s (window %s and its halo)\n", in.c_str(), a.get("-srcwin").c_str());
    piece = read_raster(in, ro);
    report_nodata(piece, quiet(a));
  } else {
    input = open_scene(a, in, d.refit ? 4 : 3, m.config().blocks, m.config().instance_norm);
  }
  const Raster *r = window ? &piece : &input.raster;
  const std::string trained = m.tag("bands");
  if (r->cube.bands != m.config().bands)
    throw Error("the model was trained on " + std::to_string(m.config().bands) + " bands but the input gives " +
                std::to_string(r->cube.bands) + " (use -b to select the same bands)");
  if (!trained.empty() && trained != join(r->band_index))
    throw Error("the model was trained on bands " + band_ranges(parse_band_list(trained, 1 << 30)) +
                " but the input gives bands " + band_ranges(r->band_index));
  Truth truth;
  if (!window) truth = load_truth(a, in, *r);  // checked before the run; a window's after its crop
  Detection det = window ? detect(m, piece.cube, cancellable(d)) : detect_on(m, input, d, a);
  if (window) {  // keep the window: scores, background and the raster they describe
    det.score = crop_planes(std::move(det.score), 1, piece.at, d.window);
    if (!det.background.empty())
      det.background = crop_planes(std::move(det.background), piece.cube.bands, piece.at, d.window);
    piece = crop(std::move(piece), d.window);
    truth = load_truth(a, in, piece);
  }
  const Scores s = network_scores(det, d, pfa, d.refit);
  write_scores(a, out, *r, s, "bs3lnet",
               "model=" + model_path + " " + m.tag("parameters") + " " + describe(d) + " stats=" +
                   (d.refit ? "scene" : "model") + (window ? " srcwin=" + a.get("-srcwin") : ""));
  write_extras(a, *r, det, s);
  report_auc(a, truth, s.value);
  return 0;
}

int cmd_rx(const Argv &argv) {
  Args a("rx", argv, spec_of("rx"));
  const bool pfa = pfa_units(a, false);  // rx: raw by default (registry)
  const std::string in = a.positional()[0], out = a.positional()[1];
  int inner = 0, outer = 0;
  if (a.has("--window")) {
    char extra = 0;
    if (std::sscanf(a.get("--window").c_str(), "%d,%d%c", &inner, &outer, &extra) != 2 || inner < 1 || outer <= inner ||
        inner % 2 == 0 || outer % 2 == 0)
      throw Error("--window wants two odd sizes INNER,OUTER with INNER < OUTER, e.g. 3,11");
  }
  check_outputs(a, {out, a.get("--detections")}, {in, a.get("--mask"), a.get("--truth")});
  configure_cpu(a.get_int("--threads", 0));
  const Input input = open_scene(a, in, outer > 0 ? 4 : 2, 2, outer > 0);
  const Raster &r = input.raster;
  const Truth truth = load_truth(a, in, r);
  if (outer > 0 && input.stream) throw Error("local RX (--window) needs the scene in memory: raise --max-memory");
  if (outer > 0) {
    const Scores s = in_units(rx_local(r.cube, inner, outer), pfa, Tail::Power,
                              "squared Mahalanobis distance to the local background");
    write_scores(a, out, r, s, "local RX", "inner=" + std::to_string(inner) + " outer=" + std::to_string(outer) +
                                               " ridge=1e-3 x mean variance, double precision");
    write_detections(a, write_options(a), r, s.value);
    report_auc(a, truth, s.value);
    return 0;
  }
  const Scores s = in_units(input.stream ? rx_streamed(*input.stream) : rx_global(r.cube), pfa, Tail::Power,
                            "squared Mahalanobis distance to the scene mean");
  write_scores(a, out, r, s, "global RX", "pseudo-inverse covariance, double precision");
  write_detections(a, write_options(a), r, s.value);
  report_auc(a, truth, s.value);
  return 0;
}

}  // namespace bs3l::app
