#include <gdal_alg.h>
#include <gdal_priv.h>
#include <ogr_spatialref.h>
#include <ogrsf_frmts.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <memory>
#include <unistd.h>

#include "extra_outputs.h"

namespace bs3l::app {
namespace {

struct Blob {
  int pixels = 0;
  double peak = -std::numeric_limits<double>::infinity(), sum = 0, col = 0, row = 0;
};

// 8-connected components of detected pixels; labels from 1, 0 = background.
std::vector<int32_t> label(const std::vector<uint8_t> &on, int rows, int cols, std::vector<Blob> &blobs,
                           const std::vector<float> &score) {
  std::vector<int32_t> lab(on.size(), 0);
  std::vector<size_t> stack;
  blobs.assign(1, Blob{});
  for (size_t seed = 0; seed < on.size(); ++seed) {
    if (!on[seed] || lab[seed]) continue;
    const int id = int(blobs.size());
    blobs.emplace_back();
    Blob &b = blobs.back();
    stack.push_back(seed);
    lab[seed] = id;
    while (!stack.empty()) {
      const size_t p = stack.back();
      stack.pop_back();
      const int r = int(p / cols), c = int(p % cols);
      ++b.pixels;
      b.sum += score[p];
      b.peak = std::max(b.peak, double(score[p]));
      b.col += c + 0.5, b.row += r + 0.5;
      for (int dr = -1; dr <= 1; ++dr)
        for (int dc = -1; dc <= 1; ++dc) {
          const int rr = r + dr, cc = c + dc;
          if (rr < 0 || cc < 0 || rr >= rows || cc >= cols) continue;
          const size_t q = size_t(rr) * cols + cc;
          if (on[q] && !lab[q]) lab[q] = id, stack.push_back(q);
        }
    }
  }
  return lab;
}

}  // namespace

std::string vector_driver_for(const std::string &path) {
  std::string ext = std::filesystem::path(path).extension().string();
  if (!ext.empty()) ext = ext.substr(1);
  for (char &c : ext) c = char(std::tolower(c));
  if (ext == "gpkg") return "GPKG";
  if (ext == "geojson" || ext == "json") return "GeoJSON";
  if (ext == "fgb") return "FlatGeobuf";
  if (ext == "kml") return "KML";
  throw Error("cannot tell the vector format of '" + path + "' (use .gpkg, .geojson, .fgb or .kml)");
}

int write_polygons(const std::string &path, const Raster &in, const std::vector<float> &score,
                   const std::vector<uint8_t> &detected, bool overwrite) {
  const int rows = in.cube.rows, cols = in.cube.cols;
  std::vector<Blob> blobs;
  std::vector<int32_t> lab = label(detected, rows, cols, blobs, score);

  // Polygonize the label raster (its pixels carry the blob id) into memory.
  GDALDriver *mem_drv = GetGDALDriverManager()->GetDriverByName("MEM");
  std::unique_ptr<GDALDataset> ras(mem_drv->Create("", cols, rows, 1, GDT_Int32, nullptr));
  double gt[6] = {0, 1, 0, 0, 0, 1};
  if (in.geo.has_transform) std::copy(in.geo.transform, in.geo.transform + 6, gt);
  ras->SetGeoTransform(gt);
  GDALRasterBand *band = ras->GetRasterBand(1);
  if (band->RasterIO(GF_Write, 0, 0, cols, rows, lab.data(), cols, rows, GDT_Int32, 0, 0) != CE_None)
    throw Error("cannot build the detection labels");
  OGRSpatialReference srs;
  const bool has_crs = !in.geo.wkt.empty() && srs.importFromWkt(in.geo.wkt.c_str()) == OGRERR_NONE;
  srs.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
  std::unique_ptr<GDALDataset> tmp_vec(GetGDALDriverManager()->GetDriverByName("Memory")->Create("", 0, 0, 0, GDT_Unknown, nullptr));
  OGRLayer *poly = tmp_vec->CreateLayer("p", has_crs ? &srs : nullptr, wkbPolygon, nullptr);
  OGRFieldDefn id_field("id", OFTInteger);
  poly->CreateField(&id_field);
  const char *options[] = {"8CONNECTED=8", nullptr};
  if (GDALPolygonize(band, band, poly, 0, const_cast<char **>(options), nullptr, nullptr) != CE_None)
    throw Error("polygonizing the detections failed");

  // Centroids in longitude/latitude through PROJ.
  std::unique_ptr<OGRCoordinateTransformation> to_wgs84;
  if (has_crs) {
    OGRSpatialReference wgs84;
    wgs84.SetWellKnownGeogCS("WGS84");
    wgs84.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
    to_wgs84.reset(OGRCreateCoordinateTransformation(&srs, &wgs84));
  }

  namespace fs = std::filesystem;
  const fs::path target(path);
  if (fs::exists(target) && !overwrite) throw Error("'" + path + "' exists; use --overwrite to replace it");
  const std::string drv_name = vector_driver_for(path);
  GDALDriver *drv = GetGDALDriverManager()->GetDriverByName(drv_name.c_str());
  if (!drv) throw Error("this GDAL has no " + drv_name + " driver");
  const fs::path tmp = target.parent_path() / ("." + target.stem().string() + ".tmp" + std::to_string(getpid()) +
                                               target.extension().string());
  CPLPushErrorHandler(CPLQuietErrorHandler);
  std::unique_ptr<GDALDataset> out(drv->Create(tmp.c_str(), 0, 0, 0, GDT_Unknown, nullptr));
  CPLPopErrorHandler();
  if (!out) throw Error("cannot create '" + path + "'");
  OGRLayer *layer = out->CreateLayer("detections", has_crs ? &srs : nullptr, wkbPolygon, nullptr);
  if (!layer) throw Error("cannot create a layer in '" + path + "'");
  const double pixel_area = std::abs(gt[1] * gt[5] - gt[2] * gt[4]);
  for (auto [name, type] : {std::pair{"id", OFTInteger}, {"pixels", OFTInteger}, {"area", OFTReal},
                            {"peak_score", OFTReal}, {"mean_score", OFTReal}, {"x", OFTReal}, {"y", OFTReal},
                            {"lon", OFTReal}, {"lat", OFTReal}}) {
    OGRFieldDefn f(name, type);
    if (layer->CreateField(&f) != OGRERR_NONE) throw Error("cannot create field '" + std::string(name) + "'");
  }
  int count = 0;
  poly->ResetReading();
  for (auto &f : *poly) {
    const int id = f->GetFieldAsInteger(0);
    if (id <= 0 || id >= int(blobs.size())) continue;
    const Blob &b = blobs[id];
    OGRFeature o(layer->GetLayerDefn());
    o.SetGeometry(f->GetGeometryRef());
    double col = b.col / b.pixels, row = b.row / b.pixels;
    double x = gt[0] + col * gt[1] + row * gt[2], y = gt[3] + col * gt[4] + row * gt[5];
    o.SetField("id", id);
    o.SetField("pixels", b.pixels);
    o.SetField("area", b.pixels * pixel_area);
    o.SetField("peak_score", b.peak);
    o.SetField("mean_score", b.sum / b.pixels);
    o.SetField("x", x);
    o.SetField("y", y);
    if (to_wgs84 && to_wgs84->Transform(1, &x, &y)) {
      o.SetField("lon", x);
      o.SetField("lat", y);
    }
    if (layer->CreateFeature(&o) != OGRERR_NONE) throw Error("cannot write a feature to '" + path + "'");
    ++count;
  }
  out.reset();  // flush and close before the rename
  std::error_code ec;
  fs::rename(tmp, target, ec);
  if (ec) {
    fs::remove(tmp, ec);
    throw Error("cannot write '" + path + "'");
  }
  return count;
}

}  // namespace bs3l::app
