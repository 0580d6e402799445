// The typed job of every command from its command line: the one place the
// parsed argument map is read. Each command is then one library call
// (jobs.h), with the terminal's bar where it has one.
#include <cstdio>
#include <utility>

#include "args.h"
#include "commands.h"
#include "detections.h"
#include "input.h"
#include "jobs.h"
#include "options.h"
#include "progress.h"
#include "train_args.h"

namespace bs3l::app {
namespace {

// --json: the result is the only thing on stdout.
bool quiet(const Args &a) { return a.flag("-q") || a.flag("--quiet") || a.flag("--json"); }

RunOptions run_options(const Args &a) {
  RunOptions r;
  r.quiet = quiet(a), r.verbose = a.flag("--verbose"), r.json = a.flag("--json");
  r.threads = a.get_int("--threads", 0);
  if (r.threads < 0) throw Error("--threads must be 0 (all cores) or more");
  if (a.has("--max-memory")) r.max_memory = parse_size(a.get("--max-memory"));
  r.stream = a.flag("--stream");
  r.device_given = a.has("--device");
  return r;
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

// One of --max-pfa, --threshold and --top-percent (default: the top 1%).
Threshold threshold_of(const Args &a) {
  Threshold t;
  if (a.has("--max-pfa")) {
    if (a.has("--threshold") || a.has("--top-percent")) throw Error("give one of --max-pfa, --threshold and --top-percent");
    t.kind = Threshold::MaxPfa, t.value = a.get_double("--max-pfa", 0);
    if (!(t.value > 0 && t.value < 1)) throw Error("--max-pfa must be in (0, 1), e.g. 1e-3");
    return t;
  }
  if (a.has("--threshold") && a.has("--top-percent")) throw Error("give one of --threshold and --top-percent");
  if (a.has("--threshold")) {
    t.kind = Threshold::Value, t.value = a.get_double("--threshold", 0);
    return t;
  }
  t.value = a.get_double("--top-percent", 1);
  if (!(t.value > 0 && t.value <= 100)) throw Error("--top-percent must be in (0, 100]");
  return t;
}

// The outputs named on the command line; `scores` is the positional one.
Outputs outputs_of(const Args &a, const std::string &scores) {
  Outputs o;
  o.scores = scores;
  o.model = a.get("--save-model");
  o.background = a.get("--background");
  o.detections = a.get("--detections");
  o.vector = a.get("--vector");
  o.quicklook = a.get("--quicklook");
  o.write.format = a.get("-of");
  o.write.creation_options = a.all("-co");
  o.write.overwrite = a.flag("--overwrite");
  o.vector_options = {a.get("-f"), a.all("-lco"), a.get("-nln")};
  o.threshold = threshold_of(a);
  return o;
}

// --units as typed or the command's default; the paper's protocol writes
// raw scores unless told otherwise.
bool pfa_of(const Args &a, bool faithful) {
  const std::string u = faithful && !a.has("--units") ? "raw" : a.get("--units");
  if (u != "pfa" && u != "raw") throw Error("unknown --units '" + u + "' (use pfa or raw)");
  return u == "pfa";
}

// The paper's protocol scores with the paper's mse unless told otherwise.
DetectOptions detect_options(const Args &a, bool faithful) {
  DetectOptions d;
  d.want_background = a.has("--background");
  d.amp = a.flag("--amp");
  d.score = faithful && !a.has("--score") ? Score::Mse : parse_score(a.get("--score"));
  if (a.has("--rx-weight") && a.get("--rx-weight") != "auto") {
    d.rx_weight = a.get_double("--rx-weight", 0);
    if (!(d.rx_weight >= 0 && d.rx_weight <= 1e6)) throw Error("--rx-weight must be auto or in [0, 1e6]");
  }
  d.rx_rank = a.get_int("--rx-rank", d.rx_rank);
  if (d.rx_rank < 0) throw Error("--rx-rank must be 0 or more");
  d.rx_purify = a.get_double("--rx-purify", d.rx_purify);
  if (!(d.rx_purify >= 0 && d.rx_purify < 1)) throw Error("--rx-purify must be in [0, 1)");
  if (a.has("--rx-all-weight") && a.get("--rx-all-weight") != "auto") {
    d.rx_all_weight = a.get_double("--rx-all-weight", 0);
    if (!(d.rx_all_weight >= 0 && d.rx_all_weight <= 1e6)) throw Error("--rx-all-weight must be auto or in [0, 1e6]");
  }
  return d;
}

// The parts every scene job shares, then its library call with the
// terminal's bar, unless -q, --json or --verbose (loss lines then).
template <class Job>
int run_scene_job(Job &job, const Args &a, const std::string &input, Outputs out,
                  int (*run)(const Job &, GDALProgressFunc, void *)) {
  job.input = input, job.truth = a.get("--truth");
  job.read = read_options(a), job.run = run_options(a), job.out = std::move(out);
  bool draw = !job.run.quiet && !job.run.verbose;
  return run(job, cli_progress, &draw);
}

}  // namespace

int cmd_detect(const Argv &argv) {
  const Args a("detect", argv, spec_of("detect"));
  DetectJob job;
  job.train = train_options_of(a, &job.device_notice);
  const bool faithful = job.train.mode == TrainMode::Faithful;
  job.detect = detect_options(a, faithful);
  job.pfa = pfa_of(a, faithful);
  return run_scene_job(job, a, a.positional()[0], outputs_of(a, a.positional()[1]), detect_run);
}

int cmd_train(const Argv &argv) {
  const Args a("train", argv, spec_of("train"));
  TrainJob job;
  job.train = train_options_of(a, &job.device_notice);
  Outputs out = outputs_of(a, "");
  out.model = a.positional()[1];
  return run_scene_job(job, a, a.positional()[0], out, train_run);
}

int cmd_apply(const Argv &argv) {
  const Args a("apply", argv, spec_of("apply"));
  ApplyJob job;
  job.model = a.positional()[0], job.device = a.get("--device"), job.srcwin = a.get("-srcwin");
  job.detect = detect_options(a, false);
  job.score_given = a.has("--score"), job.units_given = a.has("--units");
  job.pfa = pfa_of(a, false);
  const std::string stats = a.get("--stats");
  if (stats != "model" && stats != "scene") throw Error("unknown --stats '" + stats + "' (use model or scene)");
  job.stats_scene = stats == "scene";
  return run_scene_job(job, a, a.positional()[1], outputs_of(a, a.positional()[2]), apply_run);
}

int cmd_rx(const Argv &argv) {
  const Args a("rx", argv, spec_of("rx"));
  RxJob job;
  job.pfa = pfa_of(a, false);  // rx: raw by default (the option table)
  if (a.has("--window")) {
    char extra = 0;
    if (std::sscanf(a.get("--window").c_str(), "%d,%d%c", &job.inner, &job.outer, &extra) != 2 || job.inner < 1 ||
        job.outer <= job.inner || job.inner % 2 == 0 || job.outer % 2 == 0)
      throw Error("--window wants two odd sizes INNER,OUTER with INNER < OUTER, e.g. 3,11");
  }
  return run_scene_job(job, a, a.positional()[0], outputs_of(a, a.positional()[1]), rx_run);
}

int cmd_threshold(const Argv &argv) {
  const Args a("threshold", argv, spec_of("threshold"));
  ThresholdJob job;
  job.scores = a.positional()[0];
  job.quiet = quiet(a);
  if (!a.has("--detections") && !a.has("--vector")) throw Error("give --detections FILE, --vector FILE or both");
  job.out = outputs_of(a, "");
  bool draw = !job.quiet;
  return threshold_run(job, cli_progress, &draw);
}

int cmd_evaluate(const Argv &argv) {
  const Args a("evaluate", argv, spec_of("evaluate"));
  EvaluateJob job;
  job.scores = a.positional()[0], job.truth = a.positional()[1];
  job.roc = a.get("--roc"), job.plot = a.get("--plot");
  job.overwrite = a.flag("--overwrite"), job.json = a.flag("--json");
  job.threshold = threshold_of(a);
  return evaluate_run(job);
}

int cmd_info(const Argv &argv) {
  const Args a("info", argv, spec_of("info"));
  return info_run(InfoJob{a.positional()[0], read_options(a)});
}

int cmd_synth(const Argv &argv) {
  const Args a("synth", argv, spec_of("synth"));
  SynthJob job;
  job.folder = a.positional()[0];
  job.size = a.get_int("--size"), job.bands = a.get_int("--bands"), job.seed = a.get_int("--seed");
  job.overwrite = a.flag("--overwrite"), job.quiet = quiet(a);
  return synth_run(job);
}

}  // namespace bs3l::app
