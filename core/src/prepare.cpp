// The cube as the network sees it: scaled, nodata filled, on a device.
#include "model_impl.h"

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
  if (!cube.valid.empty()) {
    torch::Tensor v = valid_mask(cube, device).index({Slice(r0, r1)}).unsqueeze(0);
    t = torch::where(v, t, torch::tensor(fill, fopt).to(device).view({-1, 1, 1}));
  }
  return t;
}

}  // namespace bs3l
