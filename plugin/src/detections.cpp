#include "detections.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

#include "extra_outputs.h"
#include "result.h"
#include "styles.h"

namespace bs3l::app {

void check_threshold_units(const Threshold &t, bool pfa, const std::string &raw_why) {
  if (t.kind == Threshold::MaxPfa && !pfa) throw Error("--max-pfa needs " + raw_why);
}

std::vector<uint8_t> detection_mask(const Threshold &t, const std::vector<float> &score, double &thr) {
  std::vector<float> valid;
  for (float s : score)
    if (std::isfinite(s)) valid.push_back(s);
  if (valid.empty()) {  // e.g. a tile that is all nodata: nothing detected
    thr = std::numeric_limits<double>::quiet_NaN();
    return std::vector<uint8_t>(score.size(), 0);
  }
  if (t.kind == Threshold::Value) {
    thr = t.value;
  } else if (t.kind == Threshold::MaxPfa) {
    thr = -std::log10(t.value);
  } else {
    std::sort(valid.begin(), valid.end());
    const size_t k = std::min(valid.size() - 1, size_t(std::floor(valid.size() * (1 - t.value / 100.0))));
    thr = valid[k];
  }
  std::vector<uint8_t> on(score.size());
  for (size_t i = 0; i < on.size(); ++i) on[i] = std::isfinite(score[i]) && score[i] >= thr;
  return on;
}

void check_output_set(const Outputs &o, const std::vector<std::string> &inputs) {
  const std::vector<std::string> all = {o.scores, o.model, o.background, o.detections, o.vector, o.quicklook};
  for (size_t i = 0; i < all.size(); ++i)
    for (size_t j = i + 1; j < all.size(); ++j)
      if (!all[i].empty() && all[i] == all[j]) throw Error("'" + all[i] + "' is given for two outputs");
  for (const std::string &path : {o.scores, o.background, o.detections, o.model})
    if (!path.empty()) check_output(path, o.write, inputs);
  // The extra outputs have fixed formats, whatever -of says.
  WriteOptions fixed = o.write;
  if (!o.quicklook.empty()) {
    fixed.format = "PNG";
    check_output(o.quicklook, fixed, inputs);
  }
  if (!o.vector.empty()) {
    fixed.format = vector_driver_for(o.vector, o.vector_options.format);
    check_output(o.vector, fixed, inputs);
  }
}

Detected write_detections(const Outputs &o, const Raster &in, const std::vector<float> &score) {
  Detected d;
  if (!o.thresholds()) return d;
  const std::vector<uint8_t> on = detection_mask(o.threshold, score, d.threshold);
  if (!o.detections.empty()) {
    std::vector<float> mask(score.size());
    for (size_t i = 0; i < mask.size(); ++i) mask[i] = std::isfinite(score[i]) ? float(on[i]) : NAN;
    write_raster(o.detections, o.write, in.cube.rows, in.cube.cols, {mask.data()}, in.geo,
                 {"detection (1) / background (0)"}, {{"BS3LNET_THRESHOLD", std::to_string(d.threshold)}}, true, "",
                 {}, mask_style());
  }
  if (!o.vector.empty()) d.polygons = write_polygons(o.vector, in, score, on, o.write.overwrite, o.vector_options);
  d.pixels = size_t(std::count(on.begin(), on.end(), uint8_t(1)));
  run_result()["detections"] = {{"threshold", d.threshold}, {"pixels", d.pixels}};
  return d;
}

}  // namespace bs3l::app
