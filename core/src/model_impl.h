// What a Model holds; shared by the core's translation units only.
#pragma once
#include <map>

#include "bs3l/model.h"

namespace bs3l {

struct Model::Impl {
  ModelConfig config;
  Scaling scaling;
  BS3LNet net{nullptr};
  torch::Device device{torch::kCPU};
  double final_loss = 0;
  std::map<std::string, std::string> tags;
};

}  // namespace bs3l

namespace bs3l {

// The cube as a [B,H,W] float tensor on `device`, rows [r0,r1), scaled and
// with invalid pixels set to the band's valid mean (so no nodata enters a
// convolution). `fill` holds those means in scaled units.
torch::Tensor prepare_rows(const Cube &cube, const Scaling &scaling, const std::vector<float> &fill, int r0, int r1,
                           torch::Device device);
// Band means of the valid pixels, scaled.
std::vector<float> valid_means(const Cube &cube, const Scaling &scaling);
// Valid-pixel mask [H,W] bool on `device` (all true when the cube has none).
torch::Tensor valid_mask(const Cube &cube, torch::Device device);

}  // namespace bs3l
