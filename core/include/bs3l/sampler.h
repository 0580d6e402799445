// Blind-spot training pairs, drawn on the fly from a mirror-padded cube.
#pragma once
#include <torch/torch.h>

namespace bs3l {

struct SamplerOptions {
  int patch = 19;
  double ratio = 0.9;
  int window = 5;
  bool fixed_masks = false;
};

struct Batch {
  torch::Tensor input;  // [N, B, P, P] patches with blind spots replaced
  torch::Tensor label;  // [N, B, P, P] original patches
  torch::Tensor mask;   // [N, 1, P, P] 1 at blind spots
  torch::Tensor spots;      // [N, S] flat blind-spot positions in the patch
  torch::Tensor neighbours; // [N, S] flat positions their values came from
};

class PatchSampler {
 public:
  // cube: [B, H, W] on the training device.
  PatchSampler(torch::Tensor cube, const SamplerOptions &options);
  int spots_per_patch() const { return spots_; }
  // pixels: int64 [N] flat indices (row*W + col) of the patch centres.
  Batch batch(const torch::Tensor &pixels);

 private:
  std::pair<torch::Tensor, torch::Tensor> draw(int64_t n);
  SamplerOptions opt_;
  int spots_;
  int64_t height_, width_;
  torch::Tensor padded_;                  // [B, H+P-1, W+P-1]
  torch::Tensor fixed_spots_, fixed_nb_;  // [H*W, S] when masks are fixed

};

// ceil(P*P*(1-ratio)), the paper's blind-spot count (37 for 19 and 0.9).
int blind_spot_count(int patch, double ratio);

// Uses the global torch RNG (seed it with torch::manual_seed).
// Replaces a random `fraction` of the pixels of x [N,B,H,W] by a random
// neighbour from a window x window square (never itself, reflected at the
// borders). Returns {input, mask [N,1,H,W]}.
std::pair<torch::Tensor, torch::Tensor> blind_spot_scene(const torch::Tensor &x, double fraction, int window);

// First row (or column) of a training tile of `tile` pixels in a scene of
// `extent`: a start drawn from [1 - tile, extent - 1], clamped into the
// scene, so that every row is in a tile at least tile / (extent + tile - 1)
// of the draws and no more than twice that (or always, where every tile
// holds it). Drawn from [0, extent - tile], the edge rows were in
// 1 / (extent - tile + 1) of the tiles and their background trained least.
// Global torch RNG.
int64_t tile_start(int64_t extent, int64_t tile);

}  // namespace bs3l
