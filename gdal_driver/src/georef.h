// Georeferencing carried inside a .mat file's own variables.
#pragma once

#include <mat_file.h>
#include <ogr_spatialref.h>

#include <string>

namespace bs3l::matlab {

struct FileGeoref {
  bool has_transform = false;
  double transform[6] = {0, 1, 0, 0, 0, 1};
  OGRSpatialReference srs;  // empty when the file names no CRS
};

// ENVI "map info" string: "{UTM, 1, 1, E, N, dx, dy, zone, North, datum, units=Meters}".
bool parse_envi_map_info(const std::string &text, double transform[6], OGRSpatialReference *srs);

// Looks at `geotransform` + a CRS string variable first, then ENVI's
// `coordinate_system_string` and `map_info`.
FileGeoref read_file_georef(mat_t *mat, const std::vector<VarInfo> &vars);

// Names of char variables consumed as georeferencing (not echoed as metadata).
bool is_georef_string(const std::string &name);

}  // namespace bs3l::matlab
