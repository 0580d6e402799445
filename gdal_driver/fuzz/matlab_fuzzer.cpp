// libFuzzer target for the MATLAB driver's open and read paths. Built with
// BS3L_FUZZ_REPLAY it gets a main() that replays files, so CTest can run the
// seed corpus (and any past crash) without clang.
#include "matlab_driver.h"

#include <cpl_conv.h>
#include <cpl_error.h>
#include <cpl_string.h>
#include <gdal.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace {

// Reads every band of a dataset, bounded so that a valid but large array
// does not turn the fuzzer into a memory test.
void read_all(GDALDatasetH ds) {
  const int w = GDALGetRasterXSize(ds), h = GDALGetRasterYSize(ds), n = GDALGetRasterCount(ds);
  if (double(w) * h > 4e6 || n > 1000) return;
  std::vector<double> buf(size_t(w) * h);
  for (int b = 1; b <= n; ++b) {
    GDALRasterBandH band = GDALGetRasterBand(ds, b);
    if (GDALRasterIO(band, GF_Read, 0, 0, w, h, buf.data(), w, h, GDT_Float64, 0, 0) != CE_None) return;
    GDALGetMetadataItem(band, "wavelength", nullptr);
  }
  double gt[6];
  GDALGetGeoTransform(ds, gt);
  GDALGetSpatialRef(ds);
}

const char *const kOnlyMatlab[] = {"MATLAB", nullptr};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const bool ready = [] {
    CPLSetConfigOption("GDAL_PAM_ENABLED", "NO");  // no .aux.xml next to temp files
    CPLSetErrorHandler(CPLQuietErrorHandler);
    GDALRegister_MATLAB();
    return true;
  }();
  (void)ready;
  // matio reads real files only, so each input goes through a temp file.
  const std::string path = CPLSPrintf("/tmp/bs3l_fuzz_%d.mat", int(getpid()));
  FILE *f = std::fopen(path.c_str(), "wb");
  if (!f) return 0;
  const bool written = std::fwrite(data, 1, size, f) == size;
  std::fclose(f);
  if (written) {
    if (GDALDatasetH ds = GDALOpenEx(path.c_str(), GDAL_OF_RASTER, kOnlyMatlab, nullptr, nullptr)) {
      read_all(ds);
      char **sds = GDALGetMetadata(ds, "SUBDATASETS");
      for (int i = 1; i <= 4; ++i) {
        const char *name = CSLFetchNameValue(sds, CPLSPrintf("SUBDATASET_%d_NAME", i));
        if (!name) break;
        if (GDALDatasetH s = GDALOpenEx(name, GDAL_OF_RASTER, kOnlyMatlab, nullptr, nullptr)) {
          read_all(s);
          GDALClose(s);
        }
      }
      GDALClose(ds);
    }
  }
  std::remove(path.c_str());
  return 0;
}

#ifdef BS3L_FUZZ_REPLAY
#include <filesystem>
#include <fstream>
#include <iterator>

int main(int argc, char **argv) {
  namespace fs = std::filesystem;
  std::vector<fs::path> inputs;
  for (int i = 1; i < argc; ++i) {
    if (fs::is_directory(argv[i])) {
      for (const auto &e : fs::directory_iterator(argv[i])) inputs.push_back(e.path());
    } else {
      inputs.emplace_back(argv[i]);
    }
  }
  for (const fs::path &p : inputs) {
    std::ifstream in(p, std::ios::binary);
    const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    LLVMFuzzerTestOneInput(bytes.data(), bytes.size());
  }
  std::printf("replayed %zu inputs\n", inputs.size());
  return inputs.empty() ? 1 : 0;
}
#endif
