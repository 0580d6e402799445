// threshold: detections and polygons from a score raster already written,
// without training again (score once, threshold often, as in ENVI).
#include <cmath>
#include <cstdio>

#include "commands.h"
#include "detections.h"
#include "options.h"
#include "raster_io.h"

namespace bs3l::app {

int cmd_threshold(const Argv &argv) {
  Args a("threshold", argv, spec_of("threshold"));
  const std::string path = a.positional()[0];
  if (!a.has("--detections") && !a.has("--vector")) throw Error("give --detections FILE, --vector FILE or both");
  const bool quiet = a.flag("-q");
  WriteOptions w;
  w.format = a.get("-of"), w.creation_options = a.all("-co"), w.overwrite = a.flag("--overwrite"), w.quiet = quiet;
  check_output_set(a, w, {a.get("--detections")}, {path});
  check_threshold_options(a, in_pfa_units(path));
  Raster r;
  r.path = path;
  r.cube.bands = 1;
  const std::vector<float> score = read_single_band(path, r.cube.rows, r.cube.cols, &r.geo);
  double thr = 0;
  const size_t hits = write_detections(a, w, r, score, &thr);
  if (!quiet) std::printf("Threshold %g: %zu pixel(s) detected\n", thr, hits);
  return 0;
}

}  // namespace bs3l::app
