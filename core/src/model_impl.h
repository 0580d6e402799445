// What a Model holds; shared by the core's translation units only.
#pragma once
#include <ATen/autocast_mode.h>
#include <torch/version.h>

#include <map>

#include "bs3l/model.h"

namespace bs3l {

struct Model::Impl {
  ModelConfig config;
  Scaling scaling;
  BS3LNet net{nullptr};
  torch::Device device{torch::kCPU};
  double final_loss = 0;
  int64_t graph_steps = 0;
  std::map<std::string, std::string> tags;
  ScoreReference reference;
  std::vector<float> fill;  // the training scene's valid band means, scaled: nodata's stand-in
};

}  // namespace bs3l

namespace bs3l {

// bf16 autocast on CUDA for one scope (bf16 needs no loss scaling).
class Autocast {
 public:
  explicit Autocast(bool on) : on_(on) {
    if (!on_) return;
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
    at::autocast::set_autocast_dtype(at::kCUDA, at::kBFloat16);  // the per-device API of LibTorch 2.4+
    at::autocast::set_autocast_enabled(at::kCUDA, true);
#else
    at::autocast::set_autocast_gpu_dtype(at::kBFloat16);
    at::autocast::set_enabled(true);
#endif
    at::autocast::increment_nesting();
  }
  ~Autocast() {
    if (!on_) return;
    if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
    at::autocast::set_autocast_enabled(at::kCUDA, false);
#else
    at::autocast::set_enabled(false);
#endif
  }
  Autocast(const Autocast &) = delete;
  Autocast &operator=(const Autocast &) = delete;

 private:
  bool on_;
};

// The cube as a [B,H,W] float tensor on `device`, rows [r0,r1), scaled and
// with invalid pixels set to the band's valid mean (so no nodata enters a
// convolution). `fill` holds those means in scaled units.
torch::Tensor prepare_rows(const Cube &cube, const Scaling &scaling, const std::vector<float> &fill, int r0, int r1,
                           torch::Device device);
// Valid-pixel mask [H,W] bool on `device` (all true when the cube has none).
torch::Tensor valid_mask(const Cube &cube, torch::Device device);

}  // namespace bs3l
