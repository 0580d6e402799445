// Adam over all parameters at once (foreach kernels: fewer launches).
#include <cmath>

#include "bs3l/optim.h"

namespace bs3l {

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

}  // namespace bs3l
