#include "detections.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

#include "extra_outputs.h"
#include "result.h"
#include "styles.h"

namespace bs3l::app {

void check_threshold_options(const Args &a, bool pfa) {
  if (a.has("--max-pfa")) {
    if (!pfa) throw Error("--max-pfa needs scores in pfa units (these are raw; use --threshold)");
    if (a.has("--threshold") || a.has("--top-percent"))
      throw Error("give one of --max-pfa, --threshold and --top-percent");
    const double p = a.get_double("--max-pfa", 0);
    if (!(p > 0 && p < 1)) throw Error("--max-pfa must be in (0, 1), e.g. 1e-3");
  }
  if (a.has("--threshold") && a.has("--top-percent")) throw Error("give one of --threshold and --top-percent");
  if (a.has("--top-percent")) {
    const double pct = a.get_double("--top-percent");
    if (!(pct > 0 && pct <= 100)) throw Error("--top-percent must be in (0, 100]");
  }
}

std::vector<uint8_t> detection_mask(const Args &a, const std::vector<float> &score, double &thr) {
  std::vector<float> valid;
  for (float s : score)
    if (std::isfinite(s)) valid.push_back(s);
  if (valid.empty()) {  // e.g. a tile that is all nodata: nothing detected
    thr = std::numeric_limits<double>::quiet_NaN();
    return std::vector<uint8_t>(score.size(), 0);
  }
  if (a.has("--threshold")) {
    thr = a.get_double("--threshold", 0);
  } else if (a.has("--max-pfa")) {
    thr = -std::log10(a.get_double("--max-pfa", 0));
  } else {
    const double pct = a.get_double("--top-percent");
    std::sort(valid.begin(), valid.end());
    const size_t k = std::min(valid.size() - 1, size_t(std::floor(valid.size() * (1 - pct / 100.0))));
    thr = valid[k];
  }
  std::vector<uint8_t> on(score.size());
  for (size_t i = 0; i < on.size(); ++i) on[i] = std::isfinite(score[i]) && score[i] >= thr;
  return on;
}

void check_output_set(const Args &a, const WriteOptions &w, const std::vector<std::string> &outs,
                      const std::vector<std::string> &inputs) {
  std::vector<std::string> all = outs;
  for (const char *extra : {"--vector", "--quicklook"})
    if (a.has(extra)) all.push_back(a.get(extra));
  for (size_t i = 0; i < all.size(); ++i)
    for (size_t j = i + 1; j < all.size(); ++j)
      if (!all[i].empty() && all[i] == all[j]) throw Error("'" + all[i] + "' is given for two outputs");
  for (const std::string &o : outs)
    if (!o.empty()) check_output(o, w, inputs);
  // The extra outputs have fixed formats, whatever -of says.
  WriteOptions fixed = w;
  if (a.has("--quicklook")) {
    fixed.format = "PNG";
    check_output(a.get("--quicklook"), fixed, inputs);
  }
  if (a.has("--vector")) {
    fixed.format = vector_driver_for(a.get("--vector"), a.get("-f"));
    check_output(a.get("--vector"), fixed, inputs);
  }
}

size_t write_detections(const Args &a, const WriteOptions &w, const Raster &in, const std::vector<float> &score,
                        double *thr_out) {
  if (!a.has("--detections") && !a.has("--vector")) return 0;
  double thr = 0;
  const std::vector<uint8_t> on = detection_mask(a, score, thr);
  if (thr_out) *thr_out = thr;
  if (a.has("--detections")) {
    std::vector<float> mask(score.size());
    for (size_t i = 0; i < mask.size(); ++i) mask[i] = std::isfinite(score[i]) ? float(on[i]) : NAN;
    write_raster(a.get("--detections"), w, in.cube.rows, in.cube.cols, {mask.data()}, in.geo,
                 {"detection (1) / background (0)"}, {{"BS3LNET_THRESHOLD", std::to_string(thr)}}, true, "", {},
                 mask_style());
  }
  if (a.has("--vector")) {
    const int n = write_polygons(a.get("--vector"), in, score, on, a.flag("--overwrite"),
                                 {a.get("-f"), a.all("-lco"), a.get("-nln")});
    if (!w.quiet) std::printf("%d detection polygon(s) written to %s\n", n, a.get("--vector").c_str());
  }
  const size_t n = size_t(std::count(on.begin(), on.end(), uint8_t(1)));
  run_result()["detections"] = {{"threshold", thr}, {"pixels", n}};
  return n;
}

}  // namespace bs3l::app
