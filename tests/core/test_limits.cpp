// resource_limits() on fake /proc and /sys trees: the process's own cgroup
// (v2 and v1, parents included) and a Slurm job's settings bound what a run
// may use.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "bs3l/limits.h"

namespace fs = std::filesystem;

namespace {

class FakeRoot {
 public:
  FakeRoot() : dir_(fs::temp_directory_path() / ("bs3l_limits_" + std::to_string(::getpid()) + "_" + std::to_string(++n_))) {
    fs::create_directories(dir_);
    put("/proc/meminfo", "MemTotal: 209715200 kB\nMemAvailable: 104857600 kB\n");  // 100 GB free
  }
  ~FakeRoot() { fs::remove_all(dir_); }
  void put(const std::string &path, const std::string &text) {
    fs::create_directories((dir_.string() + path).substr(0, (dir_.string() + path).rfind('/')));
    std::ofstream(dir_.string() + path) << text;
  }
  std::string root() const { return dir_.string(); }

 private:
  static inline int n_ = 0;
  fs::path dir_;
};

struct NoEnv {  // the test's own environment must not decide
  NoEnv() {
    for (const char *v : kVars) unsetenv(v);
  }
  ~NoEnv() {
    for (const char *v : kVars) unsetenv(v);
  }
  static constexpr const char *kVars[] = {"BS3L_MEMORY_LIMIT_MB", "SLURM_MEM_PER_NODE", "SLURM_MEM_PER_CPU",
                                          "SLURM_CPUS_PER_TASK"};
};

constexpr size_t GB = size_t(1) << 30;

TEST(Limits, MachineAloneGivesMemAvailable) {
  NoEnv env;
  FakeRoot t;
  const bs3l::ResourceLimits r = bs3l::resource_limits(t.root());
  EXPECT_EQ(r.memory, 100 * GB);
  EXPECT_NE(r.memory_source.find("machine"), std::string::npos);
  EXPECT_GE(r.cpus, 1);
}

TEST(Limits, OwnCgroupV2AndItsCpuQuota) {
  NoEnv env;
  FakeRoot t;
  t.put("/proc/self/cgroup", "0::/system.slice/slurmstepd.scope/job_7\n");
  t.put("/proc/self/mountinfo", "30 25 0:26 / /sys/fs/cgroup rw,nosuid,nodev - cgroup2 cgroup2 rw,nsdelegate\n");
  t.put("/sys/fs/cgroup/memory.max", "max\n");
  t.put("/sys/fs/cgroup/system.slice/memory.max", "max\n");
  t.put("/sys/fs/cgroup/system.slice/slurmstepd.scope/job_7/memory.max", std::to_string(4 * GB) + "\n");
  t.put("/sys/fs/cgroup/system.slice/slurmstepd.scope/job_7/memory.current", std::to_string(1 * GB) + "\n");
  t.put("/sys/fs/cgroup/system.slice/slurmstepd.scope/job_7/cpu.max", "100000 100000\n");
  const bs3l::ResourceLimits r = bs3l::resource_limits(t.root());
  EXPECT_EQ(r.memory, 3 * GB);
  EXPECT_EQ(r.memory_source, "cgroup /sys/fs/cgroup/system.slice/slurmstepd.scope/job_7");
  EXPECT_EQ(r.cpus, 1);
  EXPECT_NE(r.cpu_source.find("cpu.max"), std::string::npos);
}

TEST(Limits, CgroupV1ParentLimitCounts) {
  NoEnv env;
  FakeRoot t;
  t.put("/proc/self/cgroup", "5:memory:/user.slice/job\n4:cpu,cpuacct:/user.slice/job\n0::/\n");
  t.put("/proc/self/mountinfo",
        "40 25 0:30 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
        "41 25 0:31 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct\n");
  t.put("/sys/fs/cgroup/memory/user.slice/job/memory.limit_in_bytes", "9223372036854771712\n");  // unlimited
  t.put("/sys/fs/cgroup/memory/user.slice/memory.limit_in_bytes", std::to_string(2 * GB) + "\n");
  t.put("/sys/fs/cgroup/memory/user.slice/memory.usage_in_bytes", std::to_string(GB / 2) + "\n");
  t.put("/sys/fs/cgroup/cpu,cpuacct/user.slice/job/cpu.cfs_quota_us", "50000\n");
  t.put("/sys/fs/cgroup/cpu,cpuacct/user.slice/job/cpu.cfs_period_us", "100000\n");
  const bs3l::ResourceLimits r = bs3l::resource_limits(t.root());
  EXPECT_EQ(r.memory, GB + GB / 2);
  EXPECT_EQ(r.memory_source, "cgroup /sys/fs/cgroup/memory/user.slice");
  EXPECT_EQ(r.cpus, 1);
}

TEST(Limits, SlurmJobWithoutCgroupEnforcement) {
  NoEnv env;
  FakeRoot t;
  setenv("SLURM_MEM_PER_NODE", "300", 1);
  setenv("SLURM_CPUS_PER_TASK", "1", 1);
  const bs3l::ResourceLimits r = bs3l::resource_limits(t.root());
  EXPECT_LE(r.memory, size_t(300) << 20);
  EXPECT_GT(r.memory, 0u);
  EXPECT_EQ(r.memory_source, "Slurm job (--mem)");
  EXPECT_EQ(r.cpus, 1);
  unsetenv("SLURM_MEM_PER_NODE");
  setenv("SLURM_MEM_PER_CPU", "100", 1);
  setenv("SLURM_CPUS_PER_TASK", "1", 1);
  EXPECT_EQ(bs3l::resource_limits(t.root()).memory_source, "Slurm job (--mem-per-cpu)");
  EXPECT_LE(bs3l::resource_limits(t.root()).memory, size_t(100) << 20);
}

}  // namespace
