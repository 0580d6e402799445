// bs3lnet synth: writes the synthetic scene (core/.../synthetic.h) in the
// sample_data/ formats: GeoTIFF, ENVI, .mat and the truth raster.
#include <cpl_conv.h>
#include <gdal_priv.h>
#include <matio.h>
#include <ogr_spatialref.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <memory>
#include <random>

#include "bs3l/synthetic.h"
#include "jobs.h"
#include "output_file.h"
#include "raster_io.h"

namespace fs = std::filesystem;

namespace bs3l::app {
namespace {

// UTM zone 33N, 5 m pixels: a plausible airborne scene near Naples.
constexpr double kTransform[6] = {435000.0, 5.0, 0.0, 4520000.0, 0.0, -5.0};

std::string list(const std::vector<double> &v, const char *fmt) {
  std::string s = "{";
  char buf[64];
  for (size_t i = 0; i < v.size(); ++i) std::snprintf(buf, sizeof buf, fmt, v[i]), s += (i ? ", " : " ") + std::string(buf);
  return s + " }";
}

void write_gdal(const std::string &driver, const fs::path &path, const SyntheticScene &s, const std::string &wkt, bool truth) {
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
  if (driver == "GTiff" && !truth) {  // the same bad bands as the ENVI header's bbl
    std::vector<double> bbl(s.bbl.begin(), s.bbl.end());
    d->SetMetadataItem("bbl", list(bbl, "%.0f").c_str());
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

void write_mat(const fs::path &path, const SyntheticScene &s, const std::string &wkt) {
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
  std::vector<double> bbl(s.bbl.begin(), s.bbl.end());
  mat_add(mat, "bbl", MAT_C_DOUBLE, MAT_T_DOUBLE, {bbl.size(), 1}, bbl.data());
  mat_add(mat, "map_info", MAT_C_CHAR, MAT_T_UINT8, {1, info_s.size()}, info_s.data());
  mat_add(mat, "coordinate_system_string", MAT_C_CHAR, MAT_T_UINT8, {1, wkt_s.size()}, wkt_s.data());
}

}  // namespace

int synth_run(const SynthJob &job) {
  const fs::path dir = job.folder;
  const int size = job.size, bands = job.bands, seed = job.seed;
  if (size < 40 || size > 4000) throw Error("--size must be 40 to 4000");
  if (bands < 10 || bands > 1000) throw Error("--bands must be 10 to 1000");
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (!fs::is_directory(dir)) throw Error("cannot create folder '" + dir.string() + "'");
  const char *names[] = {"scene.tif", "scene.img", "scene.hdr", "scene.mat", "scene_truth.tif"};
  for (const char *f : names)
    if (fs::exists(dir / f) && !job.overwrite)
      throw Error("'" + (dir / f).string() + "' exists; use --overwrite to replace it");
  const SyntheticScene s = make_scene(size, bands, uint64_t(seed));
  OGRSpatialReference srs;
  srs.importFromEPSG(32633);
  char *w = nullptr;
  srs.exportToWkt(&w);
  const std::string wkt = w;
  CPLFree(w);
  // No .aux.xml side files: the folder must regenerate bit for bit.
  struct NoPam {
    NoPam() { CPLSetThreadLocalConfigOption("GDAL_PAM_ENABLED", "NO"); }
    ~NoPam() { CPLSetThreadLocalConfigOption("GDAL_PAM_ENABLED", nullptr); }
  } no_pam;
  // Every file under a temporary name, renamed with the others at the end
  // (an ENVI .img takes its .hdr along): a failure leaves the folder as it was.
  const auto write = [&](const char *name, const std::function<void(const fs::path &)> &fill) {
    PendingOutput out((dir / name).string(), job.overwrite);
    fill(out.temp());
    out.commit();
  };
  write("scene.tif", [&](const fs::path &p) { write_gdal("GTiff", p, s, wkt, false); });
  write("scene.img", [&](const fs::path &p) { write_gdal("ENVI", p, s, wkt, false); });
  write("scene_truth.tif", [&](const fs::path &p) { write_gdal("GTiff", p, s, wkt, true); });
  write("scene.mat", [&](const fs::path &p) { write_mat(p, s, wkt); });
  if (!job.quiet)
    std::printf("Wrote %dx%d pixels, %d bands, %d anomaly pixels to %s\n", size, size, bands,
                int(std::count(s.truth.begin(), s.truth.end(), 1)), dir.c_str());
  return 0;
}

}  // namespace bs3l::app
