// Every option of every bs3lnet command, declared once. The parser, --help,
// --json-usage (and through it the QGIS provider), the argument fuzzer and
// bench/bs3l_raw all read this table; defaults come from the core's option
// structs. Torch- and GDAL-free.
#pragma once
#include <string>
#include <vector>

#include "args.h"

namespace bs3l::app {

enum class Type { Flag, Int, Number, Text, Choice };

// What a value names (QGIS picks its parameter kind from it).
enum class Role { None, InRaster, InFile, OutRaster, OutVector, OutFile, OutFolder };

struct OptionDef {
  std::string name;     // as typed: "--top-percent", "-b"
  std::string alias;    // "--quiet" for "-q"; empty if none
  Type type = Type::Flag;
  Role role = Role::None;
  std::string metavar;  // "N", "X", "FILE"
  std::string fallback;  // the default, as text; empty if none
  std::vector<std::string> choices;
  double min = 0, max = 0;  // numeric range for QGIS when min < max
  std::string help;
  std::vector<std::string> commands;
  bool advanced = false;
  bool repeatable = false;
  bool shell_only = false;  // -q, --overwrite, -of/-co/-oo: not QGIS parameters
  std::string qgis_name;    // default: the name upper-cased, '-' -> '_'
  int words = 1;            // values after the option (-srcwin: 4)
  std::string label;        // short title for QGIS and --json-usage (declared in options.cpp's label table)
};

struct Positional {
  std::string name;  // INPUT, OUTPUT, MODEL, ...
  Role role;
  std::string help;
  std::string label;  // short title for QGIS
};

struct CommandDef {
  std::string name, summary;
  std::vector<Positional> positionals;
};

const std::vector<OptionDef> &option_table();
const std::vector<CommandDef> &command_table();
const CommandDef *find_command(const std::string &name);
std::vector<const OptionDef *> options_of(const std::string &command);
std::string qgis_name(const OptionDef &o);

// The parser's view of a command (defaults included).
ArgSpec spec_of(const std::string &command);

// `bs3lnet COMMAND --help` ("" for the command list) and --json-usage.
std::string usage(const std::string &command);
std::string json_usage(const std::string &command);

}  // namespace bs3l::app
