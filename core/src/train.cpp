// Blind-spot sampling and the two training modes.
#include <algorithm>
#include <cmath>

#include "bs3l/optim.h"
#include "bs3l/sampler.h"
#include "memory.h"
#include "model_impl.h"

namespace bs3l {

using torch::indexing::Slice;

int blind_spot_count(int patch, double ratio) {
  // The small epsilon keeps 361*(1-0.9) = 36.1000...01 from becoming 38.
  return int(std::ceil(double(patch) * patch * (1.0 - ratio) - 1e-9));
}

namespace {

// Random offsets in a w x w window, never (0,0): draw among the w*w-1 others.
std::pair<torch::Tensor, torch::Tensor> window_offsets(torch::IntArrayRef shape, int w, torch::Device dev) {
  const int64_t centre = (w / 2) * w + w / 2;
  torch::Tensor k = torch::randint(0, w * w - 1, shape, torch::TensorOptions(torch::kLong).device(dev));
  k = k + (k >= centre).to(torch::kLong);
  return {torch::div(k, w, "floor") - w / 2, torch::remainder(k, w) - w / 2};
}

// Index reflection without repeating the edge (as reflection padding).
torch::Tensor reflect(torch::Tensor i, int64_t n) {
  i = torch::abs(i);
  return torch::where(i >= n, 2 * (n - 1) - i, i);
}

}  // namespace

PatchSampler::PatchSampler(torch::Tensor cube, const SamplerOptions &o) : opt_(o) {
  if (o.patch < 3 || o.patch % 2 == 0) throw Error("patch size must be odd and at least 3");
  if (o.window < 2) throw Error("blind-spot window must be at least 2");
  if (!(o.ratio >= 0 && o.ratio < 1)) throw Error("ratio must be in [0, 1)");
  spots_ = blind_spot_count(o.patch, o.ratio);
  height_ = cube.size(1);
  width_ = cube.size(2);
  const int half = o.patch / 2;
  if (half >= height_ || half >= width_)
    throw Error("patch " + std::to_string(o.patch) + " is too large for a " + std::to_string(height_) + "x" +
                std::to_string(width_) + " scene (at most " +
                std::to_string(2 * std::min(height_, width_) - 1) + ")");
  padded_ = torch::reflection_pad2d(cube.unsqueeze(0), {half, half, half, half}).squeeze(0);
  if (o.fixed_masks) {
    auto [s, n] = draw(height_ * width_);
    fixed_spots_ = s.to(torch::kShort);
    fixed_nb_ = n.to(torch::kShort);
  }
}

std::pair<torch::Tensor, torch::Tensor> PatchSampler::draw(int64_t n) {
  const int64_t p = opt_.patch, pp = p * p, centre = (p / 2) * p + p / 2;
  const auto dev = padded_.device();
  auto lopt = torch::TensorOptions(torch::kLong).device(dev);
  // The centre is always a blind spot; the others anywhere but the centre,
  // with repetition, as in the paper's code.
  torch::Tensor other = torch::randint(0, pp - 1, {n, spots_ - 1}, lopt);
  other = other + (other >= centre).to(torch::kLong);
  torch::Tensor spots = torch::cat({torch::full({n, 1}, centre, lopt), other}, 1);
  auto [dy, dx] = window_offsets({n, spots_}, opt_.window, dev);
  // Neighbour indices wrap inside the patch, as the official code does.
  torch::Tensor y = torch::remainder(torch::div(spots, p, "floor") + dy, p);
  torch::Tensor x = torch::remainder(torch::remainder(spots, p) + dx, p);
  return {spots, y * p + x};
}

Batch PatchSampler::batch(const torch::Tensor &pixels) {
  const int64_t n = pixels.size(0), p = opt_.patch, bands = padded_.size(0);
  const auto dev = padded_.device();
  torch::Tensor pix = pixels.to(dev, torch::kLong);
  torch::Tensor ar = torch::arange(p, torch::TensorOptions(torch::kLong).device(dev));
  torch::Tensor rows = (torch::div(pix, width_, "floor").view({n, 1, 1}) + ar.view({1, p, 1}));
  torch::Tensor cols = (torch::remainder(pix, width_).view({n, 1, 1}) + ar.view({1, 1, p}));
  Batch b;
  b.label = padded_.index({Slice(), rows, cols}).permute({1, 0, 2, 3}).contiguous();  // [N,B,P,P]
  if (opt_.fixed_masks) {
    b.spots = fixed_spots_.index({pix}).to(torch::kLong);
    b.neighbours = fixed_nb_.index({pix}).to(torch::kLong);
  } else {
    std::tie(b.spots, b.neighbours) = draw(n);
  }
  torch::Tensor flat = b.label.view({n, bands, p * p});
  torch::Tensor values = flat.gather(2, b.neighbours.unsqueeze(1).expand({n, bands, spots_}));
  b.input = flat.clone().scatter_(2, b.spots.unsqueeze(1).expand({n, bands, spots_}), values).view({n, bands, p, p});
  b.mask = torch::zeros({n, 1, p * p}, b.label.options())
               .scatter_(2, b.spots.unsqueeze(1), 1.0f)
               .view({n, 1, p, p});
  return b;
}

std::pair<torch::Tensor, torch::Tensor> blind_spot_scene(const torch::Tensor &x, double fraction, int window) {
  const int64_t n = x.size(0), bands = x.size(1), h = x.size(2), w = x.size(3);
  const auto dev = x.device();
  if (window / 2 >= h || window / 2 >= w) throw Error("the scene is smaller than the blind-spot window");
  torch::Tensor mask = torch::rand({n, 1, h, w}, x.options()) < fraction;
  auto [dy, dx] = window_offsets({n, 1, h, w}, window, dev);
  auto lopt = torch::TensorOptions(torch::kLong).device(dev);
  torch::Tensor r = reflect(torch::arange(h, lopt).view({1, 1, h, 1}) + dy, h);
  torch::Tensor c = reflect(torch::arange(w, lopt).view({1, 1, 1, w}) + dx, w);
  torch::Tensor src = (r * w + c).view({n, 1, h * w}).expand({n, bands, h * w});
  torch::Tensor moved = x.reshape({n, bands, h * w}).gather(2, src).view({n, bands, h, w});
  return {torch::where(mask, moved, x), mask.to(x.dtype())};
}

// ---- shared preparation ---------------------------------------------------

std::vector<float> valid_means(const Cube &cube, const Scaling &s) {
  std::vector<float> m(cube.bands, 0.f);
  const size_t n = cube.pixels();
  for (int b = 0; b < cube.bands; ++b) {
    double sum = 0;
    size_t count = 0;
    for (size_t i = 0; i < n; ++i)
      if (cube.is_valid(i)) sum += cube.data[size_t(b) * n + i], ++count;
    const double mean = count ? sum / count : 0.0;
    m[b] = s.kind == Normalize::None ? float(mean) : float((mean - s.offset[b]) * s.scale[b]);
  }
  return m;
}

torch::Tensor valid_mask(const Cube &cube, torch::Device device) {
  if (cube.valid.empty()) return torch::ones({cube.rows, cube.cols}, torch::TensorOptions(torch::kBool).device(device));
  return torch::from_blob(const_cast<uint8_t *>(cube.valid.data()), {cube.rows, cube.cols}, torch::kUInt8)
      .to(device, torch::kBool);
}

torch::Tensor prepare_rows(const Cube &cube, const Scaling &s, const std::vector<float> &fill, int r0, int r1,
                           torch::Device device) {
  torch::Tensor all = torch::from_blob(const_cast<float *>(cube.data.data()), {cube.bands, cube.rows, cube.cols});
  torch::Tensor t = all.index({Slice(), Slice(r0, r1)}).to(device, torch::kFloat32, false, /*copy=*/true);
  auto fopt = torch::TensorOptions(torch::kFloat32);
  if (s.kind != Normalize::None) {
    torch::Tensor off = torch::tensor(s.offset, fopt).to(device).view({-1, 1, 1});
    torch::Tensor sc = torch::tensor(s.scale, fopt).to(device).view({-1, 1, 1});
    t.sub_(off).mul_(sc);
  }
  if (!cube.valid.empty()) {
    torch::Tensor v = valid_mask(cube, device).index({Slice(r0, r1)}).unsqueeze(0);
    t = torch::where(v, t, torch::tensor(fill, fopt).to(device).view({-1, 1, 1}));
  }
  return t;
}

// ---- training -----------------------------------------------------------

MultiAdam::MultiAdam(std::vector<torch::Tensor> params, double lr, double beta1, double beta2,
                     double weight_decay, double eps)
    : lr(lr), params_(std::move(params)), beta1_(beta1), beta2_(beta2), weight_decay_(weight_decay), eps_(eps) {
  for (const auto &p : params_) {
    avg_.push_back(torch::zeros_like(p));
    avg_sq_.push_back(torch::zeros_like(p));
  }
}

void MultiAdam::zero_grad() {
  std::vector<torch::Tensor> grads;
  for (auto &p : params_)
    if (p.grad().defined()) grads.push_back(p.mutable_grad().detach_());
  if (!grads.empty()) at::_foreach_zero_(grads);
}

void MultiAdam::step() {
  torch::NoGradGuard no_grad;
  // A parameter without a gradient is left alone, as torch::optim::Adam does.
  std::vector<torch::Tensor> p, g, m, v;
  for (size_t i = 0; i < params_.size(); ++i) {
    if (!params_[i].grad().defined()) continue;
    p.push_back(params_[i]);
    g.push_back(params_[i].grad());
    m.push_back(avg_[i]);
    v.push_back(avg_sq_[i]);
  }
  if (p.empty()) return;
  ++steps_;
  if (weight_decay_ != 0) g = at::_foreach_add(g, p, weight_decay_);
  at::_foreach_mul_(m, beta1_);
  at::_foreach_add_(m, g, 1 - beta1_);
  at::_foreach_mul_(v, beta2_);
  at::_foreach_addcmul_(v, g, g, 1 - beta2_);
  const double c1 = 1 - std::pow(beta1_, double(steps_)), c2 = 1 - std::pow(beta2_, double(steps_));
  std::vector<torch::Tensor> denom = at::_foreach_sqrt(v);
  at::_foreach_div_(denom, std::sqrt(c2));
  at::_foreach_add_(denom, eps_);
  at::_foreach_addcdiv_(p, m, denom, -lr / c1);
}

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

Model train(const Cube &cube, const TrainOptions &o) {
  check_cube(cube);
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
  const std::vector<float> fill = valid_means(cube, m.scaling);
  torch::Tensor x = prepare_rows(cube, m.scaling, fill, 0, cube.rows, m.device);
  torch::Tensor valid = valid_mask(cube, m.device);
  m.final_loss = o.mode == TrainMode::Faithful ? train_faithful(m.net, x, valid, o) : train_fast(m.net, x, valid, o);
  m.net->eval();
  x = torch::Tensor(), valid = torch::Tensor();
  release_freed_memory();  // detection may follow; let its memory guard see it
  return model;
}

}  // namespace bs3l
