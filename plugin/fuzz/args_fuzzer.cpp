// libFuzzer target: the command-line parser and the band-list parser. The
// input is split at NUL bytes into argv words.
#include <cstdint>
#include <string>
#include <vector>

#include "args.h"
#include "options.h"
#include "bs3l/cube.h"
#include "raster_io.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::vector<std::string> argv(1);
  for (size_t i = 0; i < size; ++i) {
    if (data[i] == 0) argv.emplace_back();
    else argv.back() += char(data[i]);
  }
  // The grammar of each command, from the option table.
  static const char *const commands[] = {"detect", "train", "apply", "rx", "evaluate", "info", "synth"};
  bs3l::app::ArgSpec spec = bs3l::app::spec_of(commands[size % 7]);
  spec.min_positional = 0;
  spec.max_positional = 3;
  try {
    bs3l::app::Args a("detect", argv, spec);
    for (const bs3l::app::OptionDef *o : bs3l::app::options_of(commands[size % 7])) {
      if (o->type == bs3l::app::Type::Int) a.get_int(o->name);
      if (o->type == bs3l::app::Type::Number) a.get_double(o->name);
    }
    a.all("-co");
    if (a.has("-b")) bs3l::app::parse_band_list(a.get("-b"), 200);
  } catch (const bs3l::Error &) {
  }
  return 0;
}
