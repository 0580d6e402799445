// Adam over all parameters at once (foreach kernels: fewer launches).
#include <cmath>

#include "bs3l/optim.h"

namespace bs3l {

MultiAdam::MultiAdam(std::vector<torch::Tensor> params, double lr, double beta1, double beta2,
                     double weight_decay, double eps, bool capturable)
    : lr(lr), params_(std::move(params)), beta1_(beta1), beta2_(beta2), weight_decay_(weight_decay), eps_(eps),
      capturable_(capturable) {
  for (const auto &p : params_) {
    avg_.push_back(torch::zeros_like(p));
    avg_sq_.push_back(torch::zeros_like(p));
  }
  if (capturable_ && !params_.empty()) step_t_ = torch::zeros({}, params_[0].options().dtype(torch::kDouble).requires_grad(false));
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
  std::vector<torch::Tensor> denom = at::_foreach_sqrt(v);
  if (capturable_) {
    // The same update with the corrections as device tensors (no host value
    // that changes from step to step; equal to the host form to rounding).
    step_t_.add_(1);
    const torch::Tensor root_c2 = (1 - torch::pow(beta2_, step_t_)).sqrt();
    const torch::Tensor neg_step = (-lr) / (1 - torch::pow(beta1_, step_t_));
    for (size_t i = 0; i < p.size(); ++i) {
      denom[i].div_(root_c2).add_(eps_);
      p[i].addcdiv_(m[i] * neg_step, denom[i]);
    }
    return;
  }
  const double c1 = 1 - std::pow(beta1_, double(steps_)), c2 = 1 - std::pow(beta2_, double(steps_));
  at::_foreach_div_(denom, std::sqrt(c2));
  at::_foreach_add_(denom, eps_);
  at::_foreach_addcdiv_(p, m, denom, -lr / c1);
}

}  // namespace bs3l
