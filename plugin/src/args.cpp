#include "args.h"

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>

#include "bs3l/cube.h"

namespace bs3l::app {

Args::Args(const std::string &command, const std::vector<std::string> &argv, const ArgSpec &spec)
    : command_(command), defaults_(spec.defaults) {
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string &a = argv[i];
    if (a.size() > 1 && a[0] == '-' && !(a.size() > 1 && (std::isdigit(static_cast<unsigned char>(a[1])) || a[1] == '.'))) {
      const auto alias = spec.canonical.find(a);
      const std::string &name = alias == spec.canonical.end() ? a : alias->second;
      if (spec.flags.count(a)) {
        flags_.insert(name);
      } else if (spec.with_value.count(a)) {
        const auto k = spec.arity.find(a);
        const size_t words = k == spec.arity.end() ? 1 : size_t(k->second);
        if (i + words >= argv.size())
          throw Error("option " + a + (words == 1 ? " needs a value" : " needs " + std::to_string(words) + " values"));
        std::string v = argv[++i];
        for (size_t w = 1; w < words; ++w) v += " " + argv[++i];
        values_[name].push_back(v);
      } else {
        throw Error("unknown option " + a + " for '" + command + "' (see bs3lnet " + command + " --help)");
      }
    } else {
      positional_.push_back(a);
    }
  }
  if (int(positional_.size()) < spec.min_positional || int(positional_.size()) > spec.max_positional)
    throw Error("'" + command + "' takes " +
                (spec.min_positional == spec.max_positional ? std::to_string(spec.min_positional)
                                                            : std::to_string(spec.min_positional) + " to " +
                                                                  std::to_string(spec.max_positional)) +
                " file argument(s), got " + std::to_string(positional_.size()) + " (see bs3lnet " + command +
                " --help)");
}

std::string Args::get(const std::string &name, const std::string &fallback) const {
  auto it = values_.find(name);
  if (it != values_.end()) return it->second.back();
  auto d = defaults_.find(name);
  return d == defaults_.end() ? fallback : d->second;
}

std::vector<std::string> Args::all(const std::string &name) const {
  auto it = values_.find(name);
  return it == values_.end() ? std::vector<std::string>{} : it->second;
}

int Args::get_int(const std::string &name, int fallback) const {
  if (!has(name) && !defaults_.count(name)) return fallback;
  const std::string v = get(name);
  char *end = nullptr;
  errno = 0;
  const long x = std::strtol(v.c_str(), &end, 10);
  if (v.empty() || *end || errno || x < -2147483647L || x > 2147483647L)
    throw Error("option " + name + " expects an integer, got '" + v + "'");
  return int(x);
}

double Args::get_double(const std::string &name, double fallback) const {
  if (!has(name) && !defaults_.count(name)) return fallback;
  const std::string v = get(name);
  char *end = nullptr;
  const double x = std::strtod(v.c_str(), &end);
  if (v.empty() || *end || !std::isfinite(x)) throw Error("option " + name + " expects a number, got '" + v + "'");
  return x;
}

}  // namespace bs3l::app
