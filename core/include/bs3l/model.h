// The BS3LNet network (LibTorch). Architecture as the paper's code:
// conv(B->F)+ReLU, N residual blocks (conv-norm-ReLU-conv-norm, + skip),
// conv-norm, long skip, conv(F->B); reflection padding before every conv.
#pragma once
#include <torch/torch.h>

#include "bs3l/bs3lnet.h"

namespace bs3l {

class BS3LNetImpl : public torch::nn::Module {
 public:
  explicit BS3LNetImpl(const ModelConfig &config);
  torch::Tensor forward(torch::Tensor x);
  // Weights N(0, 0.02), biases 0, norm weights N(1, 0.02), norm biases 0.
  void reset_weights();
  const ModelConfig &config() const { return config_; }

 private:
  ModelConfig config_;
  torch::nn::Sequential encoder{nullptr}, blocks{nullptr}, decoder{nullptr}, head{nullptr};
};
TORCH_MODULE(BS3LNet);

int64_t parameter_count(torch::nn::Module &m);
int64_t buffer_count(torch::nn::Module &m);

// Receptive-field radius: one pixel per 3x3 convolution.
int receptive_radius(const ModelConfig &config);

}  // namespace bs3l
