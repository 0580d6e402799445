// bs3l_raw: the core without GDAL, PROJ or matio, for machines that have only
// LibTorch (e.g. a GPU box). Cubes are raw little-endian float32,
// band-sequential: bands x rows x cols, row-major within a band; truth maps
// are raw uint8 rows x cols (nonzero = anomaly).
//
//   bs3l_raw synth DIR [--size N] [--bands N] [--seed N]
//       writes DIR/cube.f32, DIR/truth.u8 and DIR/shape.txt ("bands rows cols")
//   bs3l_raw detect CUBE.f32 BANDS ROWS COLS [SCORES.f32] [--truth T.u8]
//       [the training options of `bs3lnet detect`, e.g. --protocol paper,
//        --mode, --epochs, --steps, --seed, --device, --threads, --amp]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "args.h"
#include "bs3l/bs3lnet.h"
#include "bs3l/metrics.h"
#include "bs3l/synthetic.h"
#include "options.h"
#include "train_args.h"

namespace {

using Clock = std::chrono::steady_clock;

template <typename T>
std::vector<T> read_raw(const std::string &path, size_t count) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw bs3l::Error("cannot open '" + path + "'");
  std::vector<T> v(count);
  f.read(reinterpret_cast<char *>(v.data()), std::streamsize(count * sizeof(T)));
  if (f.gcount() != std::streamsize(count * sizeof(T)) || f.peek() != EOF)
    throw bs3l::Error("'" + path + "' does not hold exactly " + std::to_string(count * sizeof(T)) + " bytes");
  return v;
}

template <typename T>
void write_raw(const std::string &path, const std::vector<T> &v) {
  std::ofstream f(path, std::ios::binary);
  f.write(reinterpret_cast<const char *>(v.data()), std::streamsize(v.size() * sizeof(T)));
  if (!f) throw bs3l::Error("cannot write '" + path + "'");
}

// The command's own grammar and defaults (plugin/src/options.cpp), with this
// tool's positional arguments.
bs3l::app::Args parse(const char *command, int argc, char **argv, int min_pos, int max_pos) {
  bs3l::app::ArgSpec spec = bs3l::app::spec_of(command);
  spec.min_positional = min_pos, spec.max_positional = max_pos;
  return bs3l::app::Args(command, std::vector<std::string>(argv + 2, argv + argc), spec);
}

int synth(int argc, char **argv) {
  const bs3l::app::Args a = parse("synth", argc, argv, 1, 1);
  const std::vector<std::string> &pos = a.positional();
  const int n = a.get_int("--size"), bands = a.get_int("--bands");
  const bs3l::SyntheticScene s = bs3l::make_scene(n, bands, uint64_t(a.get_int("--seed")));
  std::vector<float> cube(s.data.size());
  for (size_t i = 0; i < cube.size(); ++i) cube[i] = s.data[i] * 1e-4f;  // reflectance
  write_raw(pos[0] + "/cube.f32", cube);
  write_raw(pos[0] + "/truth.u8", s.truth);
  std::ofstream(pos[0] + "/shape.txt") << bands << ' ' << n << ' ' << n << '\n';
  std::printf("wrote %s/cube.f32 (%d bands x %d x %d) and truth.u8\n", pos[0].c_str(), bands, n, n);
  return 0;
}

int detect(int argc, char **argv) {
  const bs3l::app::Args a = parse("detect", argc, argv, 4, 5);
  const std::vector<std::string> &pos = a.positional();
  bs3l::Cube cube(std::atoi(pos[1].c_str()), std::atoi(pos[2].c_str()), std::atoi(pos[3].c_str()));
  if (cube.bands < 2 || cube.rows < 1 || cube.cols < 1) throw bs3l::Error("BANDS ROWS COLS must be positive (BANDS >= 2)");
  cube.data = read_raw<float>(pos[0], cube.data.size());
  std::string notice;
  bs3l::TrainOptions t = bs3l::app::train_options_of(a, &notice);
  if (!notice.empty()) std::fprintf(stderr, "%s\n", notice.c_str());
  const std::string mode = t.mode == bs3l::TrainMode::Fast ? "fast" : "faithful";
  const auto t0 = Clock::now();
  bs3l::Model m = bs3l::train(cube, t);
  const auto t1 = Clock::now();
  bs3l::DetectOptions d;
  d.amp = t.amp;
  const bs3l::Detection det = bs3l::detect(m, cube, d);
  const auto t2 = Clock::now();
  const double train_s = std::chrono::duration<double>(t1 - t0).count(), detect_s = std::chrono::duration<double>(t2 - t1).count();
  // What ran, not what was asked for: the steps the model counted as graph replays.
  const std::string graphed =
      m.graph_steps() > 0 ? "  (CUDA graph: " + std::to_string(m.graph_steps()) + " steps replayed)" : "";
  std::printf("device %s  mode %s  %s %d  train %.1f s  detect %.2f s%s%s\n", t.device.c_str(), mode.c_str(),
              mode == "fast" ? "steps" : "epochs", mode == "fast" ? bs3l::fast_steps(t, cube.rows, cube.cols) : t.epochs,
              train_s, detect_s,
              t.amp ? "  (bf16 autocast)" : "", graphed.c_str());
  if (pos.size() == 5) write_raw(pos[4], det.score);
  if (a.has("--truth")) {
    const std::vector<uint8_t> truth = read_raw<uint8_t>(a.get("--truth"), cube.pixels());
    std::vector<int8_t> labels(truth.begin(), truth.end());
    for (int8_t &l : labels) l = l != 0;
    std::printf("AUC %.4f\n", bs3l::roc_auc(det.score, labels));
  }
  return 0;
}

}  // namespace

int main(int argc, char **argv) {
  try {
    const std::string cmd = argc > 1 ? argv[1] : "";
    if (cmd == "synth") return synth(argc, argv);
    if (cmd == "detect") return detect(argc, argv);
    std::fprintf(stderr, "usage: bs3l_raw synth DIR ... | bs3l_raw detect CUBE.f32 BANDS ROWS COLS ... (see the source header)\n");
    return 1;
  } catch (const std::exception &e) {
    std::fprintf(stderr, "ERROR: %s\n", e.what());
    return 1;
  }
}
