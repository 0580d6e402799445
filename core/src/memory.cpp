#include "memory.h"

#include "bs3l/bs3lnet.h"
#include "bs3l/limits.h"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace bs3l {

size_t available_memory_bytes() { return available_memory(); }

size_t available_memory() { return resource_limits().memory; }

size_t net_bytes(size_t pixels, int bands, int features, int blocks, bool training) {
  // Training keeps every layer's output (conv, BN, ReLU, padded copies: about
  // six feature maps per conv) plus input, target, mask and their gradients;
  // inference holds a few maps at a time.
  const double maps = training ? 6.0 * (2 + 2 * blocks) * features + 8.0 * bands : 4.0 * features + 4.0 * bands;
  return size_t(4.0 * maps * double(pixels));
}

void keep_freed_memory() {
#if defined(__GLIBC__)
  if (std::getenv("MALLOC_MMAP_THRESHOLD_") || std::getenv("MALLOC_TRIM_THRESHOLD_")) return;
  mallopt(M_MMAP_THRESHOLD, 32 << 20);  // glibc's maximum; larger blocks still use mmap
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
#endif
}

void release_freed_memory() {
#if defined(__GLIBC__)
  malloc_trim(0);
#endif
}

std::string megabytes(size_t bytes) {
  std::ostringstream s;
  s << (bytes + (1u << 20) - 1) / (1u << 20) << " MB";
  return s.str();
}

}  // namespace bs3l
