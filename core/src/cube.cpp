#include "bs3l/cube.h"

#include "bs3l/stats.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace bs3l {

size_t Cube::valid_count() const {
  if (valid.empty()) return pixels();
  size_t n = 0;
  for (uint8_t v : valid) n += v != 0;
  return n;
}

std::vector<uint8_t> Cube::flat_pixels() const {
  std::vector<uint8_t> out;
  const size_t n = pixels();
  for (size_t i = 0; i < n && bands > 1; ++i) {
    if (!is_valid(i)) continue;
    int k = 1;
    while (k < bands && data[size_t(k) * n + i] == data[i]) ++k;
    if (k < bands) continue;
    if (out.empty()) out.assign(n, 0);
    out[i] = 1;
  }
  return out;
}

void check_cube(const Cube &cube, int min_bands, bool may_be_empty) {
  if (cube.bands <= 0 || cube.rows <= 0 || cube.cols <= 0)
    throw Error("empty cube (" + std::to_string(cube.bands) + " bands, " + std::to_string(cube.rows) +
                "x" + std::to_string(cube.cols) + " pixels)");
  if (cube.data.size() != size_t(cube.bands) * cube.pixels())
    throw Error("cube data size does not match its dimensions");
  if (!cube.valid.empty() && cube.valid.size() != cube.pixels())
    throw Error("valid-pixel mask size does not match the cube");
  if (cube.bands < min_bands)
    throw Error("the cube has " + std::to_string(cube.bands) + " band(s); at least " +
                std::to_string(min_bands) + " are needed");
  if (!may_be_empty && cube.valid_count() == 0) throw Error("no valid pixel (everything is nodata or masked)");
  const size_t n = cube.pixels();
  for (int b = 0; b < cube.bands; ++b) {
    const float *p = cube.data.data() + size_t(b) * n;
    for (size_t i = 0; i < n; ++i)
      if (cube.is_valid(i) && !std::isfinite(p[i]))
        throw Error("band " + std::to_string(b + 1) + " has a non-finite value (NaN or Inf) at row " +
                    std::to_string(i / cube.cols) + ", column " + std::to_string(i % cube.cols) +
                    "; declare it nodata or mask it");
  }
}

Cube CubeReader::read(const Window &w) const {
  if (w.row < 0 || w.col < 0 || w.rows < 1 || w.cols < 1 || w.row + w.rows > cube_.rows || w.col + w.cols > cube_.cols)
    throw Error("window outside the cube");
  Cube c(cube_.bands, w.rows, w.cols);
  for (int b = 0; b < cube_.bands; ++b)
    for (int y = 0; y < w.rows; ++y) {
      const float *src = &cube_.data[(size_t(b) * cube_.rows + w.row + y) * cube_.cols + w.col];
      std::copy(src, src + w.cols, &c.data[(size_t(b) * w.rows + y) * w.cols]);
    }
  if (!cube_.valid.empty()) {
    c.valid.resize(c.pixels());
    for (int y = 0; y < w.rows; ++y) {
      const uint8_t *src = &cube_.valid[size_t(w.row + y) * cube_.cols + w.col];
      std::copy(src, src + w.cols, &c.valid[size_t(y) * w.cols]);
    }
  }
  return c;
}

Normalize parse_normalize(const std::string &name) {
  if (name == "none") return Normalize::None;
  if (name == "minmax") return Normalize::MinMax;
  if (name == "zscore") return Normalize::ZScore;
  throw Error("unknown normalisation '" + name + "' (use none, minmax or zscore)");
}

std::string to_string(Normalize n) {
  switch (n) {
    case Normalize::None: return "none";
    case Normalize::MinMax: return "minmax";
    case Normalize::ZScore: return "zscore";
  }
  return "none";
}

// The statistics pass serves the in-memory fit too: one definition of it.
Scaling Scaling::fit(const Cube &cube, Normalize kind) { return scene_stats(CubeReader(cube), kind, false).scaling; }

bool Scaling::fenced(int bands) const {
  return kind != Normalize::None && offset.size() == size_t(bands) && (std::isfinite(clip_lo) || std::isfinite(clip_hi));
}

bool Scaling::beyond_fences(const Cube &cube, size_t i) const {
  if (!cube.is_valid(i)) return false;
  const size_t n = cube.pixels();
  for (int b = 0; b < cube.bands; ++b) {
    const float v = (cube.data[size_t(b) * n + i] - offset[size_t(b)]) * scale[size_t(b)];
    if (v < clip_lo || v > clip_hi) return true;
  }
  return false;
}

void Scaling::apply(Cube &cube) const {
  if (kind == Normalize::None) return;
  if (int(offset.size()) != cube.bands) throw Error("scaling was fitted on a different band count");
  const size_t n = cube.pixels();
  for (int b = 0; b < cube.bands; ++b) {
    float *p = cube.data.data() + size_t(b) * n;
    for (size_t i = 0; i < n; ++i) p[i] = (p[i] - offset[b]) * scale[b];
  }
}

}  // namespace bs3l
