// libFuzzer target: the ENVI-style header values we parse ourselves: list
// values ({...} for bbl, wavelength, fwhm) and "map info" strings.
#include <cstdint>
#include <string>

#include "bs3l/cube.h"
#include "georef.h"
#include "raster_io.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const std::string text(reinterpret_cast<const char *>(data), size);
  try {
    bs3l::app::parse_envi_list(text);
  } catch (const bs3l::Error &) {
  }
  double gt[6];
  OGRSpatialReference srs;
  bs3l::matlab::parse_envi_map_info(text, gt, &srs);
  return 0;
}
