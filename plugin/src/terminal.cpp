#include "terminal.h"

#include <gdal.h>

#include <cstdio>

namespace bs3l::app {
namespace {
bool g_open = false;
}

void term_progress(double fraction) {
  GDALTermProgress(fraction, nullptr, nullptr);
  g_open = fraction < 1.0;
  std::fflush(stdout);
}

void end_progress_line() {
  if (!g_open) return;
  std::fputc('\n', stdout);
  std::fflush(stdout);
  g_open = false;
}

}  // namespace bs3l::app
