// Georeferencing: read from an input, shifted to a window, set on an output.
#include <cpl_conv.h>
#include <ogr_spatialref.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "gdal_open.h"

namespace fs = std::filesystem;

namespace bs3l::app {
namespace {

std::shared_ptr<const OGRSpatialReference> shared_clone(const OGRSpatialReference *s) {
  if (!s) return nullptr;
  return std::shared_ptr<const OGRSpatialReference>(s->Clone(), [](const OGRSpatialReference *p) {
    const_cast<OGRSpatialReference *>(p)->Release();
  });
}

}  // namespace

Georef georef_of(GDALDataset &d) {
  Georef g;
  g.has_transform = d.GetGeoTransform(g.transform) == CE_None;
  g.srs = shared_clone(d.GetSpatialRef());
  for (auto [domain, target] : {std::pair{"RPC", &g.rpc}, std::pair{"GEOLOCATION", &g.geolocation}})
    for (char **md = d.GetMetadata(domain); md && *md; ++md) target->push_back(*md);
  // Geolocation arrays named by relative paths: made absolute, so that they
  // are still found from the output's folder.
  for (std::string &kv : g.geolocation)
    for (const char *key : {"X_DATASET=", "Y_DATASET="})
      if (kv.rfind(key, 0) == 0) {
        const fs::path file = kv.substr(std::strlen(key));
        std::error_code ec;
        if (file.empty() || file.is_absolute() || kv.find(':') != std::string::npos) continue;
        const fs::path beside = fs::path(d.GetDescription()).parent_path() / file;
        const fs::path found = fs::exists(beside, ec) ? beside : file;
        if (fs::exists(found, ec)) kv = key + fs::absolute(found, ec).lexically_normal().string();
      }
  if (d.GetGCPCount() > 0) {
    g.gcp_srs = shared_clone(d.GetGCPSpatialRef());
    const GDAL_GCP *gcps = d.GetGCPs();
    for (int i = 0; i < d.GetGCPCount(); ++i)
      g.gcps.push_back({gcps[i].pszId ? gcps[i].pszId : "", gcps[i].pszInfo ? gcps[i].pszInfo : "", gcps[i].dfGCPPixel,
                        gcps[i].dfGCPLine, gcps[i].dfGCPX, gcps[i].dfGCPY, gcps[i].dfGCPZ});
  }
  return g;
}

Georef shifted(const Georef &geo, int col, int row) {
  Georef g = geo;
  if (col == 0 && row == 0) return g;
  double *t = g.transform;
  t[0] += col * t[1] + row * t[2], t[3] += col * t[4] + row * t[5];
  for (Gcp &p : g.gcps) p.pixel -= col, p.line -= row;
  // RPC and geolocation arrays count pixels from an offset: move it.
  auto move = [](std::vector<std::string> &items, const char *key, int by) {
    for (std::string &kv : items)
      if (kv.rfind(std::string(key) + "=", 0) == 0) {
        char text[64];
        std::snprintf(text, sizeof(text), "%s=%.17g", key, std::atof(kv.c_str() + std::strlen(key) + 1) - by);
        kv = text;
      }
  };
  move(g.rpc, "LINE_OFF", row), move(g.rpc, "SAMP_OFF", col);
  move(g.geolocation, "PIXEL_OFFSET", col), move(g.geolocation, "LINE_OFFSET", row);
  return g;
}

void apply_georef(GDALDataset &d, const Georef &geo) {
  if (geo.has_transform) d.SetGeoTransform(const_cast<double *>(geo.transform));
  if (geo.srs) d.SetSpatialRef(geo.srs.get());
  for (auto [domain, items] : {std::pair{"RPC", &geo.rpc}, std::pair{"GEOLOCATION", &geo.geolocation}})
    if (!items->empty()) d.SetMetadata(string_list(*items).List(), domain);
  if (!geo.gcps.empty()) {
    std::vector<GDAL_GCP> g(geo.gcps.size());
    GDALInitGCPs(int(g.size()), g.data());
    for (size_t i = 0; i < g.size(); ++i) {
      const Gcp &p = geo.gcps[i];
      CPLFree(g[i].pszId), CPLFree(g[i].pszInfo);
      g[i].pszId = CPLStrdup(p.id.c_str()), g[i].pszInfo = CPLStrdup(p.info.c_str());
      g[i].dfGCPPixel = p.pixel, g[i].dfGCPLine = p.line, g[i].dfGCPX = p.x, g[i].dfGCPY = p.y, g[i].dfGCPZ = p.z;
    }
    d.SetGCPs(int(g.size()), g.data(), geo.gcp_srs.get());
    GDALDeinitGCPs(int(g.size()), g.data());
  }
}

}  // namespace bs3l::app
