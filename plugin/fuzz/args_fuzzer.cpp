// libFuzzer target: the command-line parser and the band-list parser. The
// input is split at NUL bytes into argv words.
#include <cstdint>
#include <string>
#include <vector>

#include "args.h"
#include "bs3l/cube.h"
#include "raster_io.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::vector<std::string> argv(1);
  for (size_t i = 0; i < size; ++i) {
    if (data[i] == 0) argv.emplace_back();
    else argv.back() += char(data[i]);
  }
  bs3l::app::ArgSpec spec;  // detect's options
  spec.with_value = {"-b", "--mask", "-of", "-co", "--truth", "--mode", "--epochs", "--steps", "--lr", "--ratio",
                     "--window", "--seed", "--threads", "--top-percent", "--threshold"};
  spec.flags = {"--overwrite", "-q", "--amp", "--keep-bad-bands"};
  spec.min_positional = 0;
  spec.max_positional = 3;
  try {
    bs3l::app::Args a("detect", argv, spec);
    a.get_int("--epochs", 1000);
    a.get_double("--lr", 1e-3);
    a.get_double("--ratio", 0.9);
    a.all("-co");
    if (a.has("-b")) bs3l::app::parse_band_list(a.get("-b"), 200);
  } catch (const bs3l::Error &) {
  }
  return 0;
}
