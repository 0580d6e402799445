// CUDA graph capture and replay of a training step (see cuda_graph.h).
#include "cuda_graph.h"

#include "bs3l/cube.h"

// The CUDA runtime's headers come with a CUDA LibTorch's CMake targets; a
// build that lacks them falls back to op-by-op steps.
#if defined(BS3L_CUDA_GRAPHS) && __has_include(<cuda_runtime_api.h>)
#define BS3L_GRAPHS_ON 1
#include <ATen/cuda/CUDAEvent.h>
#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#endif

namespace bs3l {

#ifdef BS3L_GRAPHS_ON

bool cuda_graphs_built() { return true; }

struct StepGraph::State {
  State(std::function<void()> f, torch::Device d, int w)
      : step(std::move(f)), device(d), warmup(w), side(c10::cuda::getStreamFromPool(false, d.index())) {}
  std::function<void()> step;
  torch::Device device;
  int warmup, calls = 0;
  bool captured = false;
  c10::cuda::CUDAStream side;
  at::cuda::CUDAGraph graph;
};

StepGraph::StepGraph(std::function<void()> step, torch::Device device, int warmup)
    : s_(std::make_unique<State>(std::move(step), device, warmup)) {
  if (!device.is_cuda()) throw Error("CUDA graphs need a CUDA device");
}

StepGraph::~StepGraph() = default;

void StepGraph::run() {
  State &s = *s_;
  if (s.captured) return s.graph.replay();
  const c10::cuda::CUDAGuard on(s.device);
  const c10::cuda::CUDAStream main = c10::cuda::getCurrentCUDAStream(s.device.index());
  at::cuda::CUDAEvent ready, done;
  ready.record(main);
  ready.block(s.side);
  {
    const c10::cuda::CUDAStreamGuard guard(s.side);
    if (s.calls++ < s.warmup) {
      s.step();
    } else {
      s.graph.capture_begin();
      try {
        s.step();
      } catch (const std::exception &e) {
        try { s.graph.capture_end(); } catch (...) {}
        throw Error(std::string("CUDA graph capture of the training step failed (rerun with --no-cuda-graph): ") +
                    e.what());
      }
      s.graph.capture_end();
      s.captured = true;
    }
  }
  done.record(s.side);
  done.block(main);
  if (s.captured) s.graph.replay();  // capture records the step without running it
}

#else

bool cuda_graphs_built() { return false; }

struct StepGraph::State {};

StepGraph::StepGraph(std::function<void()>, torch::Device, int) {
  throw Error("this build has no CUDA graphs (its LibTorch has no CUDA)");
}

StepGraph::~StepGraph() = default;

void StepGraph::run() {}

#endif

}  // namespace bs3l
