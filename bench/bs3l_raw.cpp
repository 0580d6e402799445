// bs3l_raw: the core without GDAL, PROJ or matio, for machines that have only
// LibTorch (e.g. a GPU box). Cubes are raw little-endian float32,
// band-sequential: bands x rows x cols, row-major within a band; truth maps
// are raw uint8 rows x cols (nonzero = anomaly).
//
//   bs3l_raw synth DIR [--size N] [--bands N] [--seed N]
//       writes DIR/cube.f32, DIR/truth.u8 and DIR/shape.txt ("bands rows cols")
//   bs3l_raw detect CUBE.f32 BANDS ROWS COLS [SCORES.f32] [--truth T.u8]
//       [--mode fast|faithful] [--epochs N] [--steps N] [--seed N]
//       [--device auto|cpu|cuda[:N]] [--threads N] [--amp] [--deterministic]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "bs3l/bs3lnet.h"
#include "bs3l/metrics.h"
#include "bs3l/synthetic.h"

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

// --name value / --flag options after the positional arguments.
std::map<std::string, std::string> options(int argc, char **argv, int first, std::vector<std::string> &pos) {
  std::map<std::string, std::string> o;
  for (int i = first; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--amp" || a == "--deterministic") o[a] = "1";
    else if (a.rfind("--", 0) == 0 && i + 1 < argc) o[a] = argv[++i];
    else if (a.rfind("--", 0) == 0) throw bs3l::Error("option " + a + " needs a value");
    else pos.push_back(a);
  }
  return o;
}

int to_int(const std::map<std::string, std::string> &o, const std::string &k, int def) {
  auto it = o.find(k);
  if (it == o.end()) return def;
  char *end = nullptr;
  const long v = std::strtol(it->second.c_str(), &end, 10);
  if (*end || end == it->second.c_str()) throw bs3l::Error(k + " wants an integer, not '" + it->second + "'");
  return int(v);
}

int synth(int argc, char **argv) {
  std::vector<std::string> pos;
  auto o = options(argc, argv, 2, pos);
  if (pos.size() != 1) throw bs3l::Error("usage: bs3l_raw synth DIR [--size N] [--bands N] [--seed N]");
  const int n = to_int(o, "--size", 100), bands = to_int(o, "--bands", 189);
  const bs3l::SyntheticScene s = bs3l::make_scene(n, bands, uint64_t(to_int(o, "--seed", 2023)));
  std::vector<float> cube(s.data.size());
  for (size_t i = 0; i < cube.size(); ++i) cube[i] = s.data[i] * 1e-4f;  // reflectance
  write_raw(pos[0] + "/cube.f32", cube);
  write_raw(pos[0] + "/truth.u8", s.truth);
  std::ofstream(pos[0] + "/shape.txt") << bands << ' ' << n << ' ' << n << '\n';
  std::printf("wrote %s/cube.f32 (%d bands x %d x %d) and truth.u8\n", pos[0].c_str(), bands, n, n);
  return 0;
}

int detect(int argc, char **argv) {
  std::vector<std::string> pos;
  auto o = options(argc, argv, 2, pos);
  if (pos.size() < 4 || pos.size() > 5)
    throw bs3l::Error("usage: bs3l_raw detect CUBE.f32 BANDS ROWS COLS [SCORES.f32] [options]");
  bs3l::Cube cube(std::atoi(pos[1].c_str()), std::atoi(pos[2].c_str()), std::atoi(pos[3].c_str()));
  if (cube.bands < 2 || cube.rows < 1 || cube.cols < 1) throw bs3l::Error("BANDS ROWS COLS must be positive (BANDS >= 2)");
  cube.data = read_raw<float>(pos[0], cube.data.size());
  bs3l::TrainOptions t;
  const std::string mode = o.count("--mode") ? o["--mode"] : "fast";
  if (mode != "fast" && mode != "faithful") throw bs3l::Error("--mode must be fast or faithful");
  t.mode = mode == "faithful" ? bs3l::TrainMode::Faithful : bs3l::TrainMode::Fast;
  t.epochs = to_int(o, "--epochs", t.epochs);
  t.steps = to_int(o, "--steps", t.steps);
  t.seed = uint64_t(to_int(o, "--seed", 1));
  t.threads = to_int(o, "--threads", 0);
  if (t.mode == bs3l::TrainMode::Faithful) t.normalize = bs3l::Normalize::None;  // as the official code
  std::string notice;
  t.device = bs3l::resolve_device(o.count("--device") ? o["--device"] : "auto", &notice);
  if (!notice.empty()) std::fprintf(stderr, "%s\n", notice.c_str());
  t.amp = o.count("--amp") > 0;
  t.deterministic = o.count("--deterministic") > 0;
  const auto t0 = Clock::now();
  bs3l::Model m = bs3l::train(cube, t);
  const auto t1 = Clock::now();
  bs3l::DetectOptions d;
  d.amp = t.amp;
  const bs3l::Detection det = bs3l::detect(m, cube, d);
  const auto t2 = Clock::now();
  const double train_s = std::chrono::duration<double>(t1 - t0).count(), detect_s = std::chrono::duration<double>(t2 - t1).count();
  std::printf("device %s  mode %s  %s %d  train %.1f s  detect %.2f s%s\n", t.device.c_str(), mode.c_str(),
              mode == "fast" ? "steps" : "epochs", mode == "fast" ? t.steps : t.epochs, train_s, detect_s,
              t.amp ? "  (bf16 autocast)" : "");
  if (pos.size() == 5) write_raw(pos[4], det.score);
  if (o.count("--truth")) {
    const std::vector<uint8_t> truth = read_raw<uint8_t>(o["--truth"], cube.pixels());
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
