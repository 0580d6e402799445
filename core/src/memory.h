// Memory guard: estimates of what training and detection allocate, checked
// against what the machine (or its cgroup) has, so that a too-large job
// stops with a message instead of meeting the OOM killer.
#pragma once
#include <cstddef>
#include <string>

namespace bs3l {

// Bytes this process may still allocate: MemAvailable, capped by the cgroup
// limit; BS3L_MEMORY_LIMIT_MB overrides both (tests, shared machines).
size_t available_memory();

// Activations kept for the backward pass (or live during inference) of one
// forward over `pixels` positions, with `bands` input channels.
size_t net_bytes(size_t pixels, int bands, int features, int blocks, bool training);

std::string megabytes(size_t bytes);

}  // namespace bs3l
