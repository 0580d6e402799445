// What this process may use: memory and CPUs, as the machine, its cgroup
// (v1 or v2, the process's own, found through /proc/self/cgroup, and every
// parent up to the mount) and a Slurm job (--mem, --mem-per-cpu,
// --cpus-per-task) allow. The tightest limit wins and is named.
#pragma once
#include <cstddef>
#include <string>

namespace bs3l {

struct ResourceLimits {
  size_t memory = 0;          // bytes still free to allocate
  std::string memory_source;  // "the machine", "cgroup /sys/fs/cgroup/...", "Slurm job (--mem)", ...
  int cpus = 1;               // threads worth running
  std::string cpu_source;     // "CPU affinity", "cgroup cpu.max", "Slurm --cpus-per-task", ...
};

// `root` prefixes /proc and /sys (tests build a fake tree); "" = this machine.
// BS3L_MEMORY_LIMIT_MB overrides the memory (tests, shared machines).
ResourceLimits resource_limits(const std::string &root = "");

}  // namespace bs3l
