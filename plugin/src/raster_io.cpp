#include "raster_io.h"

#include <cpl_conv.h>
#include <cpl_string.h>
#include <gdal_priv.h>
#include <ogr_spatialref.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <memory>
#include <sstream>

#include "output_file.h"

namespace fs = std::filesystem;

namespace bs3l::app {
namespace {

std::atomic<bool> g_interrupted{false};
extern "C" void on_signal(int) { g_interrupted = true; }

struct Closer {
  void operator()(GDALDataset *d) const { GDALClose(d); }
};
using DatasetPtr = std::unique_ptr<GDALDataset, Closer>;

std::string last_gdal_error() {
  const char *m = CPLGetLastErrorMsg();
  return (m && *m) ? std::string(": ") + m : std::string();
}

// Raw formats (ENVI, EHdr, ...) read missing bytes past the end of a short
// data file as zeros without a word; refuse such a file up front.
static void check_raw_size(GDALDataset &d, const std::string &path) {
  GDALDataset::RawBinaryLayout l;
  if (d.GetRasterCount() == 0 || !d.GetRawBinaryLayout(l)) return;
  if (l.nImageOffset < 0 || l.nPixelOffset < 0 || l.nLineOffset < 0 || l.nBandOffset < 0) return;
  const GIntBig last = l.nImageOffset + GIntBig(d.GetRasterCount() - 1) * l.nBandOffset +
                       GIntBig(d.GetRasterYSize() - 1) * l.nLineOffset +
                       GIntBig(d.GetRasterXSize() - 1) * l.nPixelOffset + GDALGetDataTypeSizeBytes(l.eDataType);
  VSIStatBufL st;
  if (VSIStatL(l.osRawFilename.c_str(), &st) == 0 && GIntBig(st.st_size) < last)
    throw Error("data file '" + l.osRawFilename + "' of '" + path + "' holds " + std::to_string(st.st_size) +
                " bytes but its header describes " + std::to_string(last));
}

CPLStringList string_list(const std::vector<std::string> &items) {
  CPLStringList list;
  for (const std::string &s : items) list.AddString(s.c_str());
  return list;
}

DatasetPtr open(const std::string &path, const std::vector<std::string> &open_options = {}) {
  CPLErrorReset();
  if (!path.empty() && path.rfind("/vsi", 0) != 0 && path.find(':') == std::string::npos) {
    std::error_code ec;
    if (!fs::exists(path, ec)) throw Error("'" + path + "' does not exist");
    if (fs::is_directory(path, ec)) throw Error("'" + path + "' is a directory, not a raster");
  }
  CPLStringList oo = string_list(open_options);
  CPLPushErrorHandler(CPLQuietErrorHandler);
  GDALDataset *d = GDALDataset::Open(path.c_str(), GDAL_OF_RASTER, nullptr, oo.List());
  CPLPopErrorHandler();
  if (!d) throw Error("cannot open '" + path + "' as a raster" + last_gdal_error());
  DatasetPtr ds(d);
  check_raw_size(*ds, path);
  return ds;
}

// A multi-variable .mat opens with no bands and a list of subdatasets.
DatasetPtr open_cube(const std::string &path, std::string &resolved, const std::vector<std::string> &open_options = {}) {
  DatasetPtr d = open(path, open_options);
  resolved = path;
  if (d->GetRasterCount() > 0) return d;
  char **sds = d->GetMetadata("SUBDATASETS");
  std::string best;
  int best_bands = 0;
  for (int i = 1;; ++i) {
    const char *name = CSLFetchNameValue(sds, ("SUBDATASET_" + std::to_string(i) + "_NAME").c_str());
    if (!name) break;
    CPLPushErrorHandler(CPLQuietErrorHandler);
    DatasetPtr s(GDALDataset::Open(name, GDAL_OF_RASTER));
    CPLPopErrorHandler();
    if (s && s->GetRasterCount() > best_bands) best = name, best_bands = s->GetRasterCount();
  }
  if (best.empty()) throw Error("'" + path + "' holds no raster band");
  resolved = best;
  return open(best);
}

std::shared_ptr<const OGRSpatialReference> shared_clone(const OGRSpatialReference *s) {
  if (!s) return nullptr;
  return std::shared_ptr<const OGRSpatialReference>(s->Clone(), [](const OGRSpatialReference *p) {
    const_cast<OGRSpatialReference *>(p)->Release();
  });
}

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

int progress_cb(double f, const char *, void *quiet) {
  if (g_interrupted) return FALSE;
  if (!*static_cast<bool *>(quiet)) GDALTermProgress(f, nullptr, nullptr);
  return TRUE;
}

void read_mask(GDALRasterBand *band, std::vector<uint8_t> &valid, const Window &w, bool &any_invalid);

// Reads one band as float; marks pixels GDAL's mask calls invalid.
void read_band(GDALRasterBand *band, float *dst, std::vector<uint8_t> &valid, const Window &w, bool &any_invalid) {
  if (band->RasterIO(GF_Read, w.col, w.row, w.cols, w.rows, dst, w.cols, w.rows, GDT_Float32, 0, 0) != CE_None)
    throw Error("cannot read band " + std::to_string(band->GetBand()) + last_gdal_error());
  read_mask(band, valid, w, any_invalid);
}

// Marks the pixels GDAL's mask of `band` calls invalid.
void read_mask(GDALRasterBand *band, std::vector<uint8_t> &valid, const Window &w, bool &any_invalid) {
  const int cols = w.cols, rows = w.rows;
  if (band->GetMaskFlags() & GMF_ALL_VALID) return;
  std::vector<uint8_t> m(size_t(rows) * cols);
  if (band->GetMaskBand()->RasterIO(GF_Read, w.col, w.row, cols, rows, m.data(), cols, rows, GDT_Byte, 0, 0) != CE_None)
    throw Error("cannot read the nodata mask of band " + std::to_string(band->GetBand()) + last_gdal_error());
  for (size_t i = 0; i < m.size(); ++i)
    if (!m[i]) valid[i] = 0, any_invalid = true;
}

std::string guess_driver(const std::string &path) {
  std::string ext = fs::path(path).extension().string();
  if (!ext.empty()) ext = ext.substr(1);
  for (char &c : ext) c = char(std::tolower(c));
  if (ext == "tif" || ext == "tiff" || ext.empty()) return "GTiff";
  // ENVI users name their data files so; GDAL would pick Erdas Imagine for .img.
  if (ext == "img" || ext == "dat" || ext == "bil" || ext == "bsq" || ext == "bip") return "ENVI";
  GDALDriverManager *dm = GetGDALDriverManager();
  for (int i = 0; i < dm->GetDriverCount(); ++i) {
    GDALDriver *drv = dm->GetDriver(i);
    const char *exts = drv->GetMetadataItem(GDAL_DMD_EXTENSIONS);
    if (!exts || !drv->GetMetadataItem(GDAL_DCAP_RASTER)) continue;
    if (!drv->GetMetadataItem(GDAL_DCAP_CREATE) && !drv->GetMetadataItem(GDAL_DCAP_CREATECOPY)) continue;
    std::istringstream s(exts);
    for (std::string e; s >> e;)
      if (e == ext) return drv->GetDescription();
  }
  return "GTiff";
}

}  // namespace

bool interrupted() { return g_interrupted; }
void install_signal_handlers() {
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
}

std::vector<double> parse_envi_list(const std::string &value) {
  std::vector<double> out;
  std::string s = value;
  for (char &c : s)
    if (c == '{' || c == '}' || c == ',') c = ' ';
  std::istringstream in(s);
  for (std::string tok; in >> tok;) {
    char *end = nullptr;
    const double v = std::strtod(tok.c_str(), &end);
    if (end == tok.c_str() || *end) throw Error("malformed ENVI list value '" + tok + "'");
    out.push_back(v);
  }
  return out;
}

std::vector<int> parse_band_list(const std::string &spec, int count) {
  std::vector<int> out;
  std::string s = spec;
  for (char &c : s)
    if (c == ',') c = ' ';
  std::istringstream in(s);
  for (std::string tok; in >> tok;) {
    int a = 0, b = 0;
    char dash = 0, extra = 0;
    std::istringstream t(tok);
    if (!(t >> a)) throw Error("invalid band list '" + spec + "'");
    b = a;
    if (t >> dash) {
      if (dash != '-' || !(t >> b) || (t >> extra)) throw Error("invalid band list '" + spec + "'");
    }
    if (a < 1 || b < a || b > count)
      throw Error("band " + tok + " is out of range (the input has " + std::to_string(count) + " bands)");
    for (int i = a; i <= b; ++i) out.push_back(i);
  }
  if (out.empty()) throw Error("empty band list");
  return out;
}

struct RasterReader::Impl {
  DatasetPtr d;
  Raster info;                // metadata; cube without data
  std::vector<uint8_t> mask;  // --mask, scene-sized (1 = use); empty if none
  bool quiet = true;
};

RasterReader::RasterReader(const std::string &path, const ReadOptions &o) : impl_(std::make_unique<Impl>()) {
  Raster &r = impl_->info;
  impl_->quiet = o.quiet;
  impl_->d = open_cube(path, r.path, o.open_options);
  GDALDataset &d = *impl_->d;
  const int count = d.GetRasterCount();
  r.scene_rows = d.GetRasterYSize(), r.scene_cols = d.GetRasterXSize();
  r.at = {0, 0, r.scene_rows, r.scene_cols};
  std::vector<int> bands;
  if (!o.bands.empty()) bands = parse_band_list(o.bands, count);
  else
    for (int i = 1; i <= count; ++i) bands.push_back(i);
  // ENVI bad-band list: 0 marks a band to leave out. Other formats carry it as
  // a plain "bbl" item (GeoTIFF metadata, a .mat file's bbl variable).
  const char *bbl = d.GetMetadataItem("bbl", "ENVI");
  if (!bbl) bbl = d.GetMetadataItem("bbl");
  if (bbl) {
    const std::vector<double> flags = parse_envi_list(bbl);
    if (int(flags.size()) != count) {
      std::fprintf(stderr, "Warning: the bbl list has %d entries for %d bands; it is ignored\n", int(flags.size()),
                   count);
    } else {
      for (int b = 1; b <= count; ++b)
        if (flags[b - 1] == 0) r.bad_bands.push_back(b);
      // An explicit -b list wins: the user asked for those bands.
      if (!o.keep_bad_bands && o.bands.empty()) {
        std::vector<int> kept;
        for (int b : bands)
          if (flags[b - 1] != 0) kept.push_back(b);
        r.dropped_bad_bands = int(bands.size() - kept.size());
        bands = kept;
      }
    }
  }
  if (bands.empty()) throw Error("no band left to use (all selected bands are marked bad in 'bbl')");
  r.band_index = bands;
  r.cube.bands = int(bands.size()), r.cube.rows = r.scene_rows, r.cube.cols = r.scene_cols;
  for (int b : bands) {
    GDALRasterBand *band = d.GetRasterBand(b);
    int has_nodata = FALSE;
    const double nd = band->GetNoDataValue(&has_nodata);
    if (has_nodata) {
      char text[64];
      std::snprintf(text, sizeof(text), "%.10g", nd);
      if (std::find(r.nodata.begin(), r.nodata.end(), text) == r.nodata.end()) r.nodata.push_back(text);
    }
    if (const char *wl = band->GetMetadataItem("wavelength")) {
      r.wavelengths.push_back(std::atof(wl));
      if (const char *u = band->GetMetadataItem("wavelength_units")) r.wavelength_units = u;
    }
  }
  if (r.wavelengths.size() != bands.size()) r.wavelengths.clear();
  if (!o.mask.empty()) {
    int mr = 0, mc = 0;
    const std::vector<float> m = read_single_band(o.mask, mr, mc);
    if (mr != r.scene_rows || mc != r.scene_cols)
      throw Error("mask '" + o.mask + "' is " + std::to_string(mc) + "x" + std::to_string(mr) + " but the input is " +
                  std::to_string(r.scene_cols) + "x" + std::to_string(r.scene_rows));
    impl_->mask.resize(m.size());
    for (size_t i = 0; i < m.size(); ++i) impl_->mask[i] = m[i] != 0 && !std::isnan(m[i]);
  }
  r.geo = georef_of(d);
}

RasterReader::~RasterReader() = default;
int RasterReader::bands() const { return impl_->info.cube.bands; }
int RasterReader::rows() const { return impl_->info.scene_rows; }
int RasterReader::cols() const { return impl_->info.scene_cols; }
const Raster &RasterReader::info() const { return impl_->info; }

Cube RasterReader::read(const Window &w) const { return read(w, false); }

Cube RasterReader::read(const Window &w, bool progress) const {
  const Raster &r = impl_->info;
  if (w.row < 0 || w.col < 0 || w.rows < 1 || w.cols < 1 || w.row + w.rows > r.scene_rows ||
      w.col + w.cols > r.scene_cols)
    throw Error("the window lies outside the raster");
  Cube c(r.cube.bands, w.rows, w.cols);
  c.valid.assign(c.pixels(), 1);
  bool any_invalid = false, quiet = impl_->quiet || !progress;
  // All bands in one request: pixel-interleaved files are then read once,
  // not once per band (a window of a 200-band tiled GeoTIFF: 200x faster).
  std::vector<int> list(r.band_index.begin(), r.band_index.end());
  GDALRasterIOExtraArg extra;
  INIT_RASTERIO_EXTRA_ARG(extra);
  extra.pfnProgress = progress_cb;
  extra.pProgressData = &quiet;
  if (impl_->d->RasterIO(GF_Read, w.col, w.row, w.cols, w.rows, c.data.data(), w.cols, w.rows, GDT_Float32,
                         int(list.size()), list.data(), 0, 0, 0, &extra) != CE_None)
    throw Error(g_interrupted ? std::string("interrupted") : "cannot read the input" + last_gdal_error());
  for (int b : list) read_mask(impl_->d->GetRasterBand(b), c.valid, w, any_invalid);
  if (!impl_->mask.empty())
    for (int y = 0; y < w.rows; ++y)
      for (int x = 0; x < w.cols; ++x)
        if (!impl_->mask[size_t(y + w.row) * r.scene_cols + x + w.col]) c.valid[size_t(y) * w.cols + x] = 0, any_invalid = true;
  if (!any_invalid) c.valid.clear();
  return c;
}

Raster read_raster(const std::string &path, const ReadOptions &o) {
  RasterReader reader(path, o);
  Raster r = reader.info();
  r.at = o.region.rows > 0 ? o.region : Window{0, 0, r.scene_rows, r.scene_cols};
  r.cube = reader.read(r.at, true);
  r.geo = shifted(r.geo, r.at.col, r.at.row);
  return r;
}

std::vector<float> read_single_band(const std::string &path, int &rows, int &cols, Georef *geo) {
  std::string resolved;
  DatasetPtr d = open_cube(path, resolved);
  rows = d->GetRasterYSize();
  cols = d->GetRasterXSize();
  std::vector<float> v(size_t(rows) * cols);
  std::vector<uint8_t> valid(v.size(), 1);
  bool any = false;
  read_band(d->GetRasterBand(1), v.data(), valid, {0, 0, rows, cols}, any);
  for (size_t i = 0; i < v.size(); ++i)
    if (!valid[i]) v[i] = std::numeric_limits<float>::quiet_NaN();
  if (geo) *geo = georef_of(*d);
  return v;
}

void raster_size(const std::string &path, const std::vector<std::string> &open_options, int &rows, int &cols) {
  std::string resolved;
  DatasetPtr d = open_cube(path, resolved, open_options);
  rows = d->GetRasterYSize(), cols = d->GetRasterXSize();
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

Raster crop(Raster r, const Window &w) {
  const int dr = w.row - r.at.row, dc = w.col - r.at.col;
  if (dr < 0 || dc < 0 || dr + w.rows > r.at.rows || dc + w.cols > r.at.cols) throw Error("crop outside the raster read");
  r.cube = CubeReader(r.cube).read({dr, dc, w.rows, w.cols});
  r.geo = shifted(r.geo, dc, dr);
  r.at = w;
  return r;
}

Window parse_srcwin(const std::string &text, int rows, int cols) {
  long long v[4];
  char extra = 0;
  if (std::sscanf(text.c_str(), "%lld %lld %lld %lld %c", &v[0], &v[1], &v[2], &v[3], &extra) != 4)
    throw Error("-srcwin wants four integers: XOFF YOFF XSIZE YSIZE");
  if (v[2] < 1 || v[3] < 1) throw Error("-srcwin sizes must be at least 1");
  if (v[0] < 0 || v[1] < 0 || v[0] + v[2] > cols || v[1] + v[3] > rows)  // 64-bit: no overflow
    throw Error("-srcwin " + text + " lies outside the " + std::to_string(cols) + "x" + std::to_string(rows) +
                " raster");
  return {int(v[1]), int(v[0]), int(v[3]), int(v[2])};
}

std::vector<int8_t> truth_labels(const std::vector<float> &truth) {
  std::vector<int8_t> labels(truth.size());
  for (size_t i = 0; i < truth.size(); ++i) labels[i] = std::isnan(truth[i]) ? -1 : int8_t(truth[i] != 0);
  return labels;
}

namespace {
const char *const kTruthNames[] = {"map", "gt", "mask", "groundtruth", "gtImg_sub", "PlaneGT"};
}  // namespace

std::string truth_rule() {
  std::string s;
  for (const char *n : kTruthNames) s += (s.empty() ? "" : ", ") + std::string(n);
  return s;
}

std::string companion_truth(const std::string &path, std::string *why) {
  if (fs::path(path).extension() != ".mat") return {};
  DatasetPtr d = open(path);
  std::vector<std::string> names;
  for (char **sds = d->GetMetadata("SUBDATASETS"); sds && *sds; ++sds) {
    const std::string kv = *sds;
    const size_t eq = kv.find('=');
    if (eq != std::string::npos && kv.compare(eq - 5, 5, "_NAME") == 0) names.push_back(kv.substr(eq + 1));
  }
  const auto var_of = [](const std::string &n) { return n.substr(n.rfind(':') + 1); };
  for (const char *want : kTruthNames)
    for (const std::string &n : names)
      if (var_of(n) == want) {
        if (why) *why = std::string("the first of the truth names ") + truth_rule() + " that the file holds";
        return n;
      }
  // Otherwise the one single-band variable of the cube's size (the cube: most bands).
  int rows = 0, cols = 0, bands = 0;
  std::vector<std::pair<std::string, std::array<int, 3>>> shapes;
  for (const std::string &n : names) {
    CPLPushErrorHandler(CPLQuietErrorHandler);
    DatasetPtr s(GDALDataset::Open(n.c_str(), GDAL_OF_RASTER));
    CPLPopErrorHandler();
    if (!s) continue;
    shapes.push_back({n, {s->GetRasterYSize(), s->GetRasterXSize(), s->GetRasterCount()}});
    if (s->GetRasterCount() > bands) rows = s->GetRasterYSize(), cols = s->GetRasterXSize(), bands = s->GetRasterCount();
  }
  std::string found;
  for (const auto &[n, shape] : shapes)
    if (shape[0] == rows && shape[1] == cols && shape[2] == 1) {
      if (!found.empty()) return {};  // ambiguous: ask for --truth
      found = n;
    }
  if (why) *why = "no variable has a truth name, and this is the only single-band variable of the cube's size";
  return bands > 1 ? found : std::string();
}

void check_output(const std::string &path, const WriteOptions &o, const std::vector<std::string> &inputs) {
  check_output_path(path, o.overwrite, inputs);
  const std::string fmt = o.format.empty() ? guess_driver(path) : o.format;
  GDALDriver *drv = GetGDALDriverManager()->GetDriverByName(fmt.c_str());
  if (!drv) throw Error("unknown output format '" + fmt + "'");
  if (!drv->GetMetadataItem(GDAL_DCAP_CREATE) && !drv->GetMetadataItem(GDAL_DCAP_CREATECOPY))
    throw Error("format '" + fmt + "' cannot write rasters");
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

void write_raster(const std::string &path, const WriteOptions &o, int rows, int cols,
                  const std::vector<const float *> &bands, const Georef &geo,
                  const std::vector<std::string> &descriptions, const std::map<std::string, std::string> &metadata,
                  bool byte_type, const std::string &unit, const std::map<std::string, std::string> &band_metadata) {
  const std::string fmt = o.format.empty() ? guess_driver(path) : o.format;
  GDALDriver *drv = GetGDALDriverManager()->GetDriverByName(fmt.c_str());
  GDALDriver *mem = GetGDALDriverManager()->GetDriverByName("MEM");
  if (!drv || !mem) throw Error("unknown output format '" + fmt + "'");
  const GDALDataType type = byte_type ? GDT_Byte : GDT_Float32;
  const double nodata = byte_type ? 255.0 : -9999.0;
  DatasetPtr m(mem->Create("", cols, rows, int(bands.size()), type, nullptr));
  apply_georef(*m, geo);
  for (const auto &[k, v] : metadata) m->SetMetadataItem(k.c_str(), v.c_str());
  std::vector<float> buf(size_t(rows) * cols);
  for (size_t b = 0; b < bands.size(); ++b) {
    GDALRasterBand *band = m->GetRasterBand(int(b + 1));
    for (size_t i = 0; i < buf.size(); ++i) buf[i] = std::isfinite(bands[b][i]) ? bands[b][i] : float(nodata);
    if (band->RasterIO(GF_Write, 0, 0, cols, rows, buf.data(), cols, rows, GDT_Float32, 0, 0) != CE_None)
      throw Error("out of memory preparing '" + path + "'");
    band->SetNoDataValue(nodata);
    if (b < descriptions.size()) band->SetDescription(descriptions[b].c_str());
    if (b == 0) {
      if (!unit.empty()) band->SetUnitType(unit.c_str());
      for (const auto &[k, v] : band_metadata) band->SetMetadataItem(k.c_str(), v.c_str());
    }
  }
  PendingOutput out(path, o.overwrite);
  CPLStringList co = string_list(o.creation_options);
  // Large GeoTIFF outputs tiled (GIS viewers and gdal tools read windows of
  // them fast), unless the user chose a layout.
  if (EQUAL(drv->GetDescription(), "GTiff") && size_t(rows) * cols >= 1000000 && !co.FetchNameValue("TILED") &&
      !co.FetchNameValue("BLOCKYSIZE"))
    co.SetNameValue("TILED", "YES"), co.SetNameValue("BIGTIFF", co.FetchNameValueDef("BIGTIFF", "IF_SAFER"));
  // An ENVI file named .bil or .bip is laid out as its name says; one with
  // no extension gets NAME.hdr (GDAL would swap the temporary name's marker).
  const std::string ext = fs::path(path).extension().string();
  if (EQUAL(drv->GetDescription(), "ENVI") && ext.empty() && !co.FetchNameValue("SUFFIX"))
    co.SetNameValue("SUFFIX", "ADD");
  if (EQUAL(drv->GetDescription(), "ENVI") && !co.FetchNameValue("INTERLEAVE") &&
      (EQUAL(ext.c_str(), ".bil") || EQUAL(ext.c_str(), ".bip")))
    co.SetNameValue("INTERLEAVE", ext.substr(1).c_str());
  bool quiet = o.quiet;
  CPLErrorReset();
  GDALDataset *outp = drv->CreateCopy(out.temp().c_str(), m.get(), FALSE, co.List(), progress_cb, &quiet);
  bool ok = outp != nullptr;
  if (outp) {
    // CreateCopy leaves the GEOLOCATION domain behind; it then goes to the
    // output's own metadata (an .aux.xml where the format has no place for it).
    if (!geo.geolocation.empty()) outp->SetMetadata(string_list(geo.geolocation).List(), "GEOLOCATION");
    char **list = outp->GetFileList();
    for (char **f = list; f && *f; ++f) out.also(*f);
    CSLDestroy(list);
    GDALClose(outp);
    ok = CPLGetLastErrorType() < CE_Failure;
  }
  if (!ok || interrupted()) {
    const std::string why = interrupted() ? std::string(": interrupted") : last_gdal_error();
    drv->Delete(out.temp().c_str());
    if (interrupted()) throw Error("interrupted");
    throw Error("cannot write '" + path + "'" + why);
  }
  out.commit();
}

}  // namespace bs3l::app
