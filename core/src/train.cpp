// The two training loops (faithful, fast) and train(): memory guard, set-up.
#include <algorithm>
#include <cmath>

#include "bs3l/optim.h"
#include "bs3l/sampler.h"
#include "bs3l/stats.h"
#include "cuda_graph.h"
#include "memory.h"
#include "model_impl.h"

namespace bs3l {

using torch::indexing::Slice;

namespace {

void report(const TrainOptions &o, double fraction, double loss) {
  if (o.progress && !o.progress(fraction, loss)) throw Cancelled();
}

MultiAdam make_adam(BS3LNet &net, const TrainOptions &o, double lr, bool capturable = false) {
  return MultiAdam(net->parameters(), lr, o.beta1, o.beta2, o.weight_decay, 1e-8, capturable);
}

// `replayed` counts the steps run as a CUDA graph.
double train_faithful(BS3LNet &net, const torch::Tensor &x, const torch::Tensor &valid, const TrainOptions &o,
                      int64_t &replayed) {
  if (o.epochs < 1 || o.batch_size < 1) throw Error("epochs and batch size must be at least 1");
  PatchSampler sampler(x, {o.patch, o.ratio, o.window, o.fixed_masks});
  // On CUDA each full batch replays one captured step (autocast's cast cache
  // does not replay, so not with --amp); the CPU path is the plain loop.
  const bool graphed = replays_cuda_graph(o, x.is_cuda());
  MultiAdam adam = make_adam(net, o, o.lr, graphed);
  torch::Tensor pixels = valid.flatten().nonzero().flatten();  // only valid centres
  const int64_t n = pixels.size(0), per_epoch = (n + o.batch_size - 1) / o.batch_size;
  const double total = double(o.epochs) * per_epoch;
  // The step's buffers stay put for the graph: centres in, losses out. On
  // CUDA the loss is read back only now and then: a read per step would
  // stall the GPU on every batch.
  torch::Tensor centres = torch::empty({std::min<int64_t>(n, o.batch_size)}, pixels.options());
  torch::Tensor sum = torch::zeros({}, x.options()), latest = torch::zeros({}, x.options());
  auto step = [&](const torch::Tensor &batch) {
    Batch b = sampler.batch(batch);
    torch::Tensor out;
    {
      Autocast amp(o.amp);
      out = net->forward(b.input).to(torch::kFloat32);
    }
    // The paper's L1: masked residual averaged over every element.
    torch::Tensor loss = ((out - b.label).abs() * b.mask).sum() / double(out.numel());
    adam.zero_grad();
    loss.backward();
    adam.step();
    sum.add_(loss.detach());
    latest.copy_(loss.detach());
  };
  std::unique_ptr<StepGraph> graph;
  if (graphed && n >= o.batch_size) graph = std::make_unique<StepGraph>([&] { step(centres); }, x.device());
  double epoch_loss = 0;
  for (int e = 0; e < o.epochs; ++e) {
    torch::Tensor order = pixels.index({torch::randperm(n, pixels.options())});
    sum.zero_();
    double last = 0;
    for (int64_t i = 0; i < per_epoch; ++i) {
      const torch::Tensor batch = order.slice(0, i * o.batch_size, std::min(n, (i + 1) * o.batch_size));
      if (graph && batch.size(0) == o.batch_size) {
        centres.copy_(batch);
        graph->run();
        ++replayed;
      } else {
        step(batch);  // the epoch's last, smaller batch
      }
      if (!x.is_cuda() || i % 64 == 0) last = latest.item<double>();
      report(o, (e * per_epoch + i + 1) / total, last);
    }
    epoch_loss = sum.item<double>() / per_epoch;
  }
  return epoch_loss;
}

// Tiles for the fast mode, read from the scene as needed and prepared as
// the network sees them (scaled, nodata filled).
struct TileSource {
  const SceneReader &scene;
  const Model::Impl &m;
  std::pair<torch::Tensor, torch::Tensor> operator()(int r0, int c0, int h, int w) const {
    const Cube c = scene.read({r0, c0, h, w});
    return {prepare_rows(c, m.scaling, m.fill, 0, h, m.device).unsqueeze(0),
            valid_mask(c, m.device).view({1, 1, h, w})};
  }
};

double train_fast(BS3LNet &net, const TileSource &tiles, const TrainOptions &o) {
  if (o.tile < 16) throw Error("training tile must be at least 16 pixels");
  const double fraction = double(blind_spot_count(o.patch, o.ratio)) / (double(o.patch) * o.patch);
  MultiAdam adam = make_adam(net, o, o.fast_lr);
  const int64_t h = tiles.scene.rows(), w = tiles.scene.cols(), th = std::min<int64_t>(h, o.tile),
                tw = std::min<int64_t>(w, o.tile);
  const int64_t bands = tiles.scene.bands();
  const int steps = fast_steps(o, h, w);
  // A scene within one tile is read once, not at every step.
  const bool whole = th == h && tw == w;
  std::pair<torch::Tensor, torch::Tensor> scene_tile;
  if (whole) scene_tile = tiles(0, 0, int(h), int(w));
  // On CUDA a loss read per step would stall the GPU: the average stays on
  // the device and the progress line reads every 16th step.
  const bool cuda = tiles.m.device.is_cuda();
  double ema = 0, last = 0;
  torch::Tensor ema_t;
  for (int s = 0; s < steps; ++s) {
    // Cosine decay to zero: the final weights settle instead of wandering.
    const double lr = o.fast_lr * 0.5 * (1 + std::cos(M_PI * s / steps));
    adam.lr = lr;
    const int64_t r0 = tile_start(h, th), c0 = tile_start(w, tw);
    auto [tile, ok] = whole ? scene_tile : tiles(int(r0), int(c0), int(th), int(tw));
    auto [input, mask] = blind_spot_scene(tile, fraction, o.window);
    mask = mask * ok.to(mask.dtype());
    const torch::Tensor count = mask.sum().clamp_min(1.0) * double(bands);
    torch::Tensor out;
    {
      Autocast amp(o.amp);
      out = net->forward(input).to(torch::kFloat32);
    }
    torch::Tensor loss = ((out - tile).abs() * mask).sum() / count;
    adam.zero_grad();
    loss.backward();
    adam.step();
    if (cuda) {
      ema_t = s == 0 ? loss.detach() : 0.9 * ema_t + 0.1 * loss.detach();
      if (s % 16 == 0) last = loss.item<double>();
    } else {
      last = loss.item<double>();
      ema = s == 0 ? last : 0.9 * ema + 0.1 * last;
    }
    report(o, double(s + 1) / steps, last);
  }
  return cuda ? ema_t.item<double>() : ema;
}

}  // namespace

namespace {

// train() runs with its own thread count and cuDNN flags and gives the
// caller's back (flushing denormals, a CPU mode, stays: see configure_cpu).
struct RestoreSettings {
  const int threads = at::get_num_threads();
  const bool deterministic = at::globalContext().deterministicCuDNN(), benchmark = at::globalContext().benchmarkCuDNN();
  ~RestoreSettings() {
    at::set_num_threads(threads);
    at::globalContext().setDeterministicCuDNN(deterministic);
    at::globalContext().setBenchmarkCuDNN(benchmark);
  }
};

}  // namespace

int fast_steps(const TrainOptions &o, int64_t rows, int64_t cols) {
  if (o.steps < 0) throw Error("steps must be at least 1 (or 0: as many as the scene's area needs)");
  if (o.steps > 0) return o.steps;
  if (rows < 1 || cols < 1 || o.tile < 1) throw Error("the scene and the training tile must not be empty");
  const double tiles = double(rows) * double(cols) / (double(std::min<int64_t>(rows, o.tile)) * std::min<int64_t>(cols, o.tile));
  return int(std::min<double>(kMaxAutoSteps, std::max<double>(kAutoVisits, std::round(kAutoVisits * tiles))));
}

bool replays_cuda_graph(const TrainOptions &o, bool on_cuda) {
  return o.mode == TrainMode::Faithful && on_cuda && o.cuda_graph && !o.amp && cuda_graphs_built();
}

Model train(const Cube &cube, const TrainOptions &o) {
  check_cube(cube);
  return train(CubeReader(cube), o);
}

Model train(const SceneReader &scene, const TrainOptions &o) {
  if (scene.bands() < 2) throw Error("the cube has " + std::to_string(scene.bands()) + " band(s); at least 2 are needed");
  const RestoreSettings restore;
  Model model;
  Model::Impl &m = model.impl();
  m.device = torch::Device(resolve_device(o.device));
  configure_cpu(o.threads);
  torch::manual_seed(o.seed);
  if (o.deterministic) at::globalContext().setDeterministicCuDNN(true), at::globalContext().setBenchmarkCuDNN(false);
  if (o.amp && !m.device.is_cuda()) throw Error("--amp (bf16 autocast) needs a CUDA device");
  const bool fast = o.mode == TrainMode::Fast;
  const int B = scene.bands(), H = scene.rows(), W = scene.cols();
  // Memory guard (host memory; on CUDA the device's own limits apply). The
  // fast mode reads its tiles as it goes; the paper's protocol holds the scene.
  if (!m.device.is_cuda()) {
    const size_t px = fast ? size_t(std::min(H, o.tile)) * std::min(W, o.tile) : size_t(o.batch_size) * o.patch * o.patch;
    const size_t need = net_bytes(px, B, o.model.features, o.model.blocks, true) +
                        (fast ? size_t(8) * B * px : size_t(8) * B * (H + o.patch) * (W + o.patch));
    const size_t have = available_memory();
    if (need > have)
      throw Error("training needs about " + megabytes(need) + " of memory but " + megabytes(have) + " is available" +
                  (fast ? " (try a smaller --tile)" : " (try a smaller --batch-size)"));
  }
  const SceneStats stats = scene_stats(scene, o.normalize, false);
  m.config = o.model;
  m.config.bands = B;
  m.scaling = stats.scaling;
  m.fill = stats.fill;
  m.net = BS3LNet(m.config);
  m.net->to(m.device);
  m.net->train();
  if (fast) {
    m.final_loss = train_fast(m.net, TileSource{scene, m}, o);
  } else {
    const Cube cube = scene.read({0, 0, H, W});
    torch::Tensor x = prepare_rows(cube, m.scaling, m.fill, 0, cube.rows, m.device);
    m.final_loss = train_faithful(m.net, x, valid_mask(cube, m.device), o, m.graph_steps);
  }
  m.net->eval();
  release_freed_memory();  // detection may follow; let its memory guard see it
  return model;
}

}  // namespace bs3l
