// The cube as the network sees it: scaled, nodata filled, on a device.
#include "model_impl.h"

#include <cmath>

namespace bs3l {

using torch::indexing::Slice;

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
  torch::Tensor f;  // the fill, per band
  auto fill_at = [&](const torch::Tensor &where) {
    if (!f.defined()) f = torch::tensor(fill, fopt).to(device).view({-1, 1, 1});
    t = torch::where(where, f, t);
  };
  // A value beyond the fences is stray data, missing as nodata is: clipped,
  // it would still light up the network's whole receptive field around it.
  if (s.kind != Normalize::None && (std::isfinite(s.clip_lo) || std::isfinite(s.clip_hi))) {
    torch::Tensor out = t.lt(s.clip_lo).logical_or_(t.gt(s.clip_hi));
    if (out.any().item<bool>()) fill_at(out);
  }
  if (!cube.valid.empty()) fill_at(valid_mask(cube, device).index({Slice(r0, r1)}).unsqueeze(0).logical_not());
  return t;
}

}  // namespace bs3l
