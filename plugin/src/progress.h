// One progress bar across a run's phases (read, train, detect, write), in
// GDALProgressFunc style: the caller's function sees the whole run as one
// rising 0..1, with the phase's name as its message; returning FALSE
// cancels the run (Cancelled is thrown at the next check).
#pragma once
#include <cpl_progress.h>

namespace bs3l::app {

class RunProgress {
 public:
  // `func` may be null (no progress, no cancel but Ctrl-C's flag).
  RunProgress(GDALProgressFunc func, void *data);
  ~RunProgress();
  RunProgress(const RunProgress &) = delete;
  RunProgress &operator=(const RunProgress &) = delete;

  // Enters phase `name`, which fills [from, to] of the bar; throws
  // Cancelled when the caller cancels.
  void phase(const char *name, double from, double to);
  // Fraction `f` of the current phase done; false once cancelled.
  bool at(double f);
  // The bar at 1 (the run's work is done; its outputs wait to be renamed).
  void done();

  // True once the caller (or Ctrl-C) cancelled: GDAL calls then fail.
  static bool cancelled();

  // For GDAL's own progress (RasterIO, CreateCopy) inside the current phase:
  // pass `active()` as its data. A null `self` only checks for Ctrl-C.
  static int CPL_STDCALL gdal(double f, const char *, void *self);
  // The run in progress (the most recent one constructed), or null.
  static RunProgress *active();

 private:
  GDALProgressFunc func_;
  void *data_;
  const char *name_ = "";
  double from_ = 0, to_ = 0, last_ = 0;
  bool cancelled_ = false;
  RunProgress *outer_;
};

// The command line's GDALProgressFunc: the terminal bar when *(bool *)draw;
// FALSE once SIGINT/SIGTERM arrived. Tests: BS3L_TEST_SIGINT=PHASE raises
// SIGINT as the run first enters that phase (its message).
int CPL_STDCALL cli_progress(double f, const char *phase, void *draw);

}  // namespace bs3l::app
