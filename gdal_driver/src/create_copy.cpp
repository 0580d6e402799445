// gdal_translate -of MATLAB: the whole cube as one column-major variable plus
// the georeferencing and band metadata that the reader understands.
#include "matlab_dataset.h"

#include <cpl_string.h>
#include <cpl_vsi.h>

#include <cctype>
#include <cmath>
#include <cstring>

namespace bs3l::matlab {
namespace {

bool class_for(GDALRasterBand *band, matio_classes &cls, matio_types &type) {
  switch (band->GetRasterDataType()) {
    case GDT_Byte: {
      const char *pt = band->GetMetadataItem("PIXELTYPE", "IMAGE_STRUCTURE");
      if (pt && EQUAL(pt, "SIGNEDBYTE")) cls = MAT_C_INT8, type = MAT_T_INT8;
      else cls = MAT_C_UINT8, type = MAT_T_UINT8;
      return true;
    }
    case GDT_Int16: cls = MAT_C_INT16, type = MAT_T_INT16; return true;
    case GDT_UInt16: cls = MAT_C_UINT16, type = MAT_T_UINT16; return true;
    case GDT_Int32: cls = MAT_C_INT32, type = MAT_T_INT32; return true;
    case GDT_UInt32: cls = MAT_C_UINT32, type = MAT_T_UINT32; return true;
    case GDT_Int64: cls = MAT_C_INT64, type = MAT_T_INT64; return true;
    case GDT_UInt64: cls = MAT_C_UINT64, type = MAT_T_UINT64; return true;
    case GDT_Float32: cls = MAT_C_SINGLE, type = MAT_T_SINGLE; return true;
    case GDT_Float64: cls = MAT_C_DOUBLE, type = MAT_T_DOUBLE; return true;
    default: return false;
  }
}

bool valid_name(const std::string &n) {
  if (n.empty() || n.size() > 63 || !std::isalpha(static_cast<unsigned char>(n[0]))) return false;
  for (char c : n)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
  return true;
}

bool write_var(mat_t *mat, const char *name, matio_classes cls, matio_types type, std::vector<size_t> dims,
               const void *data, matio_compression comp) {
  VarPtr v(Mat_VarCreate(name, cls, type, int(dims.size()), dims.data(), const_cast<void *>(data), MAT_F_DONT_COPY_DATA));
  return v && Mat_VarWrite(mat, v.get(), comp) == 0;
}

// MATLAB stores char as UTF-16 (WKT2 holds UTF-8 degree signs).
bool write_text(mat_t *mat, const char *name, const std::string &s, matio_compression comp) {
  const std::vector<uint16_t> utf16 = utf8_to_utf16(s);
  return write_var(mat, name, MAT_C_CHAR, MAT_T_UINT16, {1, utf16.size()}, utf16.data(), comp);
}

// A per-band numeric metadata item present on every band, e.g. wavelength.
std::vector<double> band_values(GDALDataset *src, const char *key) {
  std::vector<double> v;
  for (int b = 1; b <= src->GetRasterCount(); ++b) {
    const char *s = src->GetRasterBand(b)->GetMetadataItem(key);
    char *end = nullptr;
    const double x = s ? std::strtod(s, &end) : 0;
    if (!s || end == s || !std::isfinite(x)) return {};
    v.push_back(x);
  }
  return v;
}

// ENVI keeps wavelengths and bbl in its own domain; take them from there as well.
std::vector<double> envi_values(GDALDataset *src, const char *key, const char *domain = "ENVI") {
  std::vector<double> v;
  const char *s = src->GetMetadataItem(key, domain);
  if (!s) return v;
  const CPLStringList t(CSLTokenizeString2(s, "{}, ", 0));
  for (int i = 0; i < t.size(); ++i) v.push_back(CPLAtof(t[i]));
  if (int(v.size()) != src->GetRasterCount()) v.clear();
  return v;
}

}  // namespace

GDALDataset *create_copy(const char *path, GDALDataset *src, int, char **options, GDALProgressFunc progress,
                         void *progress_data) {
  if (!progress) progress = GDALDummyProgress;
  const int bands = src->GetRasterCount(), cols = src->GetRasterXSize(), rows = src->GetRasterYSize();
  if (bands == 0) {
    CPLError(CE_Failure, CPLE_NotSupported, "MATLAB: the source has no band to write");
    return nullptr;
  }
  matio_classes cls;
  matio_types type;
  GDALRasterBand *first = src->GetRasterBand(1);
  if (!class_for(first, cls, type)) {
    CPLError(CE_Failure, CPLE_NotSupported, "MATLAB: cannot write %s bands (complex data is not supported)",
             GDALGetDataTypeName(first->GetRasterDataType()));
    return nullptr;
  }
  for (int b = 2; b <= bands; ++b)
    if (src->GetRasterBand(b)->GetRasterDataType() != first->GetRasterDataType()) {
      CPLError(CE_Failure, CPLE_NotSupported, "MATLAB: all bands must share one data type");
      return nullptr;
    }
  const std::string name = CSLFetchNameValueDef(options, "VARIABLE", "data");
  if (!valid_name(name) || name == "geotransform" || name == "crs_wkt") {
    CPLError(CE_Failure, CPLE_IllegalArg, "MATLAB: VARIABLE='%s' is not a usable MATLAB variable name", name.c_str());
    return nullptr;
  }
  const std::string fmt = CSLFetchNameValueDef(options, "FORMAT", "5");
  if (fmt != "5" && fmt != "7.3") {
    CPLError(CE_Failure, CPLE_IllegalArg, "MATLAB: FORMAT must be 5 or 7.3, not '%s'", fmt.c_str());
    return nullptr;
  }
  const matio_compression comp =
      CPLTestBool(CSLFetchNameValueDef(options, "COMPRESS", "NO")) ? MAT_COMPRESSION_ZLIB : MAT_COMPRESSION_NONE;

  // Column-major rows x cols x bands is exactly GDAL's band-sequential
  // buffer with pixel and line spacings swapped.
  const GDALDataType gtype = first->GetRasterDataType();
  const size_t size = size_t(GDALGetDataTypeSizeBytes(gtype));
  std::vector<unsigned char> cube;
  try {
    cube.resize(size_t(rows) * cols * bands * size);
  } catch (const std::bad_alloc &) {
    CPLError(CE_Failure, CPLE_OutOfMemory, "MATLAB: a %dx%dx%d cube does not fit in memory", rows, cols, bands);
    return nullptr;
  }
  GDALRasterIOExtraArg extra;
  INIT_RASTERIO_EXTRA_ARG(extra);
  extra.pfnProgress = GDALScaledProgress;
  extra.pProgressData = GDALCreateScaledProgress(0, 0.9, progress, progress_data);
  const CPLErr err = src->RasterIO(GF_Read, 0, 0, cols, rows, cube.data(), cols, rows, gtype, bands, nullptr,
                                   GSpacing(size * rows), GSpacing(size), GSpacing(size) * rows * cols, &extra);
  GDALDestroyScaledProgress(extra.pProgressData);
  if (err != CE_None) return nullptr;

  mat_t *raw = Mat_CreateVer(path, nullptr, fmt == "7.3" ? MAT_FT_MAT73 : MAT_FT_MAT5);
  if (!raw) {
    CPLError(CE_Failure, CPLE_OpenFailed, "MATLAB: cannot create '%s'", path);
    return nullptr;
  }
  MatPtr mat(raw);
  bool ok = bands == 1 ? write_var(raw, name.c_str(), cls, type, {size_t(rows), size_t(cols)}, cube.data(), comp)
                       : write_var(raw, name.c_str(), cls, type, {size_t(rows), size_t(cols), size_t(bands)}, cube.data(), comp);
  cube = {};
  double gt[6];
  if (ok && src->GetGeoTransform(gt) == CE_None) ok = write_var(raw, "geotransform", MAT_C_DOUBLE, MAT_T_DOUBLE, {1, 6}, gt, comp);
  if (ok && src->GetSpatialRef()) {
    char *wkt = nullptr;
    const char *wkt_options[] = {"FORMAT=WKT2_2019", nullptr};
    if (src->GetSpatialRef()->exportToWkt(&wkt, wkt_options) == OGRERR_NONE && wkt) ok = write_text(raw, "crs_wkt", wkt, comp);
    CPLFree(wkt);
  }
  for (const char *key : {"wavelength", "fwhm"}) {
    std::vector<double> v = band_values(src, key);
    if (v.empty()) v = envi_values(src, key);
    if (ok && !v.empty()) ok = write_var(raw, key, MAT_C_DOUBLE, MAT_T_DOUBLE, {v.size(), 1}, v.data(), comp);
  }
  std::vector<double> bbl = envi_values(src, "bbl");  // ENVI's bad-band list, or a plain "bbl" item
  if (bbl.empty()) bbl = envi_values(src, "bbl", "");
  if (ok && !bbl.empty()) ok = write_var(raw, "bbl", MAT_C_DOUBLE, MAT_T_DOUBLE, {bbl.size(), 1}, bbl.data(), comp);
  const char *units = first->GetMetadataItem("wavelength_units");
  if (!units) units = src->GetMetadataItem("wavelength_units", "ENVI");
  if (ok && units && *units) ok = write_text(raw, "wavelength_units", units, comp);
  int has_nodata = FALSE;
  double nodata = first->GetNoDataValue(&has_nodata);
  if (ok && has_nodata) ok = write_var(raw, "nodata", MAT_C_DOUBLE, MAT_T_DOUBLE, {1, 1}, &nodata, comp);
  mat.reset();
  if (!ok) {
    CPLError(CE_Failure, CPLE_FileIO, "MATLAB: writing '%s' failed (disk full or not writable?)", path);
    VSIUnlink(path);
    return nullptr;
  }
  if (progress && !progress(1.0, nullptr, progress_data)) {
    CPLError(CE_Failure, CPLE_UserInterrupt, "MATLAB: interrupted");
    VSIUnlink(path);
    return nullptr;
  }
  // No CloneInfo: everything kept lives in the file's variables, not in a sidecar.
  GDALOpenInfo info(path, GA_ReadOnly);
  return MatlabDataset::Open(&info);
}

}  // namespace bs3l::matlab
