// Opening rasters with GDAL, shared by raster_io's readers and writers
// (not part of its interface).
#pragma once
#include <cpl_string.h>
#include <gdal_priv.h>

#include <memory>
#include <string>
#include <vector>

#include "raster_io.h"

namespace bs3l::app {

struct Closer {
  void operator()(GDALDataset *d) const { GDALClose(d); }
};
using DatasetPtr = std::unique_ptr<GDALDataset, Closer>;

CPLStringList string_list(const std::vector<std::string> &items);

// Opens a raster; a missing file, a folder, or a raw file whose header does
// not match its size is an Error.
DatasetPtr open_dataset(const std::string &path, const std::vector<std::string> &open_options = {});

// The same; a multi-variable .mat (no bands, subdatasets) resolves to its
// variable with the most bands, named in `resolved`.
DatasetPtr open_cube(const std::string &path, std::string &resolved, const std::vector<std::string> &open_options = {});

// The georeferencing of a dataset (transform, CRS, GCPs, RPC, GEOLOCATION).
Georef georef_of(GDALDataset &d);

}  // namespace bs3l::app
