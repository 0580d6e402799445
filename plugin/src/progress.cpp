#include "progress.h"

#include <algorithm>

#include "bs3l/bs3lnet.h"
#include "raster_io.h"
#include "terminal.h"

namespace bs3l::app {
namespace {
RunProgress *g_active = nullptr;
}

RunProgress::RunProgress(GDALProgressFunc func, void *data) : func_(func), data_(data), outer_(g_active) {
  g_active = this;
}

RunProgress::~RunProgress() { g_active = outer_; }

RunProgress *RunProgress::active() { return g_active; }

void RunProgress::phase(const char *name, double from, double to) {
  name_ = name, from_ = std::max(from, last_), to_ = std::max(to, from_);
  if (!at(0)) throw Cancelled();
}

bool RunProgress::at(double f) {
  if (cancelled_ || interrupted()) return cancelled_ = true, false;
  // Rising only: GDAL's bar restarts when it sees a smaller value.
  last_ = std::max(last_, from_ + (to_ - from_) * std::clamp(f, 0.0, 1.0));
  if (func_ && !func_(last_, name_, data_)) cancelled_ = true;
  return !cancelled_;
}

void RunProgress::done() {
  from_ = to_ = 1;
  if (!at(1)) throw Cancelled();
}

bool RunProgress::cancelled() { return interrupted() || (g_active && g_active->cancelled_); }

int CPL_STDCALL RunProgress::gdal(double f, const char *, void *self) {
  if (!self) return interrupted() ? FALSE : TRUE;
  return static_cast<RunProgress *>(self)->at(f) ? TRUE : FALSE;
}

int CPL_STDCALL cli_progress(double f, const char *phase, void *draw) {
  if (phase) test_interrupt_at(phase);
  if (interrupted()) return FALSE;
  if (*static_cast<bool *>(draw)) term_progress(f);
  return TRUE;
}

}  // namespace bs3l::app
