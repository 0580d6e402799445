// Network architecture, blind-spot sampling and model files (LibTorch level).
#include <gtest/gtest.h>

#include <filesystem>
#include <set>

#include "bs3l/model.h"
#include "bs3l/optim.h"
#include "bs3l/sampler.h"

using namespace bs3l;

TEST(Model, ParameterAndBufferCountMatchOfficialFor162Bands) {
  BS3LNet net(ModelConfig{162, 64, 2, false});
  EXPECT_EQ(parameter_count(*net), 371810);
  EXPECT_EQ(buffer_count(*net), 645);
}

TEST(Model, OutputShapeEqualsInputShapeForNonSquareInput) {
  torch::manual_seed(0);
  BS3LNet net(ModelConfig{7, 16, 2, false});
  torch::Tensor y = net->forward(torch::rand({2, 7, 11, 23}));
  EXPECT_EQ(y.sizes(), torch::IntArrayRef({2, 7, 11, 23}));
}

TEST(Model, InstanceNormHasNoBuffersAndBiasedConvs) {
  BS3LNet net(ModelConfig{10, 8, 1, true});
  EXPECT_EQ(buffer_count(*net), 0);
  // conv(10->8)+b, 2 convs 8->8 +b, conv 8->8 +b, conv(8->10)+b
  EXPECT_EQ(parameter_count(*net), (10 * 8 * 9 + 8) + 3 * (8 * 8 * 9 + 8) + (8 * 10 * 9 + 10));
}

TEST(Model, InitialisationFollowsThePaper) {
  torch::manual_seed(3);
  BS3LNet net(ModelConfig{64, 64, 2, false});
  for (auto &m : net->modules(false)) {
    if (auto *conv = m->as<torch::nn::Conv2d>()) {
      EXPECT_NEAR(conv->weight.std().item<double>(), 0.02, 0.002);
      if (conv->bias.defined()) EXPECT_EQ(conv->bias.abs().sum().item<double>(), 0.0);
    } else if (auto *bn = m->as<torch::nn::BatchNorm2d>()) {
      EXPECT_NEAR(bn->weight.mean().item<double>(), 1.0, 0.01);
      EXPECT_EQ(bn->bias.abs().sum().item<double>(), 0.0);
    }
  }
}

TEST(Model, ConfigurationIsChecked) {
  EXPECT_THROW(BS3LNet(ModelConfig{0, 64, 2, false}), Error);
  EXPECT_EQ(receptive_radius(ModelConfig{5, 64, 2, false}), 7);
}

TEST(Sampler, BlindSpotCount) {
  EXPECT_EQ(blind_spot_count(19, 0.9), 37);
  EXPECT_EQ(blind_spot_count(11, 0.9), 13);
  EXPECT_EQ(blind_spot_count(19, 0.5), 181);
}

TEST(Sampler, InvariantsOfEveryPatch) {
  torch::manual_seed(5);
  const int B = 3, H = 13, W = 30, P = 9, Wn = 5;
  torch::Tensor cube = torch::rand({B, H, W});
  PatchSampler s(cube, {P, 0.9, Wn, false});
  const int S = s.spots_per_patch();
  ASSERT_EQ(S, 9);
  torch::Tensor pix = torch::arange(H * W);
  Batch b = s.batch(pix);
  ASSERT_EQ(b.input.sizes(), torch::IntArrayRef({H * W, B, P, P}));
  ASSERT_EQ(b.spots.sizes(), torch::IntArrayRef({H * W, S}));
  const int centre = (P / 2) * P + P / 2;
  auto spots = b.spots.accessor<int64_t, 2>();
  auto nb = b.neighbours.accessor<int64_t, 2>();
  bool saw_wrap = false;
  for (int n = 0; n < H * W; ++n) {
    EXPECT_EQ(spots[n][0], centre);
    std::set<int64_t> distinct;
    for (int k = 0; k < S; ++k) {
      if (k > 0) EXPECT_NE(spots[n][k], centre);
      distinct.insert(spots[n][k]);
      EXPECT_NE(spots[n][k], nb[n][k]);  // never itself
      const int sy = spots[n][k] / P, sx = spots[n][k] % P, ny = nb[n][k] / P, nx = nb[n][k] % P;
      // Offset within the window once wrapping inside the patch is undone.
      int dy = (ny - sy + P) % P, dx = (nx - sx + P) % P;
      if (dy > P / 2) dy -= P;
      if (dx > P / 2) dx -= P;
      EXPECT_LE(std::abs(dy), Wn / 2);
      EXPECT_LE(std::abs(dx), Wn / 2);
      if (sy + dy < 0 || sy + dy >= P || sx + dx < 0 || sx + dx >= P) saw_wrap = true;
    }
    // The mask marks exactly the distinct spots.
    EXPECT_EQ(b.mask[n].sum().item<int>(), int(distinct.size()));
  }
  EXPECT_TRUE(saw_wrap);
  // Labels are the mirror-padded neighbourhoods; input differs only at spots.
  EXPECT_TRUE(torch::equal(b.label[H * W / 2 + 3].index({torch::indexing::Slice(), P / 2, P / 2}),
                           cube.index({torch::indexing::Slice(), (H * W / 2 + 3) / W, (H * W / 2 + 3) % W})));
  torch::Tensor changed = (b.input != b.label).any(1, true);
  EXPECT_EQ((changed & (b.mask == 0)).sum().item<int>(), 0);
  // Each spot holds its neighbour's original value.
  torch::Tensor flat_in = b.input.view({H * W, B, P * P}), flat_lab = b.label.view({H * W, B, P * P});
  torch::Tensor last_in = flat_in.gather(2, b.spots.index({torch::indexing::Slice(), torch::indexing::Slice(-1)}).unsqueeze(1).expand({H * W, B, 1}));
  torch::Tensor last_nb = flat_lab.gather(2, b.neighbours.index({torch::indexing::Slice(), torch::indexing::Slice(-1)}).unsqueeze(1).expand({H * W, B, 1}));
  EXPECT_TRUE(torch::equal(last_in, last_nb));
}

TEST(Sampler, MirrorPaddingReflectsWithoutRepeatingTheEdge) {
  torch::Tensor cube = torch::arange(20, torch::kFloat32).view({1, 4, 5});
  PatchSampler s(cube, {3, 0.9, 2, false});
  Batch b = s.batch(torch::tensor({0}, torch::kLong));  // top-left pixel
  // Row -1 mirrors row 1, column -1 mirrors column 1.
  EXPECT_EQ(b.label[0][0][0][0].item<float>(), cube[0][1][1].item<float>());
  EXPECT_EQ(b.label[0][0][1][1].item<float>(), cube[0][0][0].item<float>());
}

TEST(Sampler, FixedMasksRepeatNewMasksDiffer) {
  torch::manual_seed(1);
  torch::Tensor cube = torch::rand({2, 20, 20});
  torch::Tensor pix = torch::arange(50);
  PatchSampler fixed(cube, {19, 0.9, 5, true});
  EXPECT_TRUE(torch::equal(fixed.batch(pix).spots, fixed.batch(pix).spots));
  PatchSampler fresh(cube, {19, 0.9, 5, false});
  EXPECT_FALSE(torch::equal(fresh.batch(pix).spots, fresh.batch(pix).spots));
}

TEST(Sampler, RejectsPatchLargerThanScene) {
  EXPECT_THROW(PatchSampler(torch::rand({2, 5, 40}), {19, 0.9, 5, false}), Error);
  EXPECT_THROW(PatchSampler(torch::rand({2, 40, 40}), {18, 0.9, 5, false}), Error);
}

TEST(Sampler, SceneBlindSpotsNeverSelfAndWithinWindow) {
  torch::manual_seed(2);
  // Distinct values so the source of each replaced pixel is identifiable.
  const int H = 17, W = 21;
  torch::Tensor x = torch::arange(H * W, torch::kFloat32).view({1, 1, H, W});
  auto [input, mask] = blind_spot_scene(x, 0.3, 5);
  const double frac = mask.mean().item<double>();
  EXPECT_NEAR(frac, 0.3, 0.08);
  auto in = input.accessor<float, 4>();
  auto mk = mask.accessor<float, 4>();
  for (int r = 0; r < H; ++r)
    for (int c = 0; c < W; ++c) {
      const int v = int(in[0][0][r][c]), sr = v / W, sc = v % W;
      if (mk[0][0][r][c] > 0) {
        EXPECT_FALSE(sr == r && sc == c);
        // Reflected offsets stay within the window.
        EXPECT_LE(std::abs(sr - r), 2 + 2 * (r < 2 || r >= H - 2));
        EXPECT_LE(std::abs(sc - c), 2 + 2 * (c < 2 || c >= W - 2));
      } else {
        EXPECT_EQ(v, r * W + c);
      }
    }
}

// Share of `draws` tile starts that cover each row.
std::vector<double> row_coverage(int extent, int tile, int draws) {
  std::vector<double> covered(extent, 0);
  for (int i = 0; i < draws; ++i) {
    const int64_t s = tile_start(extent, tile);
    EXPECT_GE(s, 0);
    EXPECT_LE(s + tile, extent);
    for (int64_t r = s; r < s + tile; ++r) covered[r] += 1.0 / draws;
  }
  return covered;
}

TEST(Sampler, TileStartsCoverTheEdgeRowsNearlyEvenly) {
  torch::manual_seed(4);
  // Every row is in a tile at least tile / (extent + tile - 1) of the time,
  // none more than twice that (drawn in [0, extent - tile], the edge rows
  // were in 1 / 237 of the tiles, the middle ones in 64 / 237).
  const std::vector<double> wide = row_coverage(300, 64, 20000);
  for (int r = 0; r < 300; ++r) {
    EXPECT_GE(wide[r], 0.95 * 64 / 363) << "row " << r;
    EXPECT_LE(wide[r], 1.05 * 127 / 363) << "row " << r;
  }
  // A tile over half the scene: the rows every tile holds are always in it.
  const std::vector<double> narrow = row_coverage(100, 64, 20000);
  for (int r = 0; r < 100; ++r) EXPECT_GE(narrow[r], 0.95 * 64 / 163) << "row " << r;
  EXPECT_EQ(tile_start(64, 64), 0);
  EXPECT_EQ(tile_start(40, 64), 0);
}

// A scene larger than the training tile gets the visits per pixel of one
// within it (300 x area / tile area steps), up to the cap; a number given
// is kept.
TEST(Sampler, AutoStepsKeepVisitsPerPixel) {
  TrainOptions o;
  EXPECT_EQ(fast_steps(o, 100, 100), 300);  // within one tile: as before
  EXPECT_EQ(fast_steps(o, 90, 120), 300);
  EXPECT_EQ(fast_steps(o, 150, 150), 412);  // abu-beach-1
  EXPECT_EQ(fast_steps(o, 200, 200), 732);  // bench/mosaic.py
  EXPECT_EQ(fast_steps(o, 1000, 1000), kMaxAutoSteps);
  EXPECT_EQ(fast_steps(o, 40, 1000), fast_steps(o, 1000, 40));
  EXPECT_EQ(fast_steps(o, 20, 256), 600);  // a strip: its tile is 20 x 128
  o.tile = 64;
  EXPECT_EQ(fast_steps(o, 100, 100), 732);
  o.steps = 20;
  EXPECT_EQ(fast_steps(o, 1000, 1000), 20);
  o.steps = -1;
  EXPECT_THROW(fast_steps(o, 100, 100), Error);
}

void copy_parameters(BS3LNet &from, BS3LNet &to) {
  torch::NoGradGuard g;
  auto pa = from->parameters(), pb = to->parameters();
  for (size_t i = 0; i < pa.size(); ++i) pb[i].copy_(pa[i]);
}

double ref_lr(int step) { return 1e-3 / (1 + step); }  // a changing rate, as the fast mode's

// The multi-tensor Adam must take exactly torch::optim::Adam's steps (on the
// CPU both run the same per-tensor kernels), the paper's settings included.
TEST(Optim, MultiAdamEqualsTorchAdam) {
  torch::manual_seed(3);
  BS3LNet a(ModelConfig{6, 8, 1, false}), b(ModelConfig{6, 8, 1, false});
  copy_parameters(a, b);
  MultiAdam ours(a->parameters(), 1e-3, 0.5, 0.999, 1e-5);
  torch::optim::Adam ref(b->parameters(), torch::optim::AdamOptions(1e-3).betas({0.5, 0.999}).weight_decay(1e-5));
  torch::Tensor x = torch::rand({2, 6, 12, 10}), first = a->parameters()[0].detach().clone();
  for (int s = 0; s < 6; ++s) {
    ours.lr = ref_lr(s);
    static_cast<torch::optim::AdamOptions &>(ref.param_groups()[0].options()).lr(ref_lr(s));
    ours.zero_grad();
    (a->forward(x) - x).abs().mean().backward();
    ours.step();
    ref.zero_grad();
    (b->forward(x) - x).abs().mean().backward();
    ref.step();
  }
  auto pa = a->parameters(), pb = b->parameters();
  for (size_t i = 0; i < pa.size(); ++i) EXPECT_TRUE(torch::equal(pa[i], pb[i])) << "parameter " << i;
  EXPECT_FALSE(torch::equal(pa[0], first));  // it did train
}

// The capturable form (step count and bias corrections on the device, for
// CUDA graphs) takes the same steps to rounding.
TEST(Optim, CapturableAdamTakesTheSameSteps) {
  torch::manual_seed(4);
  BS3LNet a(ModelConfig{6, 8, 1, false}), b(ModelConfig{6, 8, 1, false});
  copy_parameters(a, b);
  MultiAdam host(a->parameters(), 1e-3, 0.5, 0.999, 1e-5), device(b->parameters(), 1e-3, 0.5, 0.999, 1e-5, 1e-8, true);
  torch::Tensor x = torch::rand({2, 6, 12, 10}), first = a->parameters()[0].detach().clone();
  for (int s = 0; s < 6; ++s) {
    host.lr = device.lr = ref_lr(s);
    for (auto [net, opt] : {std::pair{&a, &host}, std::pair{&b, &device}}) {
      opt->zero_grad();
      ((*net)->forward(x) - x).abs().mean().backward();
      opt->step();
    }
  }
  auto pa = a->parameters(), pb = b->parameters();
  for (size_t i = 0; i < pa.size(); ++i)
    EXPECT_TRUE(torch::allclose(pa[i], pb[i], 1e-5, 1e-7)) << "parameter " << i;
  EXPECT_GT((pa[0] - first).abs().max().item<double>(), 1e-4);  // it did train
}

// train() is a library call: it must not leave the caller's thread count or
// cuDNN flags changed.
TEST(Train, GivesTheCallersThreadsAndCudnnFlagsBack) {
  at::set_num_threads(1);
  at::globalContext().setDeterministicCuDNN(false);
  bs3l::Cube c(4, 12, 12);
  for (size_t i = 0; i < c.data.size(); ++i) c.data[i] = float(i % 7) / 7.f;
  bs3l::TrainOptions t;
  t.steps = 2;
  t.model.features = 8;
  t.threads = 2;
  t.deterministic = true;
  bs3l::train(c, t);
  EXPECT_EQ(at::get_num_threads(), 1);
  EXPECT_FALSE(at::globalContext().deterministicCuDNN());
}
