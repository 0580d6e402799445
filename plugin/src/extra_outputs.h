// Optional outputs beside the score raster: a PNG glance and detection polygons.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "raster_io.h"

namespace bs3l::app {

// True-colour composite of the input (bands nearest 640/550/460 nm when the
// wavelengths are known) beside the colour-mapped score map, as one PNG.
// Without wavelengths, a false-colour composite of three spread bands: the
// returned note says which ("" otherwise).
std::string write_quicklook(const std::string &path, const Raster &in, const std::vector<float> &score,
                            bool overwrite);

// Polygons of 8-connected detected pixels (`detected` 1/0 per pixel) with
// pixel count, area in square metres, peak and mean score, centroid in the
// output's coordinates and in WGS 84 longitude/latitude, placed by the
// input's geotransform, else its GCPs or RPCs (then in lon/lat). Format from
// the extension or -f (any OGR format that writes; GeoJSON in WGS 84 lon/lat,
// RFC 7946). Returns the count.
struct VectorOptions {
  std::string format;                      // -f: an OGR driver; empty = from the extension
  std::vector<std::string> layer_options;  // -lco NAME=VALUE
  std::string layer_name;                  // -nln; empty = "detections"
};
int write_polygons(const std::string &path, const Raster &in, const std::vector<float> &score,
                   const std::vector<uint8_t> &detected, bool overwrite, const VectorOptions &options = {});

// Vector driver: `format` if given (checked), else the one writing the
// path's extension (as ogr2ogr), or throws Error.
std::string vector_driver_for(const std::string &path, const std::string &format = "");

}  // namespace bs3l::app
