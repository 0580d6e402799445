// Reading cubes whole or by windows: band lists, bad bands, nodata, masks.
#include <cpl_conv.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <sstream>

#include "gdal_open.h"
#include "progress.h"
#include "terminal.h"

namespace bs3l::app {
namespace {

// Marks the pixels GDAL's mask of `band` calls invalid.
void read_mask(GDALRasterBand *band, std::vector<uint8_t> &valid, const Window &w, bool &any_invalid) {
  const int cols = w.cols, rows = w.rows;
  if (band->GetMaskFlags() & GMF_ALL_VALID) return;
  std::vector<uint8_t> m(size_t(rows) * cols);
  if (band->GetMaskBand()->RasterIO(GF_Read, w.col, w.row, cols, rows, m.data(), cols, rows, GDT_Byte, 0, 0) != CE_None)
    throw Error("cannot read the nodata mask of band " + std::to_string(band->GetBand()) + gdal_error_text());
  for (size_t i = 0; i < m.size(); ++i)
    if (!m[i]) valid[i] = 0, any_invalid = true;
}

// Reads one band as float; marks pixels GDAL's mask calls invalid.
void read_band(GDALRasterBand *band, float *dst, std::vector<uint8_t> &valid, const Window &w, bool &any_invalid) {
  if (band->RasterIO(GF_Read, w.col, w.row, w.cols, w.rows, dst, w.cols, w.rows, GDT_Float32, 0, 0) != CE_None)
    throw Error("cannot read band " + std::to_string(band->GetBand()) + gdal_error_text());
  read_mask(band, valid, w, any_invalid);
}

}  // namespace

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

// How one band says "no data here": a value, GDAL's mask band, or both.
struct BandNodata {
  bool has_value = false;
  float value = 0;
  bool read_mask = false;  // a per-dataset or alpha mask (not the nodata value's)
  bool shared = false;     // the dataset's one mask: read once per window, not once per band
};

std::string band_ranges(const std::vector<int> &bands) {
  std::string s;
  for (size_t i = 0; i < bands.size();) {
    size_t j = i;
    while (j + 1 < bands.size() && bands[j + 1] == bands[j] + 1) ++j;
    s += (s.empty() ? "" : ",") + std::to_string(bands[i]);
    if (j > i) s += (j == i + 1 ? "," : "-") + std::to_string(bands[j]);
    i = j + 1;
  }
  return s;
}

struct RasterReader::Impl {
  DatasetPtr d;
  Raster info;                   // metadata; cube without data
  std::vector<uint8_t> mask;     // --mask, scene-sized (1 = use); empty if none
  std::vector<BandNodata> nodata;  // per kept band
  // Streamed reads overlap (halos, passes): each pixel is counted the first
  // time a window holds it, so a streamed run reports what an in-memory one does.
  std::vector<uint8_t> counted;  // scene-sized once a streamed read happens
  ReadCounts tally;
  std::map<float, size_t> flat_values;
  Scaling fences;  // set_fences; none by default
};

namespace {

float commonest(const std::map<float, size_t> &counts) {
  float value = 0;
  size_t most = 0;
  for (const auto &[v, n] : counts)
    if (n > most) most = n, value = v;
  return value;
}

double parse_nodata(const std::string &text) {
  if (text == "nan" || text == "NaN" || text == "NAN") return std::numeric_limits<double>::quiet_NaN();
  char *end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (text.empty() || *end) throw Error("--nodata wants a number, nan or none, not '" + text + "'");
  return v;
}

}  // namespace

RasterReader::RasterReader(const std::string &path, const ReadOptions &o) : impl_(std::make_unique<Impl>()) {
  Raster &r = impl_->info;
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
      end_progress_line();
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
  const bool given = !o.nodata.empty(), none = o.nodata == "none";
  const double given_value = given && !none ? parse_nodata(o.nodata) : 0;
  for (int b : bands) {
    GDALRasterBand *band = d.GetRasterBand(b);
    int has_nodata = FALSE;
    double nd = band->GetNoDataValue(&has_nodata);
    const int flags = band->GetMaskFlags();
    // --nodata replaces the file's value (as gdalwarp -srcnodata); a
    // per-dataset or alpha mask still applies.
    if (given) has_nodata = !none, nd = given_value;
    else has_nodata = has_nodata && (flags & GMF_NODATA);
    impl_->nodata.push_back(
        {bool(has_nodata), float(nd), !(flags & (GMF_ALL_VALID | GMF_NODATA)), bool(flags & GMF_PER_DATASET)});
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

Cube RasterReader::read(const Window &w, bool progress, ReadCounts *counts) const {
  const Raster &r = impl_->info;
  if (w.row < 0 || w.col < 0 || w.rows < 1 || w.cols < 1 || w.row + w.rows > r.scene_rows ||
      w.col + w.cols > r.scene_cols)
    throw Error("the window lies outside the raster");
  Cube c(r.cube.bands, w.rows, w.cols);
  c.valid.assign(c.pixels(), 1);
  // All bands in one request: pixel-interleaved files are then read once,
  // not once per band (a window of a 200-band tiled GeoTIFF: 200x faster).
  std::vector<int> list(r.band_index.begin(), r.band_index.end());
  GDALRasterIOExtraArg extra;
  INIT_RASTERIO_EXTRA_ARG(extra);
  extra.pfnProgress = RunProgress::gdal;  // a window of a streamed run only checks for Ctrl-C
  extra.pProgressData = progress ? RunProgress::active() : nullptr;
  if (impl_->d->RasterIO(GF_Read, w.col, w.row, w.cols, w.rows, c.data.data(), w.cols, w.rows, GDT_Float32,
                         int(list.size()), list.data(), 0, 0, 0, &extra) != CE_None ||
      RunProgress::cancelled()) {  // a small read may not call the progress function
    if (RunProgress::cancelled()) throw Cancelled();
    throw Error("cannot read the input" + gdal_error_text());
  }
  mark_nodata(c, w, counts);
  if (!impl_->mask.empty())
    for (int y = 0; y < w.rows; ++y)
      for (int x = 0; x < w.cols; ++x)
        if (!impl_->mask[size_t(y + w.row) * r.scene_cols + x + w.col]) c.valid[size_t(y) * w.cols + x] = 0;
  if (std::all_of(c.valid.begin(), c.valid.end(), [](uint8_t v) { return v != 0; })) c.valid.clear();
  return c;
}

void RasterReader::mark_nodata(Cube &c, const Window &w, ReadCounts *counts) const {
  const size_t P = c.pixels();
  const int B = c.bands;
  std::vector<uint16_t> declared(P, 0);  // bands in which the pixel is nodata
  std::vector<uint8_t> nonfinite(P, 0), m;
  bool have_shared = false;
  std::vector<size_t> finite(B, 0), nan(B, 0);
  for (int k = 0; k < B; ++k) {
    const BandNodata &nd = impl_->nodata[size_t(k)];
    float *v = c.data.data() + size_t(k) * P;
    if (nd.read_mask && !(nd.shared && have_shared)) {
      have_shared = have_shared || nd.shared;
      m.assign(P, 1);
      GDALRasterBand *band = impl_->d->GetRasterBand(impl_->info.band_index[size_t(k)]);
      if (band->GetMaskBand()->RasterIO(GF_Read, w.col, w.row, w.cols, w.rows, m.data(), w.cols, w.rows, GDT_Byte, 0,
                                        0) != CE_None)
        throw Error("cannot read the nodata mask of band " + std::to_string(band->GetBand()) + gdal_error_text());
    }
    const bool nan_value = nd.has_value && std::isnan(nd.value);
    for (size_t i = 0; i < P; ++i) {
      const bool finite_value = std::isfinite(v[i]);
      if ((nd.read_mask && !m[i]) || (nd.has_value && (v[i] == nd.value || (nan_value && std::isnan(v[i])))))
        ++declared[i];
      else if (!finite_value)
        nonfinite[i] = 1, ++nan[size_t(k)];
      else
        ++finite[size_t(k)];
      if (!finite_value) v[i] = 0;  // never read: the pixel is nodata
    }
  }
  // A band that is NaN wherever it is not nodata, beside bands with data,
  // would silently empty the scene.
  const bool any_finite = std::any_of(finite.begin(), finite.end(), [](size_t n) { return n > 0; });
  for (int k = 0; k < B && any_finite; ++k)
    if (finite[size_t(k)] == 0 && nan[size_t(k)] > 0)
      throw Error("band " + std::to_string(impl_->info.band_index[size_t(k)]) +
                  " is NaN or Inf wherever it is not nodata; leave it out with -b");
  for (size_t i = 0; i < P; ++i)
    if (declared[i] == B || nonfinite[i]) c.valid[i] = 0;
  const std::vector<uint8_t> is_flat = c.flat_pixels();
  Impl &s = *impl_;
  const bool fenced = s.fences.fenced(B);
  auto count = [&](size_t i, ReadCounts &n, std::map<float, size_t> &flat) {
    if (declared[i] == B) ++n.nodata;
    else if (nonfinite[i]) ++n.nonfinite;
    else if (declared[i] > 0) ++n.partial;
    if (i < is_flat.size() && is_flat[i]) ++flat[c.data[i]], ++n.flat;
    if (!fenced) return;
    const size_t cols = size_t(w.cols), at = (size_t(w.row) + i / cols) * size_t(s.info.scene_cols) + size_t(w.col) + i % cols;
    if ((s.mask.empty() || s.mask[at]) && s.fences.beyond_fences(c, i)) ++n.stray;
  };
  if (counts) {
    ReadCounts n;
    std::map<float, size_t> flat;  // count per value
    for (size_t i = 0; i < P; ++i) count(i, n, flat);
    n.flat_value = commonest(flat);
    *counts = n;
    return;
  }
  const int W = s.info.scene_cols;
  if (s.counted.empty()) s.counted.assign(size_t(s.info.scene_rows) * W, 0);
  for (int y = 0; y < w.rows; ++y)
    for (int x = 0; x < w.cols; ++x) {
      uint8_t &seen = s.counted[size_t(w.row + y) * W + w.col + x];
      if (!seen) seen = 1, count(size_t(y) * w.cols + x, s.tally, s.flat_values);
    }
}

void RasterReader::set_fences(const Scaling &scaling) { impl_->fences = scaling; }

ReadCounts RasterReader::counts_read() const {
  ReadCounts n = impl_->tally;
  n.flat_value = commonest(impl_->flat_values);
  return n;
}

Raster read_raster(const std::string &path, const ReadOptions &o) {
  RasterReader reader(path, o);
  Raster r = reader.info();
  r.at = o.region.rows > 0 ? o.region : Window{0, 0, r.scene_rows, r.scene_cols};
  r.cube = reader.read(r.at, true, &r.counts);
  r.geo = shifted(r.geo, r.at.col, r.at.row);
  return r;
}

std::vector<float> read_single_band(const std::string &path, int &rows, int &cols, Georef *geo) {
  DatasetPtr d = open_dataset(path);
  if (d->GetRasterCount() == 0) {  // a .mat with several variables: its truth map, not the cube's band 1
    const std::string truth = companion_truth(path);
    if (truth.empty())
      throw Error("'" + path + "' holds several variables and none is a truth map (named " + truth_rule() +
                  ", or the only single-band one of the cube's size); name one as MATLAB:\"" + path + "\":NAME");
    d = open_dataset(truth);
  }
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

bool in_pfa_units(const std::string &path) {
  DatasetPtr d = open_dataset(path);
  const char *u = d->GetRasterCount() > 0 ? d->GetRasterBand(1)->GetMetadataItem("BS3LNET_UNITS") : nullptr;
  return u && std::string(u) == "pfa";
}

void raster_size(const std::string &path, const std::vector<std::string> &open_options, int &rows, int &cols) {
  std::string resolved;
  DatasetPtr d = open_cube(path, resolved, open_options);
  rows = d->GetRasterYSize(), cols = d->GetRasterXSize();
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

}  // namespace bs3l::app
