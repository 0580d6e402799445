#include <gdal_priv.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>

#include "extra_outputs.h"
#include "output_file.h"
#include "raster_io.h"

namespace bs3l::app {
namespace {

// Linear stretch between two percentiles of the finite values, to 0..255.
std::vector<uint8_t> stretch(const float *v, size_t n, const std::vector<uint8_t> &valid, double lo_pct, double hi_pct,
                             std::vector<bool> &ok) {
  std::vector<float> f;
  for (size_t i = 0; i < n; ++i)
    if (ok[i] && std::isfinite(v[i]) && (valid.empty() || valid[i])) f.push_back(v[i]);
  std::vector<uint8_t> out(n, 0);
  if (f.empty()) return out;
  std::sort(f.begin(), f.end());
  const double lo = f[size_t(lo_pct / 100 * (f.size() - 1))], hi = f[size_t(hi_pct / 100 * (f.size() - 1))];
  for (size_t i = 0; i < n; ++i) {
    if (!std::isfinite(v[i]) || (!valid.empty() && !valid[i])) {
      ok[i] = false;
      continue;
    }
    const double t = hi > lo ? (v[i] - lo) / (hi - lo) : 0.5;
    out[i] = uint8_t(std::lround(255 * std::clamp(t, 0.0, 1.0)));
  }
  return out;
}

int nearest_band(const Raster &in, double nm) {
  double scale = 1;  // micrometres are common in ENVI headers
  if (!in.wavelengths.empty() && *std::max_element(in.wavelengths.begin(), in.wavelengths.end()) < 100) scale = 1000;
  int best = 0;
  for (size_t b = 1; b < in.wavelengths.size(); ++b)
    if (std::abs(in.wavelengths[b] * scale - nm) < std::abs(in.wavelengths[best] * scale - nm)) best = int(b);
  return best;
}

// A perceptually ordered dark-to-bright ramp (black, purple, orange, yellow).
std::array<uint8_t, 3> ramp(uint8_t v) {
  static const double stops[5][3] = {{0, 0, 4}, {87, 16, 110}, {188, 55, 84}, {249, 142, 9}, {252, 255, 164}};
  const double t = v / 255.0 * 4;
  const int i = std::min(3, int(t));
  const double f = t - i;
  std::array<uint8_t, 3> c;
  for (int k = 0; k < 3; ++k) c[k] = uint8_t(std::lround(stops[i][k] + f * (stops[i + 1][k] - stops[i][k])));
  return c;
}

}  // namespace

std::string write_quicklook(const std::string &path, const Raster &in, const std::vector<float> &score,
                            bool overwrite) {
  std::string note;
  const int rows = in.cube.rows, cols = in.cube.cols, bands = in.cube.bands;
  const size_t n = in.cube.pixels();
  int rgb[3];
  if (in.wavelengths.size() == size_t(bands)) {
    rgb[0] = nearest_band(in, 640), rgb[1] = nearest_band(in, 550), rgb[2] = nearest_band(in, 460);
  } else {  // no wavelengths: spread over the band range, long to short
    rgb[0] = bands * 3 / 4, rgb[1] = bands / 2, rgb[2] = bands / 4;
    note = "Quicklook: the input names no wavelengths; false-colour composite of bands " +
           std::to_string(in.band_index[size_t(rgb[0])]) + ", " + std::to_string(in.band_index[size_t(rgb[1])]) +
           ", " + std::to_string(in.band_index[size_t(rgb[2])]);
  }
  std::vector<bool> ok(n, true);
  std::vector<std::vector<uint8_t>> colour;
  for (int c : rgb) colour.push_back(stretch(in.cube.data.data() + size_t(c) * n, n, in.cube.valid, 2, 98, ok));
  std::vector<bool> score_ok(n, true);
  const std::vector<uint8_t> s = stretch(score.data(), n, in.cube.valid, 0, 99.5, score_ok);

  // Small scenes are enlarged (nearest neighbour) so the PNG is readable.
  const int zoom = std::max(1, 300 / std::max(rows, cols)), gap = 8;
  const int w = 2 * cols * zoom + gap, h = rows * zoom;
  std::unique_ptr<GDALDataset> mem(GetGDALDriverManager()->GetDriverByName("MEM")->Create("", w, h, 3, GDT_Byte, nullptr));
  std::vector<uint8_t> plane(size_t(w) * h);
  for (int k = 0; k < 3; ++k) {
    std::fill(plane.begin(), plane.end(), 255);
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < cols * zoom; ++x) {
        const size_t p = size_t(y / zoom) * cols + x / zoom;
        plane[size_t(y) * w + x] = ok[p] ? colour[k][p] : 0;
        plane[size_t(y) * w + cols * zoom + gap + x] = score_ok[p] ? ramp(s[p])[k] : 128;
      }
    if (mem->GetRasterBand(k + 1)->RasterIO(GF_Write, 0, 0, w, h, plane.data(), w, h, GDT_Byte, 0, 0) != CE_None)
      throw Error("cannot build the quicklook image");
  }
  PendingOutput pending(path, overwrite);
  GDALDriver *png = GetGDALDriverManager()->GetDriverByName("PNG");
  if (!png) throw Error("this GDAL has no PNG driver");
  CPLPushErrorHandler(CPLQuietErrorHandler);
  GDALDataset *out = png->CreateCopy(pending.temp().c_str(), mem.get(), FALSE, nullptr, nullptr, nullptr);
  CPLPopErrorHandler();
  if (!out) throw Error("cannot write '" + path + "'");
  CPLErrorReset();
  GDALClose(out);  // PNG writes its file here
  if (CPLGetLastErrorType() >= CE_Failure) throw Error("cannot write '" + path + "'" + gdal_error_text());
  std::error_code ec;
  std::filesystem::remove(pending.temp() + ".aux.xml", ec);  // PNG's PAM copy of nothing useful
  pending.commit();
  return note;
}

}  // namespace bs3l::app
