// Memory guard: estimates of what training and detection allocate, checked
// against what the machine (or its cgroup) has, so that a too-large job
// stops with a message instead of meeting the OOM killer.
#pragma once
#include <cstddef>
#include <string>

namespace bs3l {

// Bytes this process may still allocate (bs3l/limits.h says from where).
size_t available_memory();

// Activations kept for the backward pass (or live during inference) of one
// forward over `pixels` positions, with `bands` input channels.
size_t net_bytes(size_t pixels, int bands, int features, int blocks, bool training);

std::string megabytes(size_t bytes);

// glibc: keep freed heap memory for reuse instead of unmapping it. LibTorch
// frees and reallocates the same multi-megabyte activations every step; by
// default they come back as fresh mmap pages, and the page faults cost half
// the training time on a 2-core VM (measured: 4.7M faults, 34 s of system
// time for abu-airport-1). A user's MALLOC_*_ environment settings win.
void keep_freed_memory();
// Hands retained free memory back to the system (after training).
void release_freed_memory();

}  // namespace bs3l
