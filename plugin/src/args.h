// A small GNU/GDAL-style argument parser: positionals, --name VALUE, flags.
#pragma once
#include <map>
#include <set>
#include <string>
#include <vector>

namespace bs3l::app {

struct ArgSpec {
  std::set<std::string> with_value;  // e.g. "--epochs", "-b", "-co"
  std::set<std::string> flags;       // e.g. "--overwrite", "-q"
  std::map<std::string, std::string> defaults;   // value when not given
  std::map<std::string, std::string> canonical;  // alias -> name ("--quiet" -> "-q")
  std::map<std::string, int> arity;              // options taking several words (-srcwin: 4), joined by spaces
  int min_positional = 0, max_positional = 0;
};

class Args {
 public:
  Args(const std::string &command, const std::vector<std::string> &argv, const ArgSpec &spec);
  const std::vector<std::string> &positional() const { return positional_; }
  bool flag(const std::string &name) const { return flags_.count(name) > 0; }
  bool has(const std::string &name) const { return values_.count(name) > 0; }  // given explicitly
  // The value given last, else the declared default, else `fallback`.
  std::string get(const std::string &name, const std::string &fallback = "") const;
  std::vector<std::string> all(const std::string &name) const;
  int get_int(const std::string &name, int fallback = 0) const;
  double get_double(const std::string &name, double fallback = 0) const;

 private:
  std::string command_;
  std::vector<std::string> positional_;
  std::set<std::string> flags_;
  std::map<std::string, std::vector<std::string>> values_;
  std::map<std::string, std::string> defaults_;
};

}  // namespace bs3l::app
