// threshold: detections and polygons from a score raster already written,
// without training again (score once, threshold often, as in ENVI).
#include <cstdio>

#include "detections.h"
#include "jobs.h"
#include "progress.h"
#include "raster_io.h"

namespace bs3l::app {

int threshold_run(const ThresholdJob &job, GDALProgressFunc progress, void *data) {
  RunProgress p(progress, data);
  check_output_set(job.out, {job.scores});
  check_threshold_units(job.out.threshold, in_pfa_units(job.scores),
                        "scores in pfa units (these are raw; use --threshold)");
  p.phase("read", 0, 0.5);
  Raster r;
  r.path = job.scores;
  r.cube.bands = 1;
  const std::vector<float> score = read_single_band(job.scores, r.cube.rows, r.cube.cols, &r.geo);
  p.phase("write", 0.5, 1);
  const Detected hits = write_detections(job.out, r, score);
  p.done();
  if (job.quiet) return 0;
  if (!job.out.vector.empty()) std::printf("%d detection polygon(s) written to %s\n", hits.polygons, job.out.vector.c_str());
  std::printf("Threshold %g: %zu pixel(s) detected\n", hits.threshold, hits.pixels);
  return 0;
}

}  // namespace bs3l::app
