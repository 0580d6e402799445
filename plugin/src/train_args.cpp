// A command line's training options (GDAL-free: bs3l_raw uses it too).
#include "train_args.h"

namespace bs3l::app {

TrainOptions train_options_of(const Args &a, std::string *notice) {
  TrainOptions o;
  const std::string protocol = a.get("--protocol");
  if (!protocol.empty() && protocol != "paper") throw Error("unknown --protocol '" + protocol + "' (use paper)");
  const bool paper = protocol == "paper";
  if (paper && a.has("--mode") && a.get("--mode") != "faithful")
    throw Error("--protocol paper is the faithful mode; drop --mode " + a.get("--mode"));
  const std::string mode = paper ? "faithful" : a.get("--mode");
  if (mode == "faithful") o.mode = TrainMode::Faithful;
  else if (mode != "fast") throw Error("unknown --mode '" + mode + "' (use fast or faithful)");
  if (a.has("--epochs") && o.mode != TrainMode::Faithful)
    throw Error("--epochs applies to --mode faithful; the fast mode counts --steps");
  o.epochs = a.get_int("--epochs", o.epochs);
  o.steps = a.get_int("--steps", o.steps);
  o.batch_size = a.get_int("--batch-size", o.batch_size);
  if (o.mode == TrainMode::Faithful) o.lr = a.get_double("--lr", o.lr);
  else o.fast_lr = a.get_double("--lr", o.fast_lr);
  o.patch = a.get_int("--patch", o.patch);
  o.ratio = a.get_double("--ratio", o.ratio);
  o.window = a.get_int("--window", o.window);
  o.model.features = a.get_int("--features", o.model.features);
  o.model.blocks = a.get_int("--blocks", o.model.blocks);
  const std::string norm = a.get("--norm");
  if (norm != "batch" && norm != "instance") throw Error("unknown --norm '" + norm + "' (use batch or instance)");
  o.model.instance_norm = norm == "instance";
  const int seed = a.get_int("--seed");
  if (seed < 0) throw Error("--seed must be non-negative");
  o.seed = uint64_t(seed);
  o.threads = a.get_int("--threads");
  if (o.threads < 0) throw Error("--threads must be 0 (all cores) or more");
  o.tile = a.get_int("--tile", o.tile);
  // The paper's protocol: raw values and masks drawn once; the rest are the
  // faithful defaults (TrainOptions). Options given explicitly still apply.
  o.normalize = parse_normalize(paper && !a.has("--normalize") ? "none" : a.get("--normalize"));
  o.fixed_masks = paper || a.flag("--fixed-masks");
  o.deterministic = a.flag("--deterministic");
  o.amp = a.flag("--amp");
  o.cuda_graph = !a.flag("--no-cuda-graph");
  if (o.patch < 3 || o.patch % 2 == 0) throw Error("--patch must be odd and at least 3");
  if (o.window < 2) throw Error("--window must be at least 2");
  if (!(o.ratio >= 0 && o.ratio < 1)) throw Error("--ratio must be in [0, 1)");
  if (o.epochs < 1 || o.batch_size < 1) throw Error("--epochs and --batch-size must be positive");
  if (o.steps < 0) throw Error("--steps must be 0 (auto) or positive");
  if (o.model.features < 1 || o.model.blocks < 0) throw Error("--features must be positive and --blocks non-negative");
  o.device = resolve_device(a.get("--device"), notice);
  if (o.amp && o.device.rfind("cuda", 0) != 0) throw Error("--amp (bf16 autocast) needs a CUDA device");
  return o;
}

}  // namespace bs3l::app
