#include "bs3l/limits.h"

#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <sstream>
#include <thread>
#include <vector>

namespace bs3l {
namespace {

constexpr size_t kNone = std::numeric_limits<size_t>::max();

// A number in a cgroup file; kNone for "max", -1, a missing file or v1's
// "unlimited" (a value near 2^63).
size_t read_number(const std::string &path) {
  std::ifstream f(path);
  std::string word;
  if (!(f >> word) || word == "max" || word == "-1") return kNone;
  char *end = nullptr;
  const unsigned long long v = std::strtoull(word.c_str(), &end, 10);
  if (*end || v >= (1ull << 60)) return kNone;
  return size_t(v);
}

struct Mount {
  std::string point, root;  // where it is mounted, which cgroup path it shows
};

// cgroup2 mounts (fs type "cgroup2") or v1 mounts carrying `controller`.
std::vector<Mount> cgroup_mounts(const std::string &root, bool v2, const std::string &controller) {
  std::vector<Mount> out;
  std::ifstream f(root + "/proc/self/mountinfo");
  for (std::string line; std::getline(f, line);) {
    std::istringstream s(line);
    std::vector<std::string> w;
    for (std::string x; s >> x;) w.push_back(x);
    const auto dash = std::find(w.begin(), w.end(), "-");
    if (w.size() < 5 || dash == w.end() || dash + 1 == w.end()) continue;
    const std::string type = *(dash + 1), options = dash + 3 < w.end() ? *(dash + 3) : "";
    bool match = v2 ? type == "cgroup2" : type == "cgroup";
    if (match && !v2) {
      match = false;
      std::istringstream o(options);
      for (std::string opt; std::getline(o, opt, ',');) match = match || opt == controller;
    }
    if (match) out.push_back({w[4], w[3]});
  }
  return out;
}

// The process's cgroup path for v2 ("0::/path") or for a v1 controller.
std::string own_cgroup(const std::string &root, bool v2, const std::string &controller) {
  std::ifstream f(root + "/proc/self/cgroup");
  for (std::string line; std::getline(f, line);) {
    const size_t a = line.find(':'), b = line.find(':', a + 1);
    if (a == std::string::npos || b == std::string::npos) continue;
    const std::string id = line.substr(0, a), controllers = line.substr(a + 1, b - a - 1), path = line.substr(b + 1);
    if (v2 && id == "0" && controllers.empty()) return path;
    if (!v2) {
      std::istringstream c(controllers);
      for (std::string x; std::getline(c, x, ',');)
        if (x == controller) return path;
    }
  }
  return "";
}

// Folders of the process's cgroup and each parent up to the mount point.
std::vector<std::string> cgroup_chain(const std::string &root, bool v2, const std::string &controller) {
  std::vector<std::string> out;
  const std::string own = own_cgroup(root, v2, controller);
  if (own.empty()) return out;
  for (const Mount &m : cgroup_mounts(root, v2, controller)) {
    std::string rel = own;
    // Inside a container the mount shows the container's own subtree.
    if (m.root != "/" && rel.rfind(m.root, 0) == 0) rel = rel.substr(m.root.size());
    std::string dir = root + m.point + (rel == "/" ? "" : rel);
    const std::string top = root + m.point;
    for (;;) {
      out.push_back(dir);
      if (dir.size() <= top.size()) break;
      dir = dir.substr(0, dir.rfind('/'));
      if (dir.size() < top.size()) break;
    }
    break;
  }
  return out;
}

size_t meminfo_available(const std::string &root) {
  std::ifstream info(root + "/proc/meminfo");
  for (std::string key; info >> key;) {
    size_t kb = 0;
    info >> kb;
    if (key == "MemAvailable:") return kb << 10;
    info.ignore(std::numeric_limits<std::streamsize>::max(), '\n');
  }
  return kNone;
}

size_t resident_bytes(const std::string &root) {
  std::ifstream f(root + "/proc/self/statm");
  size_t pages = 0, resident = 0;
  if (!(f >> pages >> resident)) return 0;
  return resident * size_t(sysconf(_SC_PAGESIZE));
}

size_t env_number(const char *name) {
  const char *v = std::getenv(name);
  if (!v || !*v) return kNone;
  char *end = nullptr;
  const unsigned long long x = std::strtoull(v, &end, 10);
  // Slurm memory: megabytes, optionally with a unit letter.
  if (end == v) return kNone;
  return size_t(x);
}

template <class T>
void tighten(T &value, std::string &source, T candidate, const std::string &why) {
  if (candidate < value) value = candidate, source = why;
}

}  // namespace

ResourceLimits resource_limits(const std::string &root) {
  ResourceLimits r;
  size_t mem = meminfo_available(root);
  r.memory_source = "the machine (MemAvailable)";
  for (bool v2 : {true, false}) {
    for (const std::string &dir : cgroup_chain(root, v2, "memory")) {
      const size_t limit = read_number(dir + (v2 ? "/memory.max" : "/memory.limit_in_bytes"));
      const size_t used = read_number(dir + (v2 ? "/memory.current" : "/memory.usage_in_bytes"));
      if (limit == kNone) continue;
      const size_t left = used == kNone ? limit : (limit > used ? limit - used : 0);
      tighten(mem, r.memory_source, left, "cgroup " + dir.substr(root.size()));
    }
  }
  // A Slurm job's --mem is its budget even where no cgroup enforces it.
  const size_t rss = resident_bytes(root);
  size_t slurm = env_number("SLURM_MEM_PER_NODE");
  std::string slurm_why = "Slurm job (--mem)";
  if (slurm == kNone && env_number("SLURM_MEM_PER_CPU") != kNone) {
    size_t cpus = env_number("SLURM_CPUS_PER_TASK");
    slurm = env_number("SLURM_MEM_PER_CPU") * (cpus == kNone ? 1 : cpus);
    slurm_why = "Slurm job (--mem-per-cpu)";
  }
  if (slurm != kNone && slurm > 0) {
    const size_t bytes = slurm << 20;
    tighten(mem, r.memory_source, bytes > rss ? bytes - rss : 0, slurm_why);
  }
  if (const char *env = std::getenv("BS3L_MEMORY_LIMIT_MB"))
    mem = size_t(std::strtoull(env, nullptr, 10)) << 20, r.memory_source = "BS3L_MEMORY_LIMIT_MB";
  r.memory = mem;

  int cpus = int(std::max(1u, std::thread::hardware_concurrency()));
  r.cpu_source = "the machine";
  if (root.empty()) {  // affinity is the live process's, not a fake tree's
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof(set), &set) == 0) tighten(cpus, r.cpu_source, std::max(1, CPU_COUNT(&set)), std::string("CPU affinity"));
  }
  for (bool v2 : {true, false}) {
    for (const std::string &dir : cgroup_chain(root, v2, "cpu")) {
      size_t quota = kNone, period = kNone;
      if (v2) {
        std::ifstream f(dir + "/cpu.max");
        std::string q;
        if (f >> q >> period && q != "max") quota = size_t(std::strtoull(q.c_str(), nullptr, 10));
      } else {
        quota = read_number(dir + "/cpu.cfs_quota_us"), period = read_number(dir + "/cpu.cfs_period_us");
      }
      if (quota == kNone || period == kNone || period == 0) continue;
      tighten(cpus, r.cpu_source, std::max(1, int(std::ceil(double(quota) / double(period)))),
              "cgroup " + dir.substr(root.size()) + (v2 ? "/cpu.max" : "/cpu.cfs_quota_us"));
    }
  }
  const size_t slurm_cpus = env_number("SLURM_CPUS_PER_TASK");
  if (slurm_cpus != kNone && slurm_cpus > 0)
    tighten(cpus, r.cpu_source, int(std::min<size_t>(slurm_cpus, 1 << 20)), std::string("Slurm job (--cpus-per-task)"));
  r.cpus = cpus;
  return r;
}

}  // namespace bs3l
