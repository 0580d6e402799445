// evaluate and info: reading rasters, no training.
#include <gdal_priv.h>
#include <ogr_spatialref.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>

#include <nlohmann/json.hpp>

#include "bs3l/metrics.h"
#include "detections.h"
#include "jobs.h"
#include "output_file.h"
#include "raster_io.h"

namespace bs3l::app {
namespace {

// `path` is the temporary file; errors name `shown`, the user's.
void write_roc_csv(const std::string &path, const std::string &shown, const RocReport &r) {
  std::ofstream f(path);
  if (!f) throw Error("cannot write '" + shown + "'");
  f << "tau,pd,pf\n";
  for (const RocPoint &p : r.curve) f << p.tau << ',' << p.pd << ',' << p.pf << '\n';
  f.close();  // a full disk may show only when the buffer is flushed
  if (f.fail()) throw Error("cannot write '" + shown + "'");
}

// Observed background false-alarm rate at nominal rates 10^-0.25k, for
// scores in -log10(pfa) units: how far the calibration is from the truth.
struct CalPoint {
  double nominal, observed;
};

std::vector<CalPoint> calibration(const std::vector<float> &score, const std::vector<int8_t> &labels) {
  std::vector<float> bg;
  for (size_t i = 0; i < score.size(); ++i)
    if (labels[i] == 0 && std::isfinite(score[i])) bg.push_back(score[i]);
  std::vector<CalPoint> out;
  if (bg.empty()) return out;
  std::sort(bg.begin(), bg.end());
  for (int k = 0; k <= 24; ++k) {  // 1 to 1e-6
    const double nominal = std::pow(10.0, -0.25 * k);
    const size_t at = std::lower_bound(bg.begin(), bg.end(), float(-std::log10(nominal))) - bg.begin();
    out.push_back({nominal, double(bg.size() - at) / double(bg.size())});
  }
  return out;
}

double observed_at(const std::vector<CalPoint> &c, double nominal) {
  for (const CalPoint &p : c)
    if (std::fabs(std::log10(p.nominal / nominal)) < 1e-9) return p.observed;
  return NAN;
}

// A plain SVG: Pd against Pf (linear, as most HAD papers plot it) and, for
// calibrated scores, the observed against the nominal false-alarm rate
// (log-log, with the factor-of-2 band).
void write_svg(const std::string &path, const std::string &shown, const RocReport &r, const std::vector<CalPoint> &cal,
               const std::vector<std::string> &notes) {
  std::ofstream f(path);
  if (!f) throw Error("cannot write '" + shown + "'");
  const double size = 400, m = 50, width = (cal.empty() ? 1 : 2) * (size + 2 * m);
  f << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width << "\" height=\"" << size + 2 * m
    << "\" font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  auto frame = [&](double x0, const std::string &title, const std::string &xl, const std::string &yl) {
    f << "<rect x=\"" << x0 + m << "\" y=\"" << m << "\" width=\"" << size << "\" height=\"" << size
      << "\" fill=\"none\" stroke=\"black\"/>\n"
      << "<text x=\"" << x0 + m + size / 2 << "\" y=\"" << size + 1.7 * m << "\" text-anchor=\"middle\">" << xl
      << "</text>\n<text x=\"" << x0 + 15 << "\" y=\"" << m + size / 2 << "\" transform=\"rotate(-90 " << x0 + 15 << ' '
      << m + size / 2 << ")\" text-anchor=\"middle\">" << yl << "</text>\n<text x=\"" << x0 + m + size / 2 << "\" y=\""
      << m - 15 << "\" text-anchor=\"middle\">" << title << "</text>\n";
  };
  std::ostringstream title;
  title << "ROC, AUC(D,F) = " << r.auc_df;
  frame(0, title.str(), "false-alarm rate Pf", "detection rate Pd");
  f << "<polyline fill=\"none\" stroke=\"#c0392b\" stroke-width=\"2\" points=\"" << m << ',' << m + size << ' ';
  for (auto it = r.curve.rbegin(); it != r.curve.rend(); ++it) f << m + it->pf * size << ',' << m + (1 - it->pd) * size << ' ';
  f << m + size << ',' << m << "\"/>\n";
  for (size_t k = 0; k < notes.size(); ++k)  // the figures an analyst reads beside the curve
    f << "<text x=\"" << m + size - 8 << "\" y=\"" << m + size - 12 - 16.0 * double(notes.size() - 1 - k)
      << "\" text-anchor=\"end\">" << notes[k] << "</text>\n";
  if (!cal.empty()) {
    const double x0 = size + 2 * m, decades = 6;  // both axes 1e-6 .. 1
    auto px = [&](double v) { return x0 + m + (1 + std::log10(std::max(v, 1e-6)) / decades) * size; };
    auto py = [&](double v) { return m + (-std::log10(std::max(v, 1e-6)) / decades) * size; };
    frame(x0, "calibration (grey: within a factor of 2)", "nominal false-alarm probability (log)",
          "observed background false-alarm rate (log)");
    f << "<polygon fill=\"#dddddd\" points=\"" << px(1e-6) << ',' << py(2e-6) << ' ' << px(0.5) << ',' << py(1) << ' '
      << px(1) << ',' << py(1) << ' ' << px(1) << ',' << py(0.5) << ' ' << px(2e-6) << ',' << py(1e-6) << ' ' << px(1e-6)
      << ',' << py(1e-6) << "\"/>\n<line x1=\"" << px(1e-6) << "\" y1=\"" << py(1e-6) << "\" x2=\"" << px(1) << "\" y2=\""
      << py(1) << "\" stroke=\"black\" stroke-dasharray=\"4\"/>\n<polyline fill=\"none\" stroke=\"#2471a3\" "
      << "stroke-width=\"2\" points=\"";
    for (const CalPoint &c : cal)
      if (c.observed > 0) f << px(c.nominal) << ',' << py(c.observed) << ' ';
    f << "\"/>\n";
    for (int d = 0; d <= 6; ++d)
      f << "<text x=\"" << px(std::pow(10.0, -d)) << "\" y=\"" << m + size + 15 << "\" text-anchor=\"middle\">1e-" << d
        << "</text>\n<text x=\"" << x0 + m - 4 << "\" y=\"" << py(std::pow(10.0, -d)) + 4
        << "\" text-anchor=\"end\">1e-" << d << "</text>\n";
  }
  f << "</svg>\n";
  f.close();
  if (f.fail()) throw Error("cannot write '" + shown + "'");
}


}  // namespace

// The false-alarm rates analysts threshold at.
const std::pair<const char *, double> kRates[] = {{"1e-3", 1e-3}, {"1e-2", 1e-2}, {"1e-1", 1e-1}};

int evaluate_run(const EvaluateJob &job) {
  // Both files by the rule of every output, refused early if they exist.
  std::unique_ptr<PendingOutput> roc, plot;
  for (auto [path, out] : {std::pair{&job.roc, &roc}, std::pair{&job.plot, &plot}}) {
    if (path->empty()) continue;
    check_output_path(*path, job.overwrite, {job.scores, job.truth});
    *out = std::make_unique<PendingOutput>(*path, job.overwrite);
  }
  int sr = 0, sc = 0, tr = 0, tc = 0;
  std::vector<float> s = read_single_band(job.scores, sr, sc);
  std::vector<float> t = read_single_band(job.truth, tr, tc);
  if (sr != tr || sc != tc)
    throw Error("scores are " + std::to_string(sc) + "x" + std::to_string(sr) + " but the truth is " +
                std::to_string(tc) + "x" + std::to_string(tr));
  const std::vector<int8_t> labels = truth_labels(t);
  const bool pfa = in_pfa_units(job.scores);
  check_threshold_units(job.threshold, pfa, "scores in pfa units (these are raw; use --threshold)");
  const RocReport r = roc_report(s, labels);
  const std::vector<CalPoint> cal = pfa ? calibration(s, labels) : std::vector<CalPoint>{};
  const double ap = average_precision(s, labels);
  double thr = 0;
  const ObjectCounts objects = object_counts(detection_mask(job.threshold, s, thr), labels, sr, sc);
  std::vector<std::pair<std::string, double>> pd;
  for (const auto &[name, far] : kRates) pd.push_back({name, detection_rate_at(s, labels, far)});
  char line[200];
  std::vector<std::string> notes;
  std::snprintf(line, sizeof line, "PR-AUC %.4f; Pd %.3f, %.3f, %.3f at Pf 1e-3, 1e-2, 1e-1", ap, pd[0].second,
                pd[1].second, pd[2].second);
  notes.push_back(line);
  std::snprintf(line, sizeof line, "at score %g: %d of %d objects hit, %d false objects", thr, objects.hit,
                objects.truth_objects, objects.false_objects);
  notes.push_back(line);
  if (roc) write_roc_csv(roc->temp(), job.roc, r), roc->commit();
  if (plot) write_svg(plot->temp(), job.plot, r, cal, notes), plot->commit();
  if (job.json) {
    nlohmann::ordered_json j = {{"auc_df", r.auc_df}, {"auc_dtau", r.auc_dtau}, {"auc_ftau", r.auc_ftau},
                                {"td", r.td()},       {"bs", r.bs()},           {"snpr", r.snpr()},
                                {"odp", r.odp()},     {"oa", r.oa()},           {"pr_auc", ap},
                                {"anomaly_pixels", r.positives}, {"background_pixels", r.negatives}};
    for (const auto &[name, value] : pd) j["pd_at_far_" + name] = value;
    if (!cal.empty()) j["observed_far_at_1e-2"] = observed_at(cal, 1e-2), j["observed_far_at_1e-3"] = observed_at(cal, 1e-3);
    j["objects"] = {{"threshold", thr},
                    {"truth_objects", objects.truth_objects},
                    {"hit", objects.hit},
                    {"detected_objects", objects.detected_objects},
                    {"false_objects", objects.false_objects}};
    std::printf("%s\n", j.dump().c_str());
  } else {
    std::printf("AUC(D,F)   %.6f\nAUC(D,tau) %.6f\nAUC(F,tau) %.6f\n", r.auc_df, r.auc_dtau, r.auc_ftau);
    std::printf("TD   = AUC(D,F) + AUC(D,tau)              %.6f\n", r.td());
    std::printf("BS   = AUC(D,F) - AUC(F,tau)              %.6f\n", r.bs());
    std::printf("SNPR = AUC(D,tau) / AUC(F,tau)            %.6f\n", r.snpr());
    std::printf("ODP  = AUC(D,tau) + 1 - AUC(F,tau)        %.6f\n", r.odp());
    std::printf("OA   = AUC(D,F) + AUC(D,tau) - AUC(F,tau) %.6f\n", r.oa());
    std::printf("pixels: %zu anomaly, %zu background\n", r.positives, r.negatives);
    std::printf("PR-AUC (average precision)               %.6f\n", ap);
    for (const auto &[name, value] : pd)
      std::printf("detection rate at background false-alarm rate %s: %.6f\n", name.c_str(), value);
    std::printf("objects at score >= %g: %d of %d truth objects hit; %d of %d detected objects false\n", thr,
                objects.hit, objects.truth_objects, objects.false_objects, objects.detected_objects);
    for (double p : {1e-1, 1e-2, 1e-3})
      if (!cal.empty())
        std::printf("background false-alarm rate at pfa %g: %.6g observed (x%.2f)\n", p, observed_at(cal, p),
                    observed_at(cal, p) / p);
  }
  return 0;
}

int info_run(const InfoJob &job) {
  ReadOptions ro = job.read;
  ro.quiet = true;
  // Strips of rows, so that a flight line of any length is counted in
  // bounded memory (4 MB of cube plus as much of GDAL's cache; the
  // process itself, LibTorch loaded, takes about 170 MB).
  const size_t kStrip = size_t(4) << 20;
  GDALSetCacheMax64(GIntBig(kStrip));
  RasterReader reader(job.input, ro);
  const Raster &r = reader.info();
  const size_t row_bytes = size_t(4) * r.cube.bands * r.scene_cols;
  const int strip = int(std::max<size_t>(1, std::min<size_t>(r.scene_rows, kStrip / row_bytes)));
  ReadCounts total, part;
  size_t valid = 0, most_flat = 0;
  for (int y = 0; y < r.scene_rows; y += strip) {
    const Cube c = reader.read({y, 0, std::min(strip, r.scene_rows - y), r.scene_cols}, false, &part);
    valid += c.valid_count();
    total.nodata += part.nodata, total.nonfinite += part.nonfinite, total.partial += part.partial;
    total.flat += part.flat;
    if (part.flat > most_flat) most_flat = part.flat, total.flat_value = part.flat_value;  // the strip's commonest
  }
  std::printf("File:       %s\n", r.path.c_str());
  std::printf("Size:       %d columns x %d rows, %d band(s) used", r.scene_cols, r.scene_rows, r.cube.bands);
  if (r.dropped_bad_bands) std::printf(" (%d bad band(s) dropped by bbl)", r.dropped_bad_bands);
  std::printf("\nValid:      %zu of %zu pixels\n", valid, size_t(r.scene_rows) * r.scene_cols);
  std::string nodata;
  for (const std::string &v : r.nodata) nodata += (nodata.empty() ? "" : ", ") + v;
  std::printf("Nodata:     %s", nodata.empty() ? "none" : nodata.c_str());
  if (!nodata.empty()) std::printf(", in every band at %zu pixel(s)", total.nodata);
  if (total.partial) std::printf(", in some bands only at %zu (used as data)", total.partial);
  if (total.nonfinite) std::printf("; NaN or Inf at %zu pixel(s) (left out)", total.nonfinite);
  if (total.flat)
    std::printf("; one value in every band at %zu pixel(s) (e.g. %g: undeclared fill?)", total.flat,
                double(total.flat_value));
  std::printf("\n");
  const std::string bad = band_ranges(r.bad_bands);
  std::printf("Bad bands:  %s%s\n", bad.empty() ? "none marked" : bad.c_str(),
              bad.empty() ? "" : (ro.keep_bad_bands ? " (kept: --keep-bad-bands)" : " (dropped; --keep-bad-bands keeps them)"));
  if (!r.wavelengths.empty())
    std::printf("Wavelength: %g to %g %s\n", r.wavelengths.front(), r.wavelengths.back(), r.wavelength_units.c_str());
  else
    std::printf("Wavelength: unknown\n");
  if (r.geo.has_transform)
    std::printf("Origin:     (%.6f, %.6f), pixel %.6g x %.6g\n", r.geo.transform[0], r.geo.transform[3], r.geo.transform[1],
                r.geo.transform[5]);
  else
    std::printf("Origin:     no geotransform\n");
  if (r.geo.srs) {
    const OGRSpatialReference &srs = *r.geo.srs;
    const char *code = srs.GetAuthorityCode(nullptr), *auth = srs.GetAuthorityName(nullptr);
    const std::string id = code && auth ? " (" + std::string(auth) + ":" + code + ")" : "";
    const double epoch = srs.GetCoordinateEpoch();
    std::printf("CRS:        %s%s", srs.GetName() ? srs.GetName() : "?", id.c_str());
    if (epoch > 0) std::printf(", epoch %g", epoch);
    std::printf("\n");
  } else {
    std::printf("CRS:        none\n");
  }
  std::printf("Bands used: %s\n", band_ranges(r.band_index).c_str());
  return 0;
}

}  // namespace bs3l::app
