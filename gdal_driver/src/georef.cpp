#include "georef.h"

#include <cpl_string.h>

#include <cmath>
#include <cstdlib>

namespace bs3l::matlab {
namespace {

const char *const kCrsNames[] = {"crs_wkt", "crs", "wkt", "spatial_ref", "projection", "coordinate_system_string"};

std::string trim(std::string s) {
  const char *ws = " \t\r\n{}";
  s.erase(0, s.find_first_not_of(ws));
  s.erase(s.find_last_not_of(ws) + 1);
  return s;
}

bool has_var(const std::vector<VarInfo> &vars, const std::string &name) {
  for (const VarInfo &v : vars)
    if (v.name == name) return true;
  return false;
}

void datum_to_srs(const std::string &datum, OGRSpatialReference *srs) {
  const std::string d = CPLString(datum).tolower();
  if (d.find("1927") != std::string::npos) srs->SetWellKnownGeogCS("NAD27");
  else if (d.find("1983") != std::string::npos) srs->SetWellKnownGeogCS("NAD83");
  else srs->SetWellKnownGeogCS("WGS84");  // ENVI's default datum
}

}  // namespace

bool is_georef_string(const std::string &name) {
  if (name == "map_info") return true;
  for (const char *n : kCrsNames)
    if (name == n) return true;
  return false;
}

bool parse_envi_map_info(const std::string &text, double gt[6], OGRSpatialReference *srs) {
  const CPLStringList f(CSLTokenizeString2(trim(text).c_str(), ",", CSLT_STRIPLEADSPACES | CSLT_STRIPENDSPACES));
  if (f.size() < 7) return false;
  double v[6];
  for (int i = 0; i < 6; ++i) {
    char *end = nullptr;
    v[i] = std::strtod(f[i + 1], &end);
    if (end == f[i + 1] || !std::isfinite(v[i])) return false;
  }
  const double ref_x = v[0], ref_y = v[1], east = v[2], north = v[3], dx = v[4], dy = v[5];
  if (dx <= 0 || dy <= 0) return false;
  // ENVI's reference pixel is 1-based and names the pixel's upper-left corner.
  gt[0] = east - (ref_x - 1) * dx;
  gt[1] = dx;
  gt[2] = 0;
  gt[3] = north + (ref_y - 1) * dy;
  gt[4] = 0;
  gt[5] = -dy;
  if (srs && EQUAL(f[0], "UTM") && f.size() >= 9) {
    const int zone = std::atoi(f[7]);
    if (zone >= 1 && zone <= 60) {
      datum_to_srs(f.size() >= 10 && !STARTS_WITH_CI(f[9], "units") ? f[9] : "", srs);
      srs->SetUTM(zone, !STARTS_WITH_CI(f[8], "S"));
    }
  } else if (srs && STARTS_WITH_CI(f[0], "Geographic")) {
    datum_to_srs(f.size() >= 8 ? f[7] : "", srs);
  }
  return true;
}

FileGeoref read_file_georef(mat_t *mat, const std::vector<VarInfo> &vars) {
  FileGeoref g;
  g.srs.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
  if (has_var(vars, "geotransform")) {
    const std::vector<double> t = read_numbers(mat, "geotransform");
    if (t.size() == 6 && (t[1] != 0 || t[2] != 0) && (t[4] != 0 || t[5] != 0)) {
      for (int i = 0; i < 6; ++i) g.transform[i] = t[i];
      g.has_transform = true;
    }
  }
  for (const char *name : kCrsNames) {
    if (!has_var(vars, name)) continue;
    const std::string text = trim(read_string(mat, name));
    if (text.empty()) continue;
    OGRSpatialReference s;
    if (s.SetFromUserInput(text.c_str(), OGRSpatialReference::SET_FROM_USER_INPUT_LIMITATIONS) == OGRERR_NONE) {
      // ENVI writes ESRI WKT ("UTM_Zone_11N"); prefer the EPSG entry it equals.
      if (OGRSpatialReference *m = s.FindBestMatch(70)) {
        if (m->IsSame(&s)) s = *m;
        delete m;
      }
      s.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
      g.srs = s;
      break;
    }
    CPLDebug("MATLAB", "variable %s is not a CRS GDAL understands", name);
  }
  if (has_var(vars, "map_info")) {
    double t[6];
    OGRSpatialReference s;
    if (parse_envi_map_info(read_string(mat, "map_info"), t, &s)) {
      if (!g.has_transform) {
        for (int i = 0; i < 6; ++i) g.transform[i] = t[i];
        g.has_transform = true;
      }
      if (g.srs.IsEmpty() && !s.IsEmpty()) {
        s.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
        g.srs = s;
      }
    }
  }
  return g;
}

}  // namespace bs3l::matlab
