// The command boundary: GDAL's general options, dispatch, and the one place
// where errors become messages and exit codes.
#include <cpl_conv.h>
#include <cpl_error.h>
#include <cpl_string.h>
#include <gdal.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <exception>
#include <map>
#include <set>
#include <string>

#include "bs3l/bs3lnet.h"
#include "commands.h"
#include "options.h"
#include "output_file.h"
#include "matlab_driver.h"
#include "raster_io.h"
#include "result.h"
#include "terminal.h"

namespace bs3l::app {
namespace {

bool g_quiet = false;

// GDAL's warnings (e.g. a format that cannot hold the georeferencing) reach
// the user once each, unless -q; its errors become our one ERROR line.
void CPL_STDCALL report_gdal(CPLErr level, CPLErrorNum, const char *msg) {
  static std::set<std::string> seen;
  if (level != CE_Warning || g_quiet || !msg || !seen.insert(msg).second) return;
  end_progress_line();
  std::fprintf(stderr, "Warning: %s\n", msg);
}

}  // namespace

int run(int argc, char **argv) {
  // Our .mat driver first, so v7.3 (HDF5) files reach it before GDAL's HDF5 driver.
  if (argc == 2 && std::string(argv[1]) == "--version") {  // ours, not GDAL's
    std::printf("bs3lnet %s (%s), GDAL %s, %s\n", version().c_str(), BS3L_GIT_DESCRIBE,
                GDALVersionInfo("RELEASE_NAME"), runtime_versions().c_str());
    return 0;
  }
  GDALRegister_MATLAB();
  GDALAllRegister();
  argc = GDALGeneralCmdLineProcessor(argc, &argv, 0);
  if (argc < 1) return -argc;  // --version, --formats, ... handled
  struct Free {
    char **a;
    ~Free() { CSLDestroy(a); }
  } guard{argv};
  const std::map<std::string, int (*)(const Argv &)> commands = {
      {"detect", cmd_detect}, {"train", cmd_train}, {"apply", cmd_apply}, {"rx", cmd_rx},
      {"evaluate", cmd_evaluate}, {"info", cmd_info}, {"synth", cmd_synth}, {"threshold", cmd_threshold}};
  if (argc < 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h") {
    std::fputs(usage("").c_str(), argc < 2 ? stderr : stdout);
    return argc < 2 ? 1 : 0;
  }
  const std::string name = argv[1];
  auto it = commands.find(name);
  if (it == commands.end()) {
    std::fprintf(stderr, "ERROR: unknown command '%s' (see bs3lnet --help)\n", name.c_str());
    return 1;
  }
  Argv args(argv + 2, argv + argc);
  for (const std::string &a : args) {
    if (a == "--help" || a == "-h") {
      std::fputs(usage(name).c_str(), stdout);
      return 0;
    }
    if (a == "--json-usage") {
      std::fputs(json_usage(name).c_str(), stdout);
      return 0;
    }
  }
  install_signal_handlers();
  for (const std::string &a : args) g_quiet = g_quiet || a == "-q" || a == "--quiet";
  CPLSetErrorHandler(report_gdal);
  try {
    OutputSet outputs;  // every output of the run lands at the end, all or none
    const auto t0 = std::chrono::steady_clock::now();
    const int rc = it->second(args);
    if (rc == 0) {
      if (interrupted()) throw Cancelled();
      outputs.commit();
      // --json of detect, apply and rx (evaluate prints its own figures)
      const bool json = name != "evaluate" && std::find(args.begin(), args.end(), "--json") != args.end();
      if (json) {
        nlohmann::ordered_json &r = run_result();
        r["command"] = name;
        r["outputs"] = outputs.targets();
        r["seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        std::printf("%s\n", r.dump().c_str());
      }
    }
    return rc;
  } catch (const Cancelled &) {
    end_progress_line();
    std::fprintf(stderr, "ERROR: interrupted; no output written\n");
    return 130;
  } catch (const Error &e) {
    end_progress_line();
    if (interrupted()) {
      std::fprintf(stderr, "ERROR: interrupted; no output written\n");
      return 130;
    }
    std::fprintf(stderr, "ERROR: %s\n", e.what());
    return 1;
  } catch (const std::bad_alloc &) {
    end_progress_line();
    std::fprintf(stderr, "ERROR: out of memory\n");
    return 1;
  } catch (const std::exception &e) {
    end_progress_line();
    // LibTorch errors carry a C++ backtrace: keep the first line only.
    std::string msg = e.what();
    msg = msg.substr(0, msg.find('\n'));
    std::fprintf(stderr, "ERROR: %s\n", msg.c_str());
    return 1;
  }
}

}  // namespace bs3l::app
