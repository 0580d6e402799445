// Reading cubes from and writing score rasters to any GDAL format. Split by
// concern: gdal_open.cpp (opening, subdatasets, raw sizes), georef.cpp,
// raster_read.cpp (windows, bands, nodata), raster_write.cpp (driver choice,
// outputs), truth.cpp, signals.cpp.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "bs3l/bs3lnet.h"
#include "bs3l/cube.h"

class GDALDataset;
class OGRSpatialReference;

namespace bs3l::app {

// Georeferencing copied from the input to every output. The spatial
// references travel as objects (WKT1 text would drop datum ensembles and
// coordinate epochs).
struct Gcp {
  std::string id, info;
  double pixel = 0, line = 0, x = 0, y = 0, z = 0;
};

struct Georef {
  bool has_transform = false;
  double transform[6] = {0, 1, 0, 0, 0, 1};
  std::shared_ptr<const OGRSpatialReference> srs;       // CRS; null if none
  std::vector<std::string> rpc, geolocation;            // metadata domains, KEY=VALUE
  std::shared_ptr<const OGRSpatialReference> gcp_srs;
  std::vector<Gcp> gcps;
};

struct ReadOptions {
  std::string bands;   // "1-10,15"; empty = all
  bool keep_bad_bands = false;
  std::string mask;    // raster; 0 = exclude
  std::vector<std::string> open_options;  // GDAL -oo NAME=VALUE
  bool quiet = false;
  Window region;  // the part to read; rows 0 = the whole raster
  std::string nodata;  // --nodata: a value for every band, or "none"; empty = the file's own
};

// What a read found. A pixel is nodata when every band used holds the nodata
// value (or GDAL's mask excludes it in every band), or when any band is NaN
// or Inf; a value equal to nodata in some bands only is data (a dark band of
// a float cube may hold exactly 0).
struct ReadCounts {
  size_t nodata = 0;     // every band nodata or masked
  size_t nonfinite = 0;  // NaN or Inf in some band (and not already nodata)
  size_t partial = 0;    // the nodata value in some bands only: kept as data
  size_t flat = 0;       // valid, with one value in every band (fill, unless declared)
  float flat_value = 0;  // the commonest such value
  size_t stray = 0;      // valid, with a value beyond the fences given by RasterReader::set_fences
};

struct Raster {
  std::string path;  // what was opened (subdataset name for .mat files)
  Cube cube;
  Georef geo;
  std::vector<int> band_index;      // 1-based source bands kept
  std::vector<double> wavelengths;  // per kept band, empty if unknown
  std::string wavelength_units;
  int dropped_bad_bands = 0;
  std::vector<int> bad_bands;       // 1-based source bands marked bad by a bbl list
  std::vector<std::string> nodata;  // distinct nodata values of the kept bands, as text
  ReadCounts counts;                // of the read that filled `cube`
  int scene_rows = 0, scene_cols = 0;  // the whole raster
  Window at;                           // what `cube` and `geo` cover of it
};

// The size of the cube `path` names (a .mat file resolves as in read_raster).
void raster_size(const std::string &path, const std::vector<std::string> &open_options, int &rows, int &cols);

// `geo` for the grid starting at pixel (col, row) of the original.
Georef shifted(const Georef &geo, int col, int row);

// The part `w` (in scene pixels, inside r.at) of a raster read.
Raster crop(Raster r, const Window &w);

// Parses "XOFF YOFF XSIZE YSIZE" (-srcwin) and checks it against the raster.
Window parse_srcwin(const std::string &text, int rows, int cols);

// Opens `path` (a .mat file with several variables resolves to its 3-D cube).
Raster read_raster(const std::string &path, const ReadOptions &options);

// The same raster read window by window (bands, bbl, nodata and --mask as
// read_raster; options.region is ignored): streamed training and scoring.
class RasterReader : public SceneReader {
 public:
  RasterReader(const std::string &path, const ReadOptions &options);
  ~RasterReader() override;
  int bands() const override;
  int rows() const override;
  int cols() const override;
  Cube read(const Window &w) const override;
  Cube read(const Window &w, bool progress, ReadCounts *counts = nullptr) const;
  // What read_raster returns, but for the cube's data (sizes of the scene).
  const Raster &info() const;
  // What the reads without `counts` found so far, each pixel once (a
  // streamed run's report once its passes have read the whole scene).
  ReadCounts counts_read() const;
  // Count, from now on, the pixels with a value beyond a model's fences (apply).
  void set_fences(const Scaling &scaling);

 private:
  void mark_nodata(Cube &c, const Window &w, ReadCounts *counts) const;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// One band of a raster as floats (truth maps, score maps); nodata -> NaN.
std::vector<float> read_single_band(const std::string &path, int &rows, int &cols, Georef *geo = nullptr);

// True when band 1 of `path` holds scores in pfa units (BS3LNET_UNITS=pfa).
bool in_pfa_units(const std::string &path);

// Truth raster to labels: 1 anomaly (nonzero), 0 background, -1 nodata.
std::vector<int8_t> truth_labels(const std::vector<float> &truth);

// Ground truth for a .mat input: the first variable named as in truth_rule(),
// else the only single-band variable of the cube's size, else none. `why`
// gets which rule applied.
std::string companion_truth(const std::string &path, std::string *why = nullptr);
std::string truth_rule();  // "map, gt, mask, ...", in the order looked for

struct WriteOptions {
  std::string format;  // empty: from the extension, GTiff otherwise
  std::vector<std::string> creation_options;
  bool overwrite = false;
};

// Fails early (before minutes of training) if `path` cannot be written.
void check_output(const std::string &path, const WriteOptions &options, const std::vector<std::string> &inputs);

// Writes bands (each rows*cols, NaN -> nodata) through a temporary file in
// the target folder that is renamed at the end: no half-written outputs.
void write_raster(const std::string &path, const WriteOptions &options, int rows, int cols,
                  const std::vector<const float *> &bands, const Georef &geo,
                  const std::vector<std::string> &descriptions, const std::map<std::string, std::string> &metadata,
                  bool byte_type = false, const std::string &unit = "",
                  const std::map<std::string, std::string> &band_metadata = {},  // unit and band_metadata: band 1
                  const std::string &style = "");  // a QGIS .qml written beside as NAME.qml

// Sets `geo` (transform, CRS, GCPs, RPC and GEOLOCATION metadata) on a dataset.
void apply_georef(GDALDataset &d, const Georef &geo);

// Expands "1-3,7" to {1,2,3,7}; throws Error if out of 1..count.
std::vector<int> parse_band_list(const std::string &spec, int count);

// The inverse, as ranges: {1,2,3,7} -> "1-3,7" (messages, metadata, -b).
std::string band_ranges(const std::vector<int> &bands);

// ENVI-style "{1, 0, 1}" lists (bbl, wavelength, fwhm).
std::vector<double> parse_envi_list(const std::string &value);

// ": GDAL's last error message", or "" when it has none.
std::string gdal_error_text();

// True once SIGINT/SIGTERM arrived; outputs are then abandoned.
bool interrupted();
// Tests: BS3L_TEST_SIGINT=PHASE (read, train, detect, write) raises SIGINT
// the first time the run reaches that phase.
void test_interrupt_at(const char *phase);
void install_signal_handlers();

}  // namespace bs3l::app
