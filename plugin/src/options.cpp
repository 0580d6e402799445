// The option table, and the help and JSON made from it.
#include "options.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "bs3l/bs3lnet.h"

namespace bs3l::app {
namespace {

std::string num(double x) {
  char b[32];
  std::snprintf(b, sizeof b, "%g", x);
  return b;
}

const std::vector<std::string> kTrainers = {"detect", "train"};
const std::vector<std::string> kReaders = {"detect", "train", "apply", "rx", "info"};
const std::vector<std::string> kScorers = {"detect", "apply"};
const std::vector<std::string> kWriters = {"detect", "apply", "rx", "threshold"};  // rasters (train writes a model)
const std::vector<std::string> kThresholders = {"detect", "apply", "rx", "threshold"};
const std::vector<std::string> kThresholds = {"detect", "apply", "rx", "threshold", "evaluate"};  // evaluate: objects

std::vector<OptionDef> build() {
  const TrainOptions t;
  const DetectOptions d;
  using T = Type;
  using R = Role;
  std::vector<OptionDef> v;
  auto add = [&](OptionDef o) { v.push_back(std::move(o)); };
  // --- input
  add({"-b", "", T::Text, R::None, "LIST", "", {}, 0, 0,
       "bands to use, 1-based, e.g. 1-50,60,70-100 (default: all but those a bbl list marks bad)", kReaders, false,
       false, false, "BANDS"});
  add({"--keep-bad-bands", "", T::Flag, R::None, "", "", {}, 0, 0,
       "keep bands marked 0 in a bbl list (ENVI header, GeoTIFF metadata or .mat variable)", kReaders, true});
  add({"-oo", "", T::Text, R::None, "NAME=VALUE", "", {}, 0, 0,
       "GDAL open option of the input (e.g. VARIABLE=data for a .mat file)", kReaders, false, true, true});
  add({"--nodata", "", T::Text, R::None, "VALUE", "", {}, 0, 0,
       "nodata value of every input band, replacing the file's (as gdalwarp's source nodata option); none ignores the "
       "file's. "
       "A pixel is nodata when every band holds it; NaN or Inf in any band makes a pixel nodata too (counted)",
       kReaders, true});
  add({"--mask", "", T::Text, R::InRaster, "FILE", "", {}, 0, 0,
       "raster of the same size; pixels where it is 0 are excluded", {"detect", "train", "apply", "rx"}, true});
  add({"--truth", "", T::Text, R::InRaster, "FILE", "", {}, 0, 0,
       "ground truth (nonzero = anomaly): print the AUC at the end. A .mat input without it uses its first variable "
       "named map, gt, mask, groundtruth, gtImg_sub or PlaneGT, else its only single-band variable of the cube's "
       "size (printed)",
       {"detect", "apply", "rx"}, true});
  // --- output
  add({"-of", "", T::Text, R::None, "FORMAT", "", {}, 0, 0,
       "GDAL output format (default: from the extension, else GTiff)", kWriters, false, false, true});
  add({"-co", "", T::Text, R::None, "NAME=VALUE", "", {}, 0, 0, "GDAL creation option of the outputs", kWriters, false, true,
       true});
  add({"--overwrite", "", T::Flag, R::None, "", "", {}, 0, 0, "replace existing outputs",
       {"detect", "train", "apply", "rx", "evaluate", "synth", "threshold"}, false, false, true});
  add({"-q", "--quiet", T::Flag, R::None, "", "", {}, 0, 0, "no progress output, no GDAL warnings",
       {"detect", "train", "apply", "rx", "evaluate", "synth", "threshold"}, false, false, true});
  add({"--verbose", "", T::Flag, R::None, "", "", {}, 0, 0, "print the training loss", kTrainers, true, false, true});
  // --- training
  add({"--protocol", "", T::Choice, R::None, "NAME", "", {"paper"}, 0, 0,
       "paper: exactly the official code's protocol (faithful mode, raw values, masks drawn once, 1000 epochs, "
       "Adam 1e-4, batch 100); options given explicitly still apply",
       kTrainers, true});
  add({"--mode", "", T::Choice, R::None, "MODE", t.mode == TrainMode::Fast ? "fast" : "faithful", {"fast", "faithful"},
       0, 0,
       "training protocol: fast = whole-scene passes, 10% blind spots per step, cosine learning rate; faithful = "
       "the paper's 19x19 patches, one per pixel and epoch",
       kTrainers});
  add({"--steps", "", T::Int, R::None, "N", std::to_string(t.steps), {}, 0, 100000,
       "fast mode: training steps; 0: as many as give each pixel " + std::to_string(kAutoVisits) +
           " visits (" + std::to_string(kAutoVisits) + " on a scene within one training tile, more on larger "
           "ones, at most " + std::to_string(kMaxAutoSteps) + ")",
       kTrainers});
  add({"--epochs", "", T::Int, R::None, "N", std::to_string(t.epochs), {}, 1, 100000,
       "faithful mode: epochs over all pixels", kTrainers, true});
  add({"--batch-size", "", T::Int, R::None, "N", std::to_string(t.batch_size), {}, 1, 100000,
       "faithful mode: patches per step", kTrainers, true});
  add({"--lr", "", T::Number, R::None, "X", "", {}, 0, 1,
       "learning rate (default " + num(t.fast_lr) + " peak in the fast mode, " + num(t.lr) + " in the faithful mode)",
       kTrainers, true});
  add({"--patch", "", T::Int, R::None, "N", std::to_string(t.patch), {}, 3, 1001, "blind-spot patch size (odd)",
       kTrainers, true});
  add({"--ratio", "", T::Number, R::None, "X", num(t.ratio), {}, 0, 0.999,
       "share of a patch's pixels that are NOT blind spots (0.9: 37 of 361 are)", kTrainers, true});
  add({"--window", "", T::Int, R::None, "N", std::to_string(t.window), {}, 2, 101,
       "a blind spot takes the value of a random neighbour in this window", kTrainers, true});
  add({"--fixed-masks", "", T::Flag, R::None, "", "", {}, 0, 0,
       "faithful mode: draw the blind spots once, as the official code", kTrainers, true});
  add({"--features", "", T::Int, R::None, "N", std::to_string(t.model.features), {}, 1, 4096, "feature channels",
       kTrainers, true});
  add({"--blocks", "", T::Int, R::None, "N", std::to_string(t.model.blocks), {}, 0, 64, "residual blocks", kTrainers,
       true});
  add({"--norm", "", T::Choice, R::None, "NORM", t.model.instance_norm ? "instance" : "batch", {"batch", "instance"},
       0, 0, "normalisation layers (instance: detection runs on the whole scene at once)", kTrainers, true});
  add({"--normalize", "", T::Choice, R::None, "SCALING", to_string(t.normalize), {"none", "minmax", "zscore"}, 0, 0,
       "input scaling", kTrainers, true});
  add({"--tile", "", T::Int, R::None, "N", std::to_string(t.tile), {}, 8, 100000, "fast mode: training tile edge",
       kTrainers, true});
  add({"--seed", "", T::Int, R::None, "N", std::to_string(t.seed), {}, 0, 2147483647, "random seed", kTrainers});
  add({"--save-model", "", T::Text, R::OutFile, "FILE", "", {}, 0, 0, "also save the trained model", {"detect"}});
  add({"--device", "", T::Text, R::None, "DEVICE", "auto", {}, 0, 0,
       "auto (CUDA when available), cpu, cuda or cuda:N", {"detect", "train", "apply"}});
  add({"--threads", "", T::Int, R::None, "N", std::to_string(t.threads), {}, 0, 1024, "CPU threads (0: all the process may use)",
       {"detect", "train", "apply", "rx"}});
  add({"--max-memory", "", T::Text, R::None, "SIZE", "", {}, 0, 0,
       "memory for the scene's data, e.g. 2G or 500M (default: half of what the machine has free, at most 4G; all "
       "of it when a background cube, a quicklook, local RX, the paper's protocol or instance norm need the scene "
       "whole). A scene that would need more is streamed: read in windows with their halo, only per-pixel scores "
       "held, the same scores (LibTorch's own ~300 MB come on top)",
       {"detect", "train", "apply", "rx"}, true});
  add({"--stream", "", T::Flag, R::None, "", "", {}, 0, 0,
       "stream the scene even if it fits in --max-memory (the same scores; for tests and to bound memory)",
       {"detect", "train", "apply", "rx"}, true});
  add({"--deterministic", "", T::Flag, R::None, "", "", {}, 0, 0, "deterministic cuDNN kernels", kTrainers, true});
  add({"--no-cuda-graph", "", T::Flag, R::None, "", "", {}, 0, 0,
       "CUDA, faithful mode: launch each training step's kernels one by one instead of replaying the step as a "
       "CUDA graph (for comparison; slower)",
       kTrainers, true});
  add({"--amp", "", T::Flag, R::None, "", "", {}, 0, 0,
       "CUDA: bf16 mixed precision (autocast) for training and detection", {"detect", "train", "apply"}, true});
  // --- scores
  add({"--score", "", T::Choice, R::None, "SCORE", to_string(d.score), {"fused", "scaled", "mse"}, 0, 0,
       "how residuals become scores (mse when training is faithful): mse = mean squared residual over bands (the "
       "paper's); scaled = each band's residual over its robust spread (1.4826 x MAD), squared, averaged over "
       "bands, plus its 3x3 neighbourhood mean; fused = -log10(pfa(scaled) + w x pfa(global RX)), each pfa from "
       "the scene's own tail, RX's background fitted without the pixels scaled ranks highest (--rx-purify), on its "
       "leading principal directions (--rx-rank), and a third term of RX against every pixel (--rx-all-weight)",
       kScorers});
  add({"--rx-weight", "", T::Text, R::None, "W", "auto", {}, 0, 0,
       "fused: the weight w of the RX term against the purified background; auto: 1 when that background keeps "
       "the leading principal directions (--rx-rank), 0.2 when it keeps them all (as models of earlier versions)",
       kScorers, true});
  add({"--rx-all-weight", "", T::Text, R::None, "W", "auto", {}, 0, 0,
       "fused: the weight of global RX against every pixel; auto: from the scene's RX kurtosis k (Mardia's; 1 for "
       "a Gaussian background), 0.2 + 200 x max(0, k - 1.2): scenes with pixels far outside the global "
       "distribution lean on RX, heterogeneous ones on the network; on a larger scene per 128-pixel block, with RX "
       "against the block's own background (0 gives the fusion of earlier versions; a number serves every pixel, "
       "against the global background)",
       kScorers, true});
  add({"--rx-purify", "", T::Number, R::None, "F", num(d.rx_purify), {}, 0, 1,
       "when the scores are measured against the scene itself (detect, and apply with statistics from the scene; "
       "train uses the default): global RX's background mean and "
       "covariance leave out this fraction of the pixels, those the network's scaled score ranks highest (0: every "
       "valid pixel, plain global RX)",
       kScorers, true});
  add({"--rx-rank", "", T::Int, R::None, "K", std::to_string(d.rx_rank), {}, 0, 100000,
       "when the scores are measured against the scene itself: the RX term against the purified background "
       "keeps the K leading principal directions of that background (0: all, plain global RX): the trailing ones "
       "are mostly sensor noise, which RX's whitening weighs as much as the signal",
       kScorers, true});
  add({"--stats", "", T::Choice, R::None, "FROM", "model", {"model", "scene"}, 0, 0,
       "what the scores are measured against: model = the training scene's residual spreads, RX background and "
       "score distribution, saved with the model (any window of any scene scores as within the whole; one scale "
       "for a whole campaign); scene = refitted on INPUT as detect does (whole inputs only)",
       {"apply"}, true});
  {
    OptionDef w{"-srcwin", "", T::Text, R::None, "XOFF YOFF XSIZE YSIZE", "", {}, 0, 0,
                "score and write only this window (pixels, as gdal_translate), georeferenced; its halo is read from "
                "around it, so tiles mosaicked with gdalbuildvrt equal the whole-scene output",
                {"apply"}, false, false, true};
    w.words = 4;
    add(w);
  }
  add({"--units", "", T::Choice, R::None, "UNITS", "pfa", {"pfa", "raw"}, 0, 0,
       "pfa (raw when training is faithful): -log10 of the estimated probability that a background pixel scores at least "
       "as high, fitted on the scene itself (2 = 1 in 100, 3 = 1 in 1000 background pixels, in every scene); raw: "
       "the score itself. Same order, so the same AUC",
       kScorers});
  add({"--units", "", T::Choice, R::None, "UNITS", "raw", {"raw", "pfa"}, 0, 0,
       "raw: the squared Mahalanobis distance; pfa: -log10 of the estimated false-alarm probability, as for detect",
       {"rx"}});
  add({"--window", "", T::Text, R::None, "IN,OUT", "", {}, 0, 0,
       "local RX: statistics from the ring between odd windows IN < OUT (e.g. 3,11); default: global RX", {"rx"}});
  // --- extra outputs
  add({"--background", "", T::Text, R::OutRaster, "FILE", "", {}, 0, 0,
       "write the reconstructed background cube (nodata where the input has none to give)", kScorers, true});
  add({"--detections", "", T::Text, R::OutRaster, "FILE", "", {}, 0, 0,
       "write a 0/1 detection mask (Byte, 255 = nodata)", kThresholders});
  add({"--max-pfa", "", T::Number, R::None, "P", "", {}, 0, 0.5,
       "detections: pixels whose estimated false-alarm probability is at most P, e.g. 1e-3 (pfa units)", kThresholds});
  add({"--threshold", "", T::Number, R::None, "X", "", {}, 0, 0, "or: detections are scores >= X (the output's units)",
       kThresholds, true});
  add({"--top-percent", "", T::Number, R::None, "X", "1", {}, 0.0001, 100,
       "or: detections are the top X% of scores (used when neither --max-pfa nor --threshold is given)", kThresholds});
  add({"--vector", "", T::Text, R::OutVector, "FILE", "", {}, 0, 0,
       "polygons of connected detections with pixels, area_m2, peak/mean score, centroid x/y and WGS 84 lon/lat, "
       "placed by the geotransform, else by the GCPs or RPCs (then in lon/lat); any OGR format that writes, by "
       "extension (.gpkg, .geojson, .shp, .fgb, .kml, ...); GeoJSON in WGS 84 lon/lat (RFC 7946)",
       kThresholders});
  add({"-f", "", T::Text, R::None, "FORMAT", "", {}, 0, 0,
       "OGR format of --vector (default: from its extension, as ogr2ogr)", kThresholders, false, false, true});
  add({"-lco", "", T::Text, R::None, "NAME=VALUE", "", {}, 0, 0, "OGR layer creation option of --vector",
       kThresholders, false, true, true});
  add({"-nln", "", T::Text, R::None, "NAME", "", {}, 0, 0, "layer name of --vector (default: detections)",
       kThresholders, true});
  add({"--quicklook", "", T::Text, R::OutFile, "FILE", "", {}, 0, 0,
       "PNG: true-colour input (640/550/460 nm) beside the score map; an input without wavelengths gives a "
       "false-colour composite, and the command says which bands", kScorers, true});
  // --- evaluate, synth
  add({"--json", "", T::Flag, R::None, "", "", {}, 0, 0,
       "print the results as JSON and nothing else on stdout (evaluate: its figures; detect, apply, rx: outputs, "
       "seconds, AUC against a truth, units, calibration, fusion choice, detections)",
       {"evaluate", "detect", "apply", "rx"}, false, false, true});
  add({"--roc", "", T::Text, R::OutFile, "FILE.csv", "", {}, 0, 0, "write the ROC curve (tau, pd, pf)", {"evaluate"}});
  add({"--plot", "", T::Text, R::OutFile, "FILE.svg", "", {}, 0, 0,
       "SVG: the ROC curve, and for pfa scores the observed against the nominal false-alarm rate", {"evaluate"}});
  add({"--size", "", T::Int, R::None, "N", "100", {}, 16, 4096, "scene edge in pixels", {"synth"}});
  add({"--bands", "", T::Int, R::None, "N", "60", {}, 8, 1000, "bands", {"synth"}});
  add({"--seed", "", T::Int, R::None, "N", "2023", {}, 0, 2147483647, "random seed", {"synth"}});
  return v;
}

// Short titles (QGIS parameter labels), declared here rather than cut from
// the help. "NAME@COMMAND" where one name means two things.
const std::map<std::string, std::string> kLabels = {
    {"-b", "Bands"}, {"--keep-bad-bands", "Keep bands marked bad (bbl)"}, {"-oo", "GDAL open option"},
    {"--nodata", "Input nodata value"}, {"--mask", "Mask (0 = leave out)"}, {"--truth", "Ground truth"},
    {"-of", "Output format"}, {"-co", "Creation option"}, {"--overwrite", "Overwrite"}, {"-q", "Quiet"},
    {"--verbose", "Print the training loss"}, {"--protocol", "Protocol"}, {"--mode", "Training mode"},
    {"--steps", "Training steps (fast mode; 0: auto)"}, {"--epochs", "Epochs (faithful mode)"},
    {"--batch-size", "Batch size (faithful mode)"}, {"--lr", "Learning rate"}, {"--patch", "Blind-spot patch size"},
    {"--ratio", "Share of pixels kept visible"}, {"--window", "Replacement window"},
    {"--window@rx", "Local RX windows (inner,outer)"}, {"--fixed-masks", "Draw blind spots once"},
    {"--features", "Feature maps"}, {"--blocks", "Residual blocks"}, {"--norm", "Normalisation layers"},
    {"--normalize", "Input scaling"}, {"--tile", "Training tile size"}, {"--seed", "Random seed"},
    {"--save-model", "Save the trained model"}, {"--device", "Device"}, {"--threads", "CPU threads"},
    {"--max-memory", "Memory budget"}, {"--stream", "Stream the scene"}, {"--deterministic", "Deterministic CUDA"},
    {"--no-cuda-graph", "No CUDA graph"}, {"--amp", "Mixed precision (CUDA)"}, {"--score", "Score"},
    {"--rx-weight", "RX weight (purified background)"}, {"--rx-all-weight", "RX weight (every pixel)"},
    {"--rx-purify", "RX background purification"}, {"--rx-rank", "RX principal directions kept"},
    {"--stats", "Statistics from"}, {"--units", "Units"},
    {"--background", "Background cube"}, {"--detections", "Detection mask"},
    {"--max-pfa", "Maximum false-alarm probability"}, {"--threshold", "Score threshold"},
    {"--top-percent", "Top percent of scores"}, {"--vector", "Detection polygons"}, {"--quicklook", "Quicklook"},
    {"--json", "JSON"}, {"--roc", "ROC table (CSV)"}, {"--plot", "ROC plot (SVG)"}, {"--size", "Scene size"},
    {"--bands@synth", "Bands"}, {"-srcwin", "Source window"}, {"-f", "Vector format"}, {"-lco", "Layer creation option"},
    {"-nln", "Layer name"}};

std::vector<CommandDef> build_commands() {
  const Positional in{"INPUT", Role::InRaster, "hyperspectral cube (ENVI, GeoTIFF, .mat, any GDAL raster)",
                      "Hyperspectral cube"};
  const Positional out{"OUTPUT", Role::OutRaster, "anomaly scores", "Anomaly scores"};
  return {
      {"detect", "train BS3LNet on INPUT (self-supervised) and write its anomaly scores", {in, out}},
      {"train", "train BS3LNet on INPUT and save the model", {in, {"MODEL", Role::OutFile, "model (.pt)", "Model"}}},
      {"apply", "score INPUT with a saved model (same bands as it was trained on)",
       {{"MODEL", Role::InFile, "model (.pt)", "Model"}, in, out}},
      {"rx", "global RX (Mahalanobis distance to the scene mean), or local dual-window RX with --window",
       {in, {"OUTPUT", Role::OutRaster, "RX scores", "RX scores"}}},
      {"evaluate", "ROC AUC(D,F), 3-D ROC areas AUC(D,tau), AUC(F,tau) and TD, BS, SNPR, ODP, OA; for pfa scores the "
                   "observed background false-alarm rate at nominal 1e-1, 1e-2, 1e-3",
       {{"SCORES", Role::InRaster, "anomaly scores", "Anomaly scores"},
        {"TRUTH", Role::InRaster, "ground truth (nonzero = anomaly)", "Ground truth"}}},
      {"info", "size, bands, wavelengths, georeferencing and valid pixels of a cube", {in}},
      {"threshold", "detections (--detections, --vector) from a score raster already written, without training again",
       {{"SCORES", Role::InRaster, "anomaly scores (from detect, apply or rx)", "Anomaly scores"}}},
      {"synth", "write the synthetic sample scene (ENVI, GeoTIFF, .mat and truth) into FOLDER",
       {{"FOLDER", Role::OutFolder, "output folder", "Output folder"}}},
  };
}

// Words wrapped to `width` columns, continuation lines indented by `indent`.
std::string wrap(const std::string &text, size_t indent, size_t first, size_t width = 100) {
  std::istringstream in(text);
  std::string word, out;
  size_t col = first;
  bool start = true;
  while (in >> word) {
    if (!start && col + 1 + word.size() > width) out += "\n" + std::string(indent, ' '), col = indent, start = true;
    out += (start ? "" : " ") + word;
    col += (start ? 0 : 1) + word.size();
    start = false;
  }
  return out;
}


const char *type_name(Type t) {
  switch (t) {
    case Type::Flag: return "flag";
    case Type::Int: return "integer";
    case Type::Number: return "number";
    case Type::Text: return "string";
    case Type::Choice: return "choice";
  }
  return "?";
}

const char *role_name(Role r) {
  switch (r) {
    case Role::None: return "";
    case Role::InRaster: return "input_raster";
    case Role::InFile: return "input_file";
    case Role::OutRaster: return "output_raster";
    case Role::OutVector: return "output_vector";
    case Role::OutFile: return "output_file";
    case Role::OutFolder: return "output_folder";
  }
  return "";
}

}  // namespace

std::vector<OptionDef> labelled(std::vector<OptionDef> v) {
  for (OptionDef &o : v) {
    auto it = kLabels.find(o.name + "@" + o.commands.front());
    if (it == kLabels.end()) it = kLabels.find(o.name);
    if (it == kLabels.end()) throw Error("option " + o.name + " has no label (options.cpp, kLabels)");
    o.label = it->second;
  }
  return v;
}

const std::vector<OptionDef> &option_table() {
  static const std::vector<OptionDef> t = labelled(build());
  return t;
}

const std::vector<CommandDef> &command_table() {
  static const std::vector<CommandDef> t = build_commands();
  return t;
}

const CommandDef *find_command(const std::string &name) {
  for (const CommandDef &c : command_table())
    if (c.name == name) return &c;
  return nullptr;
}

std::vector<const OptionDef *> options_of(const std::string &command) {
  std::vector<const OptionDef *> out;
  for (const OptionDef &o : option_table())
    if (std::find(o.commands.begin(), o.commands.end(), command) != o.commands.end()) out.push_back(&o);
  return out;
}

std::string qgis_name(const OptionDef &o) {
  if (!o.qgis_name.empty()) return o.qgis_name;
  std::string n = o.name.substr(o.name.find_first_not_of('-'));
  for (char &c : n) c = c == '-' ? '_' : char(std::toupper(static_cast<unsigned char>(c)));
  return n;
}

ArgSpec spec_of(const std::string &command) {
  ArgSpec s;
  for (const OptionDef *o : options_of(command)) {
    for (const std::string &n : {o->name, o->alias}) {
      if (n.empty()) continue;
      (o->type == Type::Flag ? s.flags : s.with_value).insert(n);
      if (o->type != Type::Flag && !o->fallback.empty()) s.defaults[n] = o->fallback;
      if (!o->alias.empty()) s.canonical[n] = o->name;
      if (o->words > 1) s.arity[n] = o->words;
    }
  }
  if (const CommandDef *c = find_command(command)) s.min_positional = s.max_positional = int(c->positionals.size());
  return s;
}

std::string usage(const std::string &command) {
  const CommandDef *c = find_command(command);
  if (!c) {
    std::string s = "Usage: bs3lnet COMMAND [options]   (bs3lnet COMMAND --help for details)\n\nCommands:\n";
    for (const CommandDef &d : command_table()) {
      std::string head = "  " + d.name;
      for (const Positional &p : d.positionals) head += " " + p.name;
      head.resize(std::max<size_t>(head.size() + 2, 29), ' ');
      s += head + wrap(d.summary, 29, head.size()) + "\n";
    }
    return s + "\nGDAL general options: --config KEY VALUE, --debug on|off, --formats, --version, --help-general\n"
               "Every command: --help, --json-usage (its options as JSON)\n";
  }
  std::string s = "Usage: bs3lnet " + c->name;
  for (const Positional &p : c->positionals) s += " " + p.name;
  s += " [options]\n" + wrap(std::string(1, char(std::toupper(c->summary[0]))) + c->summary.substr(1) + ".", 0, 0) +
       "\n";
  for (bool advanced : {false, true}) {
    std::string block;
    for (const OptionDef *o : options_of(command)) {
      if (o->advanced != advanced) continue;
      std::string head = "  " + o->name + (o->alias.empty() ? "" : ", " + o->alias);
      if (o->type == Type::Choice) {
        std::string ch;
        for (const std::string &x : o->choices) ch += (ch.empty() ? "" : "|") + x;
        head += " " + ch;
      } else if (o->type != Type::Flag) {
        head += " " + o->metavar;
      }
      head += head.size() < 21 ? std::string(21 - head.size(), ' ') : "\n" + std::string(21, ' ');
      std::string help = o->help;
      if (!o->fallback.empty() && help.find("(default") == std::string::npos) help += " (default " + o->fallback + ")";
      if (o->repeatable) help += "; repeatable";
      block += head + wrap(help, 21, 21) + "\n";
    }
    if (!block.empty()) s += std::string(advanced ? "\nAdvanced options:\n" : "\nOptions:\n") + block;
  }
  return s;
}

std::string json_usage(const std::string &command) {
  const CommandDef *c = find_command(command);
  if (!c) return "{}\n";
  using J = nlohmann::ordered_json;
  J usage = {{"command", c->name}, {"description", c->summary}, {"positional", J::array()}, {"options", J::array()}};
  for (const Positional &p : c->positionals)
    usage["positional"].push_back({{"name", p.name}, {"role", role_name(p.role)}, {"help", p.help}, {"label", p.label}});
  for (const OptionDef *o : options_of(command)) {
    J j = {{"name", o->name}};
    if (!o->alias.empty()) j["aliases"] = {o->alias};
    j["type"] = type_name(o->type);
    if (o->words > 1) j["words"] = o->words;
    if (o->role != Role::None) j["role"] = role_name(o->role);
    if (!o->fallback.empty()) {
      if (o->type == Type::Int || o->type == Type::Number) j["default"] = J::parse(o->fallback);
      else j["default"] = o->fallback;
    }
    if (!o->choices.empty()) j["choices"] = o->choices;
    if (o->min < o->max) j["min"] = o->min, j["max"] = o->max;
    j["help"] = o->help, j["label"] = o->label, j["group"] = o->advanced ? "advanced" : "basic";
    j["repeatable"] = o->repeatable, j["shell_only"] = o->shell_only, j["qgis_name"] = qgis_name(*o);
    usage["options"].push_back(j);
  }
  return usage.dump(1) + "\n";
}

}  // namespace bs3l::app
