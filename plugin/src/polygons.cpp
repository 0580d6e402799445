#include <cpl_string.h>
#include <gdal_alg.h>
#include <gdal_priv.h>
#include <ogr_spatialref.h>
#include <ogrsf_frmts.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <map>
#include <memory>
#include <sstream>

#include "extra_outputs.h"
#include "output_file.h"
#include "raster_io.h"
#include "terminal.h"

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

std::string vector_driver_for(const std::string &path, const std::string &format) {
  GDALDriverManager *dm = GetGDALDriverManager();
  auto writes_vectors = [](GDALDriver *d) {
    return d && d->GetMetadataItem(GDAL_DCAP_VECTOR) && d->GetMetadataItem(GDAL_DCAP_CREATE);
  };
  if (!format.empty()) {
    if (!writes_vectors(dm->GetDriverByName(format.c_str())))
      throw Error("'" + format + "' is not a vector format this GDAL can write (see ogrinfo --formats)");
    return format;
  }
  std::string ext = std::filesystem::path(path).extension().string();
  if (!ext.empty()) ext = ext.substr(1);
  for (char &c : ext) c = char(std::tolower(c));
  // Extensions several drivers claim, settled as GIS users expect.
  const std::map<std::string, std::string> preferred = {{"json", "GeoJSON"}, {"geojson", "GeoJSON"},
                                                        {"kml", "KML"},      {"gpkg", "GPKG"},
                                                        {"shp", "ESRI Shapefile"}, {"csv", "CSV"}};
  if (auto it = preferred.find(ext); it != preferred.end() && writes_vectors(dm->GetDriverByName(it->second.c_str())))
    return it->second;
  std::vector<std::string> found;  // every driver that writes vectors and claims the extension
  for (int i = 0; i < dm->GetDriverCount() && !ext.empty(); ++i) {
    GDALDriver *d = dm->GetDriver(i);
    const char *exts = d->GetMetadataItem(GDAL_DMD_EXTENSIONS);
    if (!exts || !writes_vectors(d)) continue;
    std::istringstream list(exts);
    for (std::string e; list >> e;)
      if (e == ext) found.push_back(d->GetDescription());
  }
  if (found.size() == 1) return found[0];
  std::string why = "use an extension such as .gpkg, .geojson, .shp, .fgb or .kml, or -f FORMAT";
  if (found.size() > 1) {
    why = "several OGR formats write ." + ext + ":";
    for (const std::string &f : found) why += " " + f;
    why += "; give -f FORMAT";
  }
  throw Error("cannot tell the vector format of '" + path + "' (" + why + ")");
}

namespace {

// Pixel/line -> WGS 84 lon/lat through GDAL's own transformer, which picks
// the geotransform and CRS, else the GCPs, else the RPCs, as gdalwarp does.
class LonLat {
 public:
  LonLat(const Georef &g, int rows, int cols) {
    if (!(g.has_transform && g.srs) && g.gcps.empty() && g.rpc.empty()) return;
    GDALDriver *mem = GetGDALDriverManager()->GetDriverByName("MEM");
    ds_.reset(mem->Create("", cols, rows, 0, GDT_Byte, nullptr));
    if (!ds_) return;
    apply_georef(*ds_, g);
    const char *options[] = {"DST_SRS=EPSG:4326", nullptr};
    CPLPushErrorHandler(CPLQuietErrorHandler);
    t_ = GDALCreateGenImgProjTransformer2(ds_.get(), nullptr, const_cast<char **>(options));
    CPLPopErrorHandler();
  }
  ~LonLat() {
    if (t_) GDALDestroyGenImgProjTransformer(t_);
  }
  explicit operator bool() const { return t_ != nullptr; }
  bool operator()(double pixel, double line, double &lon, double &lat) const {
    double z = 0;
    int ok = FALSE;
    lon = pixel, lat = line;
    return t_ && GDALGenImgProjTransform(t_, FALSE, 1, &lon, &lat, &z, &ok) && ok;
  }

 private:
  std::unique_ptr<GDALDataset> ds_;
  void *t_ = nullptr;
};

// Calls f(x, y) on every vertex of a polygon, in place.
template <class F>
bool map_vertices(OGRPolygon &p, F f) {
  for (int r = -1; r < p.getNumInteriorRings(); ++r) {
    OGRLinearRing *ring = r < 0 ? p.getExteriorRing() : p.getInteriorRing(r);
    for (int i = 0; ring && i < ring->getNumPoints(); ++i) {
      double x = ring->getX(i), y = ring->getY(i);
      if (!f(x, y)) return false;
      ring->setPoint(i, x, y);
    }
  }
  return true;
}

// Area in square metres of a lon/lat polygon: in a Lambert azimuthal
// equal-area projection centred on it (exact enough for a target's size).
double area_m2(const OGRPolygon &lonlat, double lon, double lat) {
  OGRSpatialReference wgs84, laea;
  wgs84.SetWellKnownGeogCS("WGS84");
  wgs84.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
  laea.CopyGeogCSFrom(&wgs84);
  laea.SetLAEA(lat, lon, 0, 0);
  std::unique_ptr<OGRCoordinateTransformation> ct(OGRCreateCoordinateTransformation(&wgs84, &laea));
  std::unique_ptr<OGRPolygon> g(lonlat.clone());
  if (!ct || g->transform(ct.get()) != OGRERR_NONE) return std::nan("");
  return g->get_Area();
}

}  // namespace

int write_polygons(const std::string &path, const Raster &in, const std::vector<float> &score,
                   const std::vector<uint8_t> &detected, bool overwrite, const VectorOptions &vo) {
  const int rows = in.cube.rows, cols = in.cube.cols;
  std::vector<Blob> blobs;
  std::vector<int32_t> lab = label(detected, rows, cols, blobs, score);

  // Polygonize the label raster (its pixels carry the blob id) in pixel/line
  // coordinates; each polygon is then placed by the input's georeferencing.
  GDALDriver *mem_drv = GetGDALDriverManager()->GetDriverByName("MEM");
  std::unique_ptr<GDALDataset> ras(mem_drv->Create("", cols, rows, 1, GDT_Int32, nullptr));
  GDALRasterBand *band = ras->GetRasterBand(1);
  if (band->RasterIO(GF_Write, 0, 0, cols, rows, lab.data(), cols, rows, GDT_Int32, 0, 0) != CE_None)
    throw Error("cannot build the detection labels");
  std::unique_ptr<GDALDataset> tmp_vec(GetGDALDriverManager()->GetDriverByName("Memory")->Create("", 0, 0, 0, GDT_Unknown, nullptr));
  OGRLayer *poly = tmp_vec->CreateLayer("p", nullptr, wkbPolygon, nullptr);
  OGRFieldDefn id_field("id", OFTInteger);
  poly->CreateField(&id_field);
  const char *options[] = {"8CONNECTED=8", nullptr};
  if (GDALPolygonize(band, band, poly, 0, const_cast<char **>(options), nullptr, nullptr) != CE_None)
    throw Error("polygonizing the detections failed");

  // Output coordinates: the input CRS through its geotransform; else (GCPs,
  // RPCs) WGS 84 lon/lat; else pixel/line, said in a warning.
  const LonLat lonlat(in.geo, rows, cols);
  const bool affine = in.geo.has_transform;
  const double *gt = in.geo.transform;
  OGRSpatialReference srs;
  bool has_crs = false;
  if (affine && in.geo.srs) {
    srs = *in.geo.srs;
    has_crs = true;
  } else if (!affine && lonlat) {
    has_crs = srs.importFromEPSG(4326) == OGRERR_NONE;
  }
  srs.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
  if (!lonlat) {
    end_progress_line();
    std::fprintf(stderr, "Warning: the input's georeferencing gives no longitude/latitude; polygons are in %s and "
                         "carry no lon, lat or area\n", affine ? "its map coordinates" : "pixel/line coordinates");
  }
  auto place = [&](double &x, double &y) {
    const double col = x, row = y;
    if (affine) x = gt[0] + col * gt[1] + row * gt[2], y = gt[3] + col * gt[4] + row * gt[5];
    else if (lonlat) return lonlat(col, row, x, y);
    return true;
  };

  const std::string drv_name = vector_driver_for(path, vo.format);
  GDALDriver *drv = GetGDALDriverManager()->GetDriverByName(drv_name.c_str());
  if (!drv) throw Error("this GDAL has no " + drv_name + " driver");
  PendingOutput pending(path, overwrite);
  CPLPushErrorHandler(CPLQuietErrorHandler);
  std::unique_ptr<GDALDataset> out(drv->Create(pending.temp().c_str(), 0, 0, 0, GDT_Unknown, nullptr));
  CPLPopErrorHandler();
  if (!out) throw Error("cannot create '" + path + "'" + gdal_error_text());
  CPLStringList lco;
  for (const std::string &o : vo.layer_options) lco.AddString(o.c_str());
  // GeoJSON as RFC 7946 says: WGS 84 lon/lat (GDAL reprojects), no crs member.
  if (drv_name == "GeoJSON" && !lco.FetchNameValue("RFC7946")) lco.SetNameValue("RFC7946", "YES");
  OGRLayer *layer = out->CreateLayer(vo.layer_name.empty() ? "detections" : vo.layer_name.c_str(),
                                     has_crs ? &srs : nullptr, wkbPolygon, lco.List());
  if (!layer) throw Error("cannot create a layer in '" + path + "'" + gdal_error_text());
  for (auto [name, type] : {std::pair{"id", OFTInteger}, {"pixels", OFTInteger}, {"area_m2", OFTReal},
                            {"peak_score", OFTReal}, {"mean_score", OFTReal}, {"x", OFTReal}, {"y", OFTReal},
                            {"lon", OFTReal}, {"lat", OFTReal}}) {
    OGRFieldDefn f(name, type);
    if (layer->CreateField(&f) != OGRERR_NONE) throw Error("cannot create field '" + std::string(name) + "'");
  }
  int count = 0;
  poly->ResetReading();
  for (auto &f : *poly) {
    const int id = f->GetFieldAsInteger(0);
    OGRGeometry *geom = f->GetGeometryRef();
    if (id <= 0 || id >= int(blobs.size()) || !geom || wkbFlatten(geom->getGeometryType()) != wkbPolygon) continue;
    const Blob &b = blobs[id];
    OGRFeature o(layer->GetLayerDefn());
    std::unique_ptr<OGRPolygon> placed(geom->toPolygon()->clone());
    if (!map_vertices(*placed, place)) continue;  // outside where the transformer holds
    o.SetGeometry(placed.get());
    double x = b.col / b.pixels, y = b.row / b.pixels, lon = 0, lat = 0;
    const bool ll = lonlat && lonlat(x, y, lon, lat);
    place(x, y);
    o.SetField("id", id);
    o.SetField("pixels", b.pixels);
    o.SetField("peak_score", b.peak);
    o.SetField("mean_score", b.sum / b.pixels);
    o.SetField("x", x);
    o.SetField("y", y);
    if (ll) {
      o.SetField("lon", lon);
      o.SetField("lat", lat);
      // Without a geotransform the placed polygon is in lon/lat already.
      std::unique_ptr<OGRPolygon> g(affine ? geom->toPolygon()->clone() : nullptr);
      if (!g || map_vertices(*g, [&](double &px, double &py) { return lonlat(px, py, px, py); }))
        o.SetField("area_m2", area_m2(g ? *g : *placed, lon, lat));
    }
    if (layer->CreateFeature(&o) != OGRERR_NONE) throw Error("cannot write a feature to '" + path + "'");
    ++count;
  }
  // Formats of several files (a shapefile's .shp, .shx, .dbf, .prj) move together.
  char **list = out->GetFileList();
  for (char **f = list; f && *f; ++f) pending.also(*f);
  CSLDestroy(list);
  CPLErrorReset();
  out.reset();  // flush and close before the rename: a full disk shows here
  if (CPLGetLastErrorType() >= CE_Failure) throw Error("cannot write '" + path + "'" + gdal_error_text());
  pending.commit();
  return count;
}

}  // namespace bs3l::app
