// SIGINT/SIGTERM: noted, then honoured by the progress callbacks and before
// any output is committed.
#include <atomic>
#include <csignal>
#include <cstdlib>
#include <cstring>

#include "raster_io.h"

namespace bs3l::app {
namespace {

std::atomic<bool> g_interrupted{false};
extern "C" void on_signal(int) { g_interrupted = true; }

}  // namespace

bool interrupted() { return g_interrupted; }

void test_interrupt_at(const char *phase) {
  static const char *want = std::getenv("BS3L_TEST_SIGINT");
  static bool raised = false;
  if (want && !raised && std::strcmp(want, phase) == 0) raised = true, std::raise(SIGINT);
}

void install_signal_handlers() {
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
}

}  // namespace bs3l::app
