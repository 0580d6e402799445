// The two training loops (faithful, fast) and train(): memory guard, set-up.
#include <algorithm>
#include <cmath>

#include "bs3l/optim.h"
#include "bs3l/sampler.h"
#include "memory.h"
#include "model_impl.h"

namespace bs3l {

using torch::indexing::Slice;

namespace {

void report(const TrainOptions &o, double fraction, double loss) {
  if (o.progress && !o.progress(fraction, loss)) throw Cancelled();
}

MultiAdam make_adam(BS3LNet &net, const TrainOptions &o, double lr) {
  return MultiAdam(net->parameters(), lr, o.beta1, o.beta2, o.weight_decay);
}

double train_faithful(BS3LNet &net, const torch::Tensor &x, const torch::Tensor &valid, const TrainOptions &o) {
  if (o.epochs < 1 || o.batch_size < 1) throw Error("epochs and batch size must be at least 1");
  PatchSampler sampler(x, {o.patch, o.ratio, o.window, o.fixed_masks});
  MultiAdam adam = make_adam(net, o, o.lr);
  torch::Tensor pixels = valid.flatten().nonzero().flatten();  // only valid centres
  const int64_t n = pixels.size(0), per_epoch = (n + o.batch_size - 1) / o.batch_size;
  const double total = double(o.epochs) * per_epoch;
  double epoch_loss = 0;
  for (int e = 0; e < o.epochs; ++e) {
    torch::Tensor order = pixels.index({torch::randperm(n, pixels.options())});
    // On CUDA the loss is read back only now and then: a read per step
    // would stall the GPU on every batch.
    torch::Tensor sum = torch::zeros({}, x.options());
    double last = 0;
    for (int64_t i = 0; i < per_epoch; ++i) {
      Batch b = sampler.batch(order.slice(0, i * o.batch_size, std::min(n, (i + 1) * o.batch_size)));
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
      sum += loss.detach();
      if (!x.is_cuda() || i % 64 == 0) last = loss.item<double>();
      report(o, (e * per_epoch + i + 1) / total, last);
    }
    epoch_loss = sum.item<double>() / per_epoch;
  }
  return epoch_loss;
}

double train_fast(BS3LNet &net, const torch::Tensor &x, const torch::Tensor &valid, const TrainOptions &o) {
  if (o.steps < 1) throw Error("steps must be at least 1");
  if (o.tile < 16) throw Error("training tile must be at least 16 pixels");
  const double fraction = double(blind_spot_count(o.patch, o.ratio)) / (double(o.patch) * o.patch);
  MultiAdam adam = make_adam(net, o, o.fast_lr);
  const int64_t h = x.size(1), w = x.size(2), th = std::min<int64_t>(h, o.tile), tw = std::min<int64_t>(w, o.tile);
  double ema = 0;
  for (int s = 0; s < o.steps; ++s) {
    // Cosine decay to zero: the final weights settle instead of wandering.
    const double lr = o.fast_lr * 0.5 * (1 + std::cos(M_PI * s / o.steps));
    adam.lr = lr;
    const int64_t r0 = h > th ? torch::randint(0, h - th + 1, {1}).item<int64_t>() : 0;
    const int64_t c0 = w > tw ? torch::randint(0, w - tw + 1, {1}).item<int64_t>() : 0;
    torch::Tensor tile = x.index({Slice(), Slice(r0, r0 + th), Slice(c0, c0 + tw)}).unsqueeze(0);
    torch::Tensor ok = valid.index({Slice(r0, r0 + th), Slice(c0, c0 + tw)}).view({1, 1, th, tw});
    auto [input, mask] = blind_spot_scene(tile, fraction, o.window);
    mask = mask * ok.to(mask.dtype());
    const torch::Tensor count = mask.sum().clamp_min(1.0) * double(x.size(0));
    torch::Tensor out;
    {
      Autocast amp(o.amp);
      out = net->forward(input).to(torch::kFloat32);
    }
    torch::Tensor loss = ((out - tile).abs() * mask).sum() / count;
    adam.zero_grad();
    loss.backward();
    adam.step();
    const double l = loss.item<double>();
    ema = s == 0 ? l : 0.9 * ema + 0.1 * l;
    report(o, double(s + 1) / o.steps, l);
  }
  return ema;
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

Model train(const Cube &cube, const TrainOptions &o) {
  check_cube(cube);
  const RestoreSettings restore;
  Model model;
  Model::Impl &m = model.impl();
  m.device = torch::Device(resolve_device(o.device));
  configure_cpu(o.threads);
  torch::manual_seed(o.seed);
  if (o.deterministic) at::globalContext().setDeterministicCuDNN(true), at::globalContext().setBenchmarkCuDNN(false);
  if (o.amp && !m.device.is_cuda()) throw Error("--amp (bf16 autocast) needs a CUDA device");
  m.config = o.model;
  m.config.bands = cube.bands;
  m.scaling = Scaling::fit(cube, o.normalize);
  // Memory guard (host memory; on CUDA the device's own limits apply).
  if (!m.device.is_cuda()) {
    const bool fast = o.mode == TrainMode::Fast;
    const size_t px = fast ? size_t(std::min(cube.rows, o.tile)) * std::min(cube.cols, o.tile)
                           : size_t(o.batch_size) * o.patch * o.patch;
    const size_t need = net_bytes(px, cube.bands, m.config.features, m.config.blocks, true) +
                        size_t(4) * cube.bands * (cube.rows + o.patch) * (cube.cols + o.patch);  // working copy
    const size_t have = available_memory();
    if (need > have)
      throw Error("training needs about " + megabytes(need) + " of memory but " + megabytes(have) + " is available" +
                  (fast ? " (try a smaller --tile)" : " (try a smaller --batch-size)"));
  }
  m.net = BS3LNet(m.config);
  m.net->to(m.device);
  m.net->train();
  m.fill = valid_means(cube, m.scaling);
  torch::Tensor x = prepare_rows(cube, m.scaling, m.fill, 0, cube.rows, m.device);
  torch::Tensor valid = valid_mask(cube, m.device);
  m.final_loss = o.mode == TrainMode::Faithful ? train_faithful(m.net, x, valid, o) : train_fast(m.net, x, valid, o);
  m.net->eval();
  x = torch::Tensor(), valid = torch::Tensor();
  release_freed_memory();  // detection may follow; let its memory guard see it
  return model;
}

}  // namespace bs3l
