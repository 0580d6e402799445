// bs3lnet synth: the deterministic synthetic sample scene of sample_data/.
// Background: five smooth reflectance spectra mixed by smooth abundance
// fields, illumination and correlated noise; water-vapour bands are noisy
// and flagged bad; targets of 1..4 px with sub-pixel fractions 0.1..1.
#include <cpl_conv.h>
#include <gdal_priv.h>
#include <matio.h>
#include <ogr_spatialref.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <random>

#include "args.h"
#include "commands.h"
#include "raster_io.h"

namespace fs = std::filesystem;

namespace bs3l::app {
namespace {

// Portable random numbers: mt19937_64 is fully specified, the
// distributions of <random> are not.
struct Rng {
  std::mt19937_64 g;
  explicit Rng(uint64_t seed) : g(seed) {}
  double uniform() { return double(g() >> 11) * (1.0 / 9007199254740992.0); }
  double normal() {
    const double u = std::max(uniform(), 1e-300), v = uniform();
    return std::sqrt(-2 * std::log(u)) * std::cos(2 * M_PI * v);
  }
};

double bump(double x, double mu, double sigma) { return std::exp(-0.5 * (x - mu) * (x - mu) / (sigma * sigma)); }
double step(double x, double at, double width) { return 1 / (1 + std::exp(-(x - at) / width)); }
double water_dips(double l, double depth) { return 1 - depth * (bump(l, 1400, 50) + bump(l, 1900, 60)); }

// Reflectance in [0,1] of the background materials and the targets.
double material(int k, double l) {
  switch (k) {
    case 0:  // vegetation: green peak, red edge, water absorption
      return (0.04 + 0.05 * bump(l, 550, 35) + 0.42 * step(l, 715, 15) * (1 - 0.4 * step(l, 1350, 150))) *
             water_dips(l, 0.6);
    case 1:  // bare soil
      return (0.08 + 0.27 * (1 - std::exp(-(l - 400) / 700))) * water_dips(l, 0.25);
    case 2:  // water
      return 0.01 + 0.07 * std::exp(-(l - 400) / 180);
    case 3:  // concrete roof
      return (0.24 + 0.06 * (l - 400) / 2100) * water_dips(l, 0.1);
    case 4:  // asphalt road
      return 0.06 + 0.06 * (l - 400) / 2100;
    case 5:  // red paint
      return 0.05 + 0.55 * step(l, 600, 12) * (1 - 0.6 * step(l, 1100, 80));
    case 6:  // blue tarp
      return 0.08 + 0.45 * bump(l, 470, 40) + 0.3 * step(l, 1500, 100);
    default:  // bright metal panel
      return 0.55 + 0.15 * std::sin(l / 180.0);
  }
}

struct Scene {
  int size, bands;
  std::vector<double> wavelength, fwhm;
  std::vector<int> bbl;
  std::vector<int16_t> data;  // band-sequential, reflectance x 10000
  std::vector<uint8_t> truth;
};

Scene make_scene(int n, int bands, uint64_t seed) {
  Scene s{n, bands, {}, {}, {}, std::vector<int16_t>(size_t(bands) * n * n), std::vector<uint8_t>(size_t(n) * n, 0)};
  Rng rng(seed);
  const double spacing = 2100.0 / (bands - 1);
  for (int b = 0; b < bands; ++b) {
    const double l = 400 + spacing * b;
    s.wavelength.push_back(l);
    s.fwhm.push_back(1.1 * spacing);
    s.bbl.push_back(std::abs(l - 1400) < spacing * 1.1 || std::abs(l - 1900) < spacing * 1.1 ? 0 : 1);
  }
  // Smooth abundance fields: random low-frequency waves per material.
  const int materials = 5;
  std::vector<double> wave(materials * 4 * 4);
  for (double &w : wave) w = rng.uniform();
  std::vector<double> abundance(size_t(materials) * n * n), light(size_t(n) * n);
  for (int r = 0; r < n; ++r)
    for (int c = 0; c < n; ++c) {
      double z[materials], sum = 0;
      for (int k = 0; k < materials; ++k) {
        z[k] = 0;
        for (int j = 0; j < 4; ++j) {
          const double *w = &wave[(k * 4 + j) * 4];
          z[k] += std::sin(2 * M_PI * ((1 + 3 * w[0]) * r / n + (1 + 3 * w[1]) * c / n + w[2])) * (0.5 + w[3]);
        }
        z[k] = std::exp(3 * z[k]);
        sum += z[k];
      }
      for (int k = 0; k < materials; ++k) abundance[(size_t(k) * n + r) * n + c] = z[k] / sum;
      light[size_t(r) * n + c] = 0.9 + 0.1 * std::sin(2 * M_PI * (r + 2 * c) / n);
    }
  std::vector<double> cube(size_t(bands) * n * n);
  for (size_t p = 0; p < size_t(n) * n; ++p) {
    const double shade = rng.normal();  // spectrally correlated noise
    for (int b = 0; b < bands; ++b) {
      const double l = s.wavelength[b];
      double v = 0;
      for (int k = 0; k < materials; ++k) v += abundance[size_t(k) * n * n + p] * material(k, l);
      v = v * light[p] * (1 + 0.01 * shade) + 0.002 * rng.normal();
      if (!s.bbl[b]) v = 0.05 * v + 0.01 * rng.normal();  // absorbed, noisy
      cube[size_t(b) * n * n + p] = v;
    }
  }
  // Targets: a 4x3 grid, sizes 1..4 px, fractions 0.1..1.
  const int sizes[12] = {1, 2, 3, 4, 1, 2, 3, 4, 1, 2, 3, 4};
  const double fractions[12] = {0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 0.5, 1.0};
  for (int t = 0; t < 12; ++t) {
    const int r0 = n / 8 + (t / 4) * n / 3 + int(rng.uniform() * n / 10), c0 = n / 10 + (t % 4) * n / 4 + int(rng.uniform() * n / 10);
    const int kind = 5 + t % 3;
    for (int r = r0; r < r0 + sizes[t]; ++r)
      for (int c = c0; c < c0 + sizes[t]; ++c) {
        const size_t p = size_t(r) * n + c;
        s.truth[p] = 1;
        for (int b = 0; b < bands; ++b) {
          double &v = cube[size_t(b) * n * n + p];
          const double target = s.bbl[b] ? material(kind, s.wavelength[b]) * light[p] : v;
          v = (1 - fractions[t]) * v + fractions[t] * target;
        }
      }
  }
  for (size_t i = 0; i < cube.size(); ++i) s.data[i] = int16_t(std::lround(std::clamp(cube[i], -0.5, 3.0) * 10000));
  return s;
}

// UTM zone 33N, 5 m pixels: a plausible airborne scene near Naples.
constexpr double kTransform[6] = {435000.0, 5.0, 0.0, 4520000.0, 0.0, -5.0};

std::string list(const std::vector<double> &v, const char *fmt) {
  std::string s = "{";
  char buf[64];
  for (size_t i = 0; i < v.size(); ++i) std::snprintf(buf, sizeof buf, fmt, v[i]), s += (i ? ", " : " ") + std::string(buf);
  return s + " }";
}

void write_gdal(const std::string &driver, const fs::path &path, const Scene &s, const std::string &wkt, bool truth) {
  GDALDriver *drv = GetGDALDriverManager()->GetDriverByName(driver.c_str());
  const int bands = truth ? 1 : s.bands;
  std::unique_ptr<GDALDataset, void (*)(GDALDataset *)> d(
      drv->Create(path.c_str(), s.size, s.size, bands, truth ? GDT_Byte : GDT_Int16, nullptr),
      [](GDALDataset *x) { GDALClose(x); });
  if (!d) throw Error("cannot create '" + path.string() + "'");
  d->SetGeoTransform(const_cast<double *>(kTransform));
  d->SetProjection(wkt.c_str());
  for (int b = 0; b < bands; ++b) {
    GDALRasterBand *band = d->GetRasterBand(b + 1);
    const size_t n = size_t(s.size) * s.size;
    CPLErr e = truth ? band->RasterIO(GF_Write, 0, 0, s.size, s.size, const_cast<uint8_t *>(s.truth.data()), s.size,
                                      s.size, GDT_Byte, 0, 0)
                     : band->RasterIO(GF_Write, 0, 0, s.size, s.size, const_cast<int16_t *>(s.data.data() + b * n),
                                      s.size, s.size, GDT_Int16, 0, 0);
    if (e != CE_None) throw Error("cannot write '" + path.string() + "'");
    if (truth) {
      band->SetDescription("anomaly truth (1 = anomaly)");
    } else {
      char desc[64];
      std::snprintf(desc, sizeof desc, "Band %d (%.1f nm)", b + 1, s.wavelength[b]);
      band->SetDescription(desc);
      if (driver == "GTiff") {
        band->SetMetadataItem("wavelength", CPLSPrintf("%.1f", s.wavelength[b]));
        band->SetMetadataItem("wavelength_units", "nm");
      }
    }
  }
  if (driver == "ENVI" && !truth) {
    d->SetDescription("BS3LNet synthetic sample scene");  // else the header records the path
    std::vector<double> bbl(s.bbl.begin(), s.bbl.end());
    d->SetMetadataItem("wavelength", list(s.wavelength, "%.1f").c_str(), "ENVI");
    d->SetMetadataItem("fwhm", list(s.fwhm, "%.2f").c_str(), "ENVI");
    d->SetMetadataItem("bbl", list(bbl, "%.0f").c_str(), "ENVI");
    d->SetMetadataItem("wavelength_units", "Nanometers", "ENVI");
    d->SetMetadataItem("reflectance_scale_factor", "10000", "ENVI");
  }
}

void mat_add(mat_t *mat, const char *name, matio_classes cls, matio_types type, std::vector<size_t> dims, void *data) {
  matvar_t *v = Mat_VarCreate(name, cls, type, int(dims.size()), dims.data(), data, MAT_F_DONT_COPY_DATA);
  if (!v || Mat_VarWrite(mat, v, MAT_COMPRESSION_NONE) != 0) {
    if (v) Mat_VarFree(v);
    throw Error(std::string("cannot write variable ") + name);
  }
  Mat_VarFree(v);
}

void write_mat(const fs::path &path, const Scene &s, const std::string &wkt) {
  // A fixed header text: matio's default carries the date, which would break
  // bit-for-bit regeneration.
  mat_t *mat = Mat_CreateVer(path.c_str(), "MATLAB 5.0 MAT-file, written by bs3lnet synth", MAT_FT_MAT5);
  if (!mat) throw Error("cannot create '" + path.string() + "'");
  std::unique_ptr<mat_t, int (*)(mat_t *)> guard(mat, Mat_Close);
  const size_t n = s.size;
  // MATLAB arrays are column-major rows x cols x bands.
  std::vector<int16_t> data(s.data.size());
  for (int b = 0; b < s.bands; ++b)
    for (size_t r = 0; r < n; ++r)
      for (size_t c = 0; c < n; ++c) data[r + n * (c + n * b)] = s.data[(b * n + r) * n + c];
  std::vector<uint8_t> map(n * n);
  for (size_t r = 0; r < n; ++r)
    for (size_t c = 0; c < n; ++c) map[r + n * c] = s.truth[r * n + c];
  std::vector<double> wl = s.wavelength, fwhm = s.fwhm;
  char info[256];
  std::snprintf(info, sizeof info, "{UTM, 1.000, 1.000, %.3f, %.3f, %.10e, %.10e, 33, North, WGS-84, units=Meters}",
                kTransform[0], kTransform[3], kTransform[1], -kTransform[5]);
  std::string info_s = info, wkt_s = wkt;
  mat_add(mat, "data", MAT_C_INT16, MAT_T_INT16, {n, n, size_t(s.bands)}, data.data());
  mat_add(mat, "map", MAT_C_UINT8, MAT_T_UINT8, {n, n}, map.data());
  mat_add(mat, "wavelength", MAT_C_DOUBLE, MAT_T_DOUBLE, {wl.size(), 1}, wl.data());
  mat_add(mat, "fwhm", MAT_C_DOUBLE, MAT_T_DOUBLE, {fwhm.size(), 1}, fwhm.data());
  mat_add(mat, "map_info", MAT_C_CHAR, MAT_T_UINT8, {1, info_s.size()}, info_s.data());
  mat_add(mat, "coordinate_system_string", MAT_C_CHAR, MAT_T_UINT8, {1, wkt_s.size()}, wkt_s.data());
}

}  // namespace

int cmd_synth(const Argv &argv) {
  ArgSpec spec;
  spec.with_value = {"--size", "--bands", "--seed"};
  spec.flags = {"--overwrite", "-q", "--quiet"};
  spec.min_positional = spec.max_positional = 1;
  Args a("synth", argv, spec);
  const fs::path dir = a.positional()[0];
  const int size = a.get_int("--size", 100), bands = a.get_int("--bands", 60), seed = a.get_int("--seed", 2023);
  if (size < 40 || size > 4000) throw Error("--size must be 40 to 4000");
  if (bands < 10 || bands > 1000) throw Error("--bands must be 10 to 1000");
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (!fs::is_directory(dir)) throw Error("cannot create folder '" + dir.string() + "'");
  const char *names[] = {"scene.tif", "scene.img", "scene.hdr", "scene.mat", "scene_truth.tif"};
  for (const char *f : names)
    if (fs::exists(dir / f) && !a.flag("--overwrite"))
      throw Error("'" + (dir / f).string() + "' exists; use --overwrite to replace it");
  for (const char *f : names) fs::remove(dir / f, ec);
  const Scene s = make_scene(size, bands, uint64_t(seed));
  OGRSpatialReference srs;
  srs.importFromEPSG(32633);
  char *w = nullptr;
  srs.exportToWkt(&w);
  const std::string wkt = w;
  CPLFree(w);
  // No .aux.xml side files: the folder must regenerate bit for bit.
  CPLSetThreadLocalConfigOption("GDAL_PAM_ENABLED", "NO");
  write_gdal("GTiff", dir / "scene.tif", s, wkt, false);
  write_gdal("ENVI", dir / "scene.img", s, wkt, false);
  write_gdal("GTiff", dir / "scene_truth.tif", s, wkt, true);
  write_mat(dir / "scene.mat", s, wkt);
  CPLSetThreadLocalConfigOption("GDAL_PAM_ENABLED", nullptr);
  if (!a.flag("-q") && !a.flag("--quiet"))
    std::printf("Wrote %dx%d pixels, %d bands, %d anomaly pixels to %s\n", size, size, bands,
                int(std::count(s.truth.begin(), s.truth.end(), 1)), dir.c_str());
  return 0;
}

}  // namespace bs3l::app
