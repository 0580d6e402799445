// One training step replayed as a CUDA graph. The paper's batches of 100
// small patches leave a GPU waiting on kernel launches (about 5 ms a step on
// an H200); a graph launches the whole step at once. Built only against a
// CUDA LibTorch (BS3L_CUDA_GRAPHS); elsewhere cuda_graphs_built() is false and
// constructing one throws.
#pragma once
#include <functional>
#include <memory>

#include <torch/torch.h>

namespace bs3l {

bool cuda_graphs_built();

class StepGraph {
 public:
  // step must read and write only buffers that outlive this object. The
  // first `warmup` runs are eager (on a side stream: capture needs one), the
  // next is captured, and every run from then on replays the capture.
  StepGraph(std::function<void()> step, torch::Device device, int warmup = 3);
  ~StepGraph();
  void run();

 private:
  struct State;
  std::unique_ptr<State> s_;
};

}  // namespace bs3l
