// Blind-spot sampling: 19x19 training patches drawn on the fly (faithful
// mode) and whole-scene blind spots (fast mode).
#include <algorithm>
#include <cmath>

#include "bs3l/cube.h"
#include "bs3l/sampler.h"

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

int64_t tile_start(int64_t extent, int64_t tile) {
  if (extent <= tile) return 0;
  return std::clamp<int64_t>(torch::randint(1 - tile, extent, {1}).item<int64_t>(), 0, extent - tile);
}

}  // namespace bs3l
