// evaluate and info: reading rasters, no training.
#include <gdal_priv.h>
#include <ogr_spatialref.h>

#include <cmath>
#include <cstdio>
#include <fstream>

#include "args.h"
#include "bs3l/metrics.h"
#include "commands.h"
#include "raster_io.h"

namespace bs3l::app {
namespace {

void write_roc_csv(const std::string &path, const RocReport &r) {
  std::ofstream f(path);
  if (!f) throw Error("cannot write '" + path + "'");
  f << "tau,pd,pf\n";
  for (const RocPoint &p : r.curve) f << p.tau << ',' << p.pd << ',' << p.pf << '\n';
  if (!f) throw Error("cannot write '" + path + "'");
}

// A plain SVG of Pd against Pf (log-free, as most HAD papers plot it).
void write_roc_svg(const std::string &path, const RocReport &r) {
  std::ofstream f(path);
  if (!f) throw Error("cannot write '" + path + "'");
  const double size = 400, m = 50;
  f << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << size + 2 * m << "\" height=\"" << size + 2 * m
    << "\" font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
    << "<rect x=\"" << m << "\" y=\"" << m << "\" width=\"" << size << "\" height=\"" << size
    << "\" fill=\"none\" stroke=\"black\"/>\n<polyline fill=\"none\" stroke=\"#c0392b\" stroke-width=\"2\" points=\"" << m
    << ',' << m + size << ' ';
  for (auto it = r.curve.rbegin(); it != r.curve.rend(); ++it)
    f << m + it->pf * size << ',' << m + (1 - it->pd) * size << ' ';
  f << m + size << ',' << m << "\"/>\n"
    << "<text x=\"" << m + size / 2 << "\" y=\"" << size + 1.7 * m << "\" text-anchor=\"middle\">false-alarm rate Pf</text>\n"
    << "<text x=\"15\" y=\"" << m + size / 2 << "\" transform=\"rotate(-90 15 " << m + size / 2
    << ")\" text-anchor=\"middle\">detection rate Pd</text>\n"
    << "<text x=\"" << m + size / 2 << "\" y=\"" << m - 15 << "\" text-anchor=\"middle\">ROC, AUC(D,F) = " << r.auc_df
    << "</text>\n</svg>\n";
  if (!f) throw Error("cannot write '" + path + "'");
}

}  // namespace

int cmd_evaluate(const Argv &argv) {
  ArgSpec spec;
  spec.with_value = {"--roc", "--plot"};
  spec.flags = {"--json", "-q", "--quiet"};
  spec.min_positional = spec.max_positional = 2;
  Args a("evaluate", argv, spec);
  int sr = 0, sc = 0, tr = 0, tc = 0;
  std::vector<float> s = read_single_band(a.positional()[0], sr, sc);
  std::vector<float> t = read_single_band(a.positional()[1], tr, tc);
  if (sr != tr || sc != tc)
    throw Error("scores are " + std::to_string(sc) + "x" + std::to_string(sr) + " but the truth is " +
                std::to_string(tc) + "x" + std::to_string(tr));
  const RocReport r = roc_report(s, truth_labels(t));
  if (a.has("--roc")) write_roc_csv(a.get("--roc"), r);
  if (a.has("--plot")) write_roc_svg(a.get("--plot"), r);
  if (a.flag("--json")) {
    std::printf(
        "{\"auc_df\": %.6f, \"auc_dtau\": %.6f, \"auc_ftau\": %.6f, \"td\": %.6f, \"bs\": %.6f, \"snpr\": %.6f, "
        "\"odp\": %.6f, \"oa\": %.6f, \"anomaly_pixels\": %zu, \"background_pixels\": %zu}\n",
        r.auc_df, r.auc_dtau, r.auc_ftau, r.td(), r.bs(), r.snpr(), r.odp(), r.oa(), r.positives, r.negatives);
  } else {
    std::printf("AUC(D,F)   %.6f\nAUC(D,tau) %.6f\nAUC(F,tau) %.6f\n", r.auc_df, r.auc_dtau, r.auc_ftau);
    std::printf("TD   = AUC(D,F) + AUC(D,tau)              %.6f\n", r.td());
    std::printf("BS   = AUC(D,F) - AUC(F,tau)              %.6f\n", r.bs());
    std::printf("SNPR = AUC(D,tau) / AUC(F,tau)            %.6f\n", r.snpr());
    std::printf("ODP  = AUC(D,tau) + 1 - AUC(F,tau)        %.6f\n", r.odp());
    std::printf("OA   = AUC(D,F) + AUC(D,tau) - AUC(F,tau) %.6f\n", r.oa());
    std::printf("pixels: %zu anomaly, %zu background\n", r.positives, r.negatives);
  }
  return 0;
}

int cmd_info(const Argv &argv) {
  ArgSpec spec;
  spec.with_value = {"-b"};
  spec.flags = {"--keep-bad-bands"};
  spec.min_positional = spec.max_positional = 1;
  Args a("info", argv, spec);
  ReadOptions ro;
  ro.bands = a.get("-b");
  ro.keep_bad_bands = a.flag("--keep-bad-bands");
  ro.quiet = true;
  Raster r = read_raster(a.positional()[0], ro);
  std::printf("File:       %s\n", r.path.c_str());
  std::printf("Size:       %d columns x %d rows, %d band(s) used", r.cube.cols, r.cube.rows, r.cube.bands);
  if (r.dropped_bad_bands) std::printf(" (%d bad band(s) dropped by bbl)", r.dropped_bad_bands);
  std::printf("\nValid:      %zu of %zu pixels\n", r.cube.valid_count(), r.cube.pixels());
  std::string nodata;
  for (const std::string &v : r.nodata) nodata += (nodata.empty() ? "" : ", ") + v;
  std::printf("Nodata:     %s\n", nodata.empty() ? "none" : nodata.c_str());
  std::string bad;
  for (int b : r.bad_bands) bad += (bad.empty() ? "" : ",") + std::to_string(b);
  std::printf("Bad bands:  %s%s\n", bad.empty() ? "none marked" : bad.c_str(),
              bad.empty() ? "" : (a.flag("--keep-bad-bands") ? " (kept: --keep-bad-bands)" : " (dropped; --keep-bad-bands keeps them)"));
  if (!r.wavelengths.empty())
    std::printf("Wavelength: %g to %g %s\n", r.wavelengths.front(), r.wavelengths.back(), r.wavelength_units.c_str());
  else
    std::printf("Wavelength: unknown\n");
  if (r.geo.has_transform)
    std::printf("Origin:     (%.6f, %.6f), pixel %.6g x %.6g\n", r.geo.transform[0], r.geo.transform[3], r.geo.transform[1],
                r.geo.transform[5]);
  else
    std::printf("Origin:     no geotransform\n");
  if (!r.geo.wkt.empty()) {
    OGRSpatialReference srs;
    srs.importFromWkt(r.geo.wkt.c_str());
    const char *code = srs.GetAuthorityCode(nullptr), *auth = srs.GetAuthorityName(nullptr);
    const std::string id = code && auth ? " (" + std::string(auth) + ":" + code + ")" : "";
    std::printf("CRS:        %s%s\n", srs.GetName() ? srs.GetName() : "?", id.c_str());
  } else {
    std::printf("CRS:        none\n");
  }
  std::printf("Bands used: ");
  for (size_t i = 0; i < r.band_index.size(); ++i) std::printf("%s%d", i ? "," : "", r.band_index[i]);
  std::printf("\n");
  return 0;
}

}  // namespace bs3l::app
