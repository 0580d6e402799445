// BS3LNet: train the blind-spot network on one scene and score every pixel.
// Torch-free interface; the network itself is in model.h.
#pragma once
#include <functional>
#include <memory>
#include <string>

#include "bs3l/cube.h"
#include "bs3l/score.h"

namespace bs3l {

struct ModelConfig {
  int bands = 0;
  int features = 64;
  int blocks = 2;
  bool instance_norm = false;  // false: batch norm, as the paper
};

enum class TrainMode {
  Faithful,  // the paper's protocol: 19x19 patches, one per pixel and epoch
  Fast       // whole-scene/tile passes with many blind spots each step
};

// Called during training with the fraction done and the latest loss;
// returning false cancels (train() then throws Cancelled).
using Progress = std::function<bool(double fraction, double loss)>;

struct Cancelled : Error {
  Cancelled() : Error("cancelled") {}
};

struct TrainOptions {
  TrainMode mode = TrainMode::Fast;
  ModelConfig model;  // bands taken from the cube
  Normalize normalize = Normalize::MinMax;
  // Optimiser (paper: Adam, lr 1e-4, betas 0.5/0.999, weight decay 1e-5).
  double lr = 1e-4, beta1 = 0.5, beta2 = 0.999, weight_decay = 1e-5;
  // Blind spots (paper: 19x19 patch, ratio 0.9 -> 37 spots, 5x5 window).
  int patch = 19;
  double ratio = 0.9;
  int window = 5;
  // Faithful mode.
  int epochs = 1000;
  int batch_size = 100;
  bool fixed_masks = false;  // the official code draws masks once
  // Fast mode.
  int steps = 0;  // 0: auto, see fast_steps
  double fast_lr = 5e-4;  // peak of the cosine schedule (bench: beats 1e-3 on the mean)
  int tile = 128;          // training tile edge; whole scene if smaller
  // Common.
  uint64_t seed = 1;
  int threads = 0;             // 0: all cores
  std::string device = "cpu";  // cpu, cuda, cuda:N, auto
  bool deterministic = false;  // also cuDNN's deterministic algorithms
  bool amp = false;            // CUDA only: bf16 autocast for the forward passes
  bool cuda_graph = true;      // CUDA, faithful mode, no amp: replay each step as a CUDA graph
  Progress progress;
};

// Pixels on each side that a pixel's output depends on (the halo a window
// is read with).
int receptive_radius(const ModelConfig &config);

// The fast mode's training steps on a rows x cols scene: o.steps when set;
// else as many as give each pixel the visits of 300 steps on a scene within
// one tile (300 x scene area / tile area), at most kMaxAutoSteps. A scene
// larger than the tile trained 300 steps loses: abu-beach-1 and the 200x200
// mosaic of bench/mosaic.py.
constexpr int kAutoVisits = 300, kMaxAutoSteps = 1000;
int fast_steps(const TrainOptions &o, int64_t rows, int64_t cols);

// A trained network plus what is needed to apply it to another scene.
class Model {
 public:
  Model();
  ~Model();
  Model(Model &&) noexcept;
  Model &operator=(Model &&) noexcept;

  const ModelConfig &config() const;
  const Scaling &scaling() const;
  std::string device() const;
  double final_loss() const;
  // Training steps replayed as a CUDA graph (0 on the CPU, op by op, or a
  // model loaded from a file).
  int64_t graph_steps() const;
  // Free-form facts saved with the model (e.g. the input's band list).
  void set_tag(const std::string &key, const std::string &value);
  std::string tag(const std::string &key) const;  // empty if absent
  // The statistics scores are measured against (fitted on the training
  // scene by detect(..., refit)); empty in model files of earlier builds.
  const ScoreReference &reference() const;
  void set_reference(ScoreReference reference);

  struct Impl;
  Impl &impl() const { return *impl_; }

 private:
  std::unique_ptr<Impl> impl_;
};

// Runs with options.threads CPU threads and options.deterministic cuDNN
// flags, and restores the caller's settings on return.
Model train(const Cube &cube, const TrainOptions &options);
// The same, reading the scene as it goes (fast mode: one tile per step;
// the paper's protocol reads it whole). Same scores as the Cube overload.
Model train(const SceneReader &scene, const TrainOptions &options);

struct DetectOptions {
  int tile = 256;  // output tile edge (+ receptive-field halo); halved on CUDA out-of-memory
  std::string device;  // empty: the model's device
  bool want_background = false;
  bool amp = false;  // CUDA only: bf16 autocast
  Score score = Score::Fused;
  // Score::Fused: the weight of RX against the purified background;
  // negative: rx_weight_of's (1 on a background of leading directions).
  double rx_weight = -1;
  // Refitting: global RX's background leaves out this fraction of the pixels,
  // those the network's scaled score ranks highest (background_pixels), and
  // keeps this many leading principal directions (0: all; rx_inverse_of).
  double rx_purify = 0.05;
  int rx_rank = 20;
  // Score::Fused: the weight of RX against every pixel; negative: the
  // scene's rule, rx_all_weight(rx_kurtosis) (when refitting; else the
  // reference's own weight).
  double rx_all_weight = -1;
  // Fit the score reference on this cube (the training scene) instead of
  // using the model's (a model fresh from train() has none: always refit);
  // Detection::reference returns what was used.
  bool refit = false;
  // The cube as a part of a larger scene (scene_rows 0: it is the scene):
  // the scene's size, the cube's place in it and the window to score, in
  // scene pixels. The cube must be what read_region() says; the window is
  // then scored exactly as within the whole scene (same tile grid, same
  // halo, same reference), the rest of the cube is NaN.
  int scene_rows = 0, scene_cols = 0;
  Window cube_at, window;
  // The fraction done (loss 0): per tile in memory, per window streamed;
  // false cancels (detect() then throws Cancelled).
  Progress progress;
};

// The part of a scene_rows x scene_cols scene to read to score `window`
// with detect(): the window, its neighbours' ring and the network's halo,
// out to the tile grid.
Window read_region(const Model &model, const DetectOptions &options, int scene_rows, int scene_cols,
                   const Window &window);

struct Detection {
  std::vector<float> score;       // rows*cols, raw units; NaN where the cube is invalid
  std::vector<float> background;  // bands*rows*cols in the cube's units, if asked
  ScoreReference reference;       // what the scores were measured against
};

Detection detect(const Model &model, const Cube &cube, const DetectOptions &options = {});
// The same, reading the scene window by window (one tile row by
// window_cols columns, each with its halo) so that only per-pixel scores
// are held: two passes when the reference is fitted. The scores equal the
// in-memory overload's; no background.
Detection detect(const Model &model, const SceneReader &scene, const DetectOptions &options, int window_cols = 1024);

void save_model(const Model &model, const std::string &path);
Model load_model(const std::string &path, const std::string &device = "cpu");

// Whether train() replays each step as a CUDA graph with these options on a
// CUDA device: faithful mode, cuda_graph, no amp, and a build against a CUDA
// LibTorch with the CUDA runtime's headers.
bool replays_cuda_graph(const TrainOptions &options, bool on_cuda);

// Resolves "auto", "cpu", "cuda", "cuda:N"; throws Error if CUDA is asked for
// and missing. `notice` receives a one-line message when auto falls back.
std::string resolve_device(const std::string &name, std::string *notice = nullptr);

// Configures the process (for commands, not libraries): LibTorch's intra-op
// threads (0: all cores), denormals flushed to zero, freed memory kept.
void configure_cpu(int threads);

// Bytes this process may still allocate (MemAvailable, capped by a cgroup
// limit; BS3L_MEMORY_LIMIT_MB overrides).
size_t available_memory_bytes();

std::string version();
// "LibTorch X.Y.Z, CUDA N device(s)" (or none), for --version.
std::string runtime_versions();

}  // namespace bs3l
