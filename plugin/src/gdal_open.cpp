// Opening: files, .mat subdatasets, raw files checked against their header.
#include "gdal_open.h"

#include <cpl_conv.h>

#include <algorithm>
#include <filesystem>

namespace fs = std::filesystem;

namespace bs3l::app {

std::string gdal_error_text() {
  const char *m = CPLGetLastErrorMsg();
  return (m && *m) ? std::string(": ") + m : std::string();
}

namespace {

// Raw formats (ENVI, EHdr, ...) read missing bytes past the end of a short
// data file as zeros without a word; refuse such a file up front.
void check_raw_size(GDALDataset &d, const std::string &path) {
  GDALDataset::RawBinaryLayout l;
  if (d.GetRasterCount() == 0 || !d.GetRawBinaryLayout(l)) return;
  if (l.nImageOffset < 0 || l.nPixelOffset < 0 || l.nLineOffset < 0 || l.nBandOffset < 0) return;
  const GIntBig last = l.nImageOffset + GIntBig(d.GetRasterCount() - 1) * l.nBandOffset +
                       GIntBig(d.GetRasterYSize() - 1) * l.nLineOffset +
                       GIntBig(d.GetRasterXSize() - 1) * l.nPixelOffset + GDALGetDataTypeSizeBytes(l.eDataType);
  VSIStatBufL st;
  if (VSIStatL(l.osRawFilename.c_str(), &st) != 0) return;
  const GIntBig size = GIntBig(st.st_size);
  const std::string file = l.osRawFilename == path ? "'" + path + "'"
                                                   : "data file '" + l.osRawFilename + "' of '" + path + "'";
  if (size < last)
    throw Error(file + " holds " + std::to_string(size) + " bytes but its header describes " + std::to_string(last) +
                " (truncated?)");
  // A header that describes less than the file holds (samples = 99 for 100
  // columns) would shear the image. Only for header+data formats: a GeoTIFF
  // keeps its tags after the pixels.
  const std::string drv = d.GetDriver() ? d.GetDriver()->GetDescription() : "";
  if (drv != "ENVI" && drv != "EHdr") return;
  const GIntBig whole = l.nImageOffset + std::max({GIntBig(d.GetRasterCount()) * l.nBandOffset,
                                                   GIntBig(d.GetRasterYSize()) * l.nLineOffset,
                                                   GIntBig(d.GetRasterXSize()) * l.nPixelOffset});
  if (size > whole)
    throw Error(file + " holds " + std::to_string(size) + " bytes but its header describes only " + std::to_string(whole) +
                " (check samples, lines, bands and data type)");
}

}  // namespace

CPLStringList string_list(const std::vector<std::string> &items) {
  CPLStringList list;
  for (const std::string &s : items) list.AddString(s.c_str());
  return list;
}

DatasetPtr open_dataset(const std::string &path, const std::vector<std::string> &open_options) {
  CPLErrorReset();
  if (!path.empty() && path.rfind("/vsi", 0) != 0 && path.find(':') == std::string::npos) {
    std::error_code ec;
    if (!fs::exists(path, ec)) throw Error("'" + path + "' does not exist");
    if (fs::is_directory(path, ec)) throw Error("'" + path + "' is a directory, not a raster");
  }
  CPLStringList oo = string_list(open_options);
  CPLPushErrorHandler(CPLQuietErrorHandler);
  GDALDataset *d = GDALDataset::Open(path.c_str(), GDAL_OF_RASTER, nullptr, oo.List());
  CPLPopErrorHandler();
  if (!d) throw Error("cannot open '" + path + "' as a raster" + gdal_error_text());
  DatasetPtr ds(d);
  check_raw_size(*ds, path);
  return ds;
}

// A multi-variable .mat opens with no bands and a list of subdatasets.
DatasetPtr open_cube(const std::string &path, std::string &resolved, const std::vector<std::string> &open_options) {
  DatasetPtr d = open_dataset(path, open_options);
  resolved = path;
  if (d->GetRasterCount() > 0) return d;
  char **sds = d->GetMetadata("SUBDATASETS");
  std::string best;
  int best_bands = 0;
  for (int i = 1;; ++i) {
    const char *name = CSLFetchNameValue(sds, ("SUBDATASET_" + std::to_string(i) + "_NAME").c_str());
    if (!name) break;
    CPLPushErrorHandler(CPLQuietErrorHandler);
    DatasetPtr s(GDALDataset::Open(name, GDAL_OF_RASTER));
    CPLPopErrorHandler();
    if (s && s->GetRasterCount() > best_bands) best = name, best_bands = s->GetRasterCount();
  }
  if (best.empty()) throw Error("'" + path + "' holds no raster band");
  resolved = best;
  return open_dataset(best);
}

}  // namespace bs3l::app
