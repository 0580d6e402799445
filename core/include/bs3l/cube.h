// A hyperspectral cube in memory: float32, band-sequential [bands][rows][cols].
#pragma once
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

namespace bs3l {

// Every error the library reports: one line, meant for the user.
struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Cube {
  int bands = 0, rows = 0, cols = 0;
  std::vector<float> data;     // bands*rows*cols, band-sequential
  std::vector<uint8_t> valid;  // rows*cols, 1 = use the pixel; empty = all valid

  Cube() = default;
  Cube(int b, int r, int c) : bands(b), rows(r), cols(c), data(size_t(b) * r * c, 0.f) {}

  size_t pixels() const { return size_t(rows) * cols; }
  float &at(int b, int r, int c) { return data[(size_t(b) * rows + r) * cols + c]; }
  float at(int b, int r, int c) const { return data[(size_t(b) * rows + r) * cols + c]; }
  bool is_valid(size_t pixel) const { return valid.empty() || valid[pixel] != 0; }
  size_t valid_count() const;
  // Valid pixels with one value in every band (two bands or more): no scene
  // holds them, undeclared fill (an orthorectified line's border) does.
  // 1 where so; empty when there are none.
  std::vector<uint8_t> flat_pixels() const;
};

// Throws Error unless the cube can be trained on / scored: sizes consistent,
// at least `min_bands` bands, at least one valid pixel (unless `may_be_empty`:
// a window of a scene may be all nodata), finite valid values.
void check_cube(const Cube &cube, int min_bands = 2, bool may_be_empty = false);


// A rectangle of pixels: first row and column, and size.
struct Window {
  int row = 0, col = 0, rows = 0, cols = 0;
};

// A scene read window by window (a GDAL raster in the command, a Cube in
// memory): what lets training and detection run in bounded memory.
class SceneReader {
 public:
  virtual ~SceneReader() = default;
  virtual int bands() const = 0;
  virtual int rows() const = 0;
  virtual int cols() const = 0;
  // The window as a cube, with its valid mask (empty: all valid).
  virtual Cube read(const Window &w) const = 0;
};

class CubeReader : public SceneReader {
 public:
  explicit CubeReader(const Cube &cube) : cube_(cube) {}
  int bands() const override { return cube_.bands; }
  int rows() const override { return cube_.rows; }
  int cols() const override { return cube_.cols; }
  Cube read(const Window &w) const override;

 private:
  const Cube &cube_;
};

enum class Normalize { None, MinMax, ZScore };
Normalize parse_normalize(const std::string &name);
std::string to_string(Normalize n);

// Affine per-band transform x' = (x - offset[b]) * scale[b], fitted on the
// valid pixels; stored with a model so another scene is scaled identically.
// The network takes a scaled value outside [clip_lo, clip_hi] as missing.
struct Scaling {
  Normalize kind = Normalize::None;
  std::vector<float> offset, scale;  // one per band (MinMax: same value for all bands)
  // MinMax: the fences (stats.cpp) in scaled units, beyond [0, 1]; infinite
  // for the other kinds and for models of earlier builds.
  float clip_lo = -std::numeric_limits<float>::infinity(), clip_hi = std::numeric_limits<float>::infinity();
  // Not stored with a model: the fitted scene's raw extremes, and whether
  // some of its values lay beyond the fences.
  double seen_lo = 0, seen_hi = 0;
  bool clipped = false;
  static Scaling fit(const Cube &cube, Normalize kind);  // = scene_stats(...).scaling (stats.h)
  void apply(Cube &cube) const;
  // Whether fences are set for `bands` bands, and whether valid pixel `i` of
  // an unscaled cube holds a value beyond them (as prepare_rows scales it).
  bool fenced(int bands) const;
  bool beyond_fences(const Cube &cube, size_t i) const;
};

}  // namespace bs3l
