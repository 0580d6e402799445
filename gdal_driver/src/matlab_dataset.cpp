#include "matlab_dataset.h"

#include "georef.h"

#include <cpl_string.h>
#include <cpl_vsi.h>

#include <algorithm>
#include <climits>
#include <cstring>

namespace bs3l::matlab {
namespace {

constexpr int kBlock = 512;
// A corrupt header can claim any size; deflate never beats ~1032:1, so more
// elements than this per file byte cannot be real data.
constexpr double kMaxElementsPerByte = 1100.0;

bool header_is_mat(const GDALOpenInfo *info) {
  if (info->nHeaderBytes < 128 || !STARTS_WITH(reinterpret_cast<const char *>(info->pabyHeader), "MATLAB"))
    return false;
  const unsigned char *h = info->pabyHeader;
  const bool le = h[126] == 'I' && h[127] == 'M', be = h[126] == 'M' && h[127] == 'I';
  if (!le && !be) return false;
  const int version = le ? (h[124] | h[125] << 8) : (h[125] | h[124] << 8);
  return version == 0x0100 || version == 0x0200;
}

// MATLAB:"file.mat":variable (quotes optional when the path has no colon).
bool parse_subdataset(const char *name, std::string &path, std::string &var) {
  if (!STARTS_WITH_CI(name, "MATLAB:")) return false;
  std::string rest = name + 7;
  if (!rest.empty() && rest[0] == '"') {
    const size_t end = rest.find('"', 1);
    if (end == std::string::npos || end + 1 >= rest.size() || rest[end + 1] != ':') return false;
    path = rest.substr(1, end - 1);
    var = rest.substr(end + 2);
  } else {
    const size_t colon = rest.rfind(':');
    if (colon == std::string::npos) return false;
    path = rest.substr(0, colon);
    var = rest.substr(colon + 1);
  }
  return !path.empty() && !var.empty();
}

std::string dims_text(const std::vector<size_t> &dims) {
  std::string s;
  for (size_t d : dims) s += (s.empty() ? "" : "x") + std::to_string(d);
  return s;
}

const VarInfo *find_var(const std::vector<VarInfo> &vars, const std::string &name) {
  for (const VarInfo &v : vars)
    if (v.name == name) return &v;
  return nullptr;
}

}  // namespace

int MatlabDataset::Identify(GDALOpenInfo *info) {
  return STARTS_WITH_CI(info->pszFilename, "MATLAB:") || header_is_mat(info);
}

bool MatlabDataset::setup_axes(GDALOpenInfo *info) {
  const int rank = int(info_.dims.size());
  const char *band_axis = CSLFetchNameValueDef(info->papszOpenOptions, "BAND_AXIS", "3");
  const int b = std::atoi(band_axis);
  if (b < 1 || b > 3) {
    CPLError(CE_Failure, CPLE_IllegalArg, "MATLAB: BAND_AXIS must be 1, 2 or 3, not '%s'", band_axis);
    return false;
  }
  if (rank == 2) {
    axis_row_ = 0, axis_col_ = 1, axis_band_ = -1;
  } else {
    axis_band_ = b - 1;
    int rest[2], n = 0;
    for (int a = 0; a < 3; ++a)
      if (a != axis_band_) rest[n++] = a;
    axis_row_ = rest[0], axis_col_ = rest[1];
  }
  if (CPLTestBool(CSLFetchNameValueDef(info->papszOpenOptions, "TRANSPOSE", "NO"))) std::swap(axis_row_, axis_col_);
  return true;
}

bool MatlabDataset::load_cache() {
  size_t want = class_size(info_.cls);
  for (size_t d : info_.dims) want *= d;
  try {
    cache_.resize(want);
  } catch (const std::bad_alloc &) {
    CPLError(CE_Failure, CPLE_OutOfMemory, "MATLAB: cannot hold variable '%s' (%zu bytes) in memory",
             info_.name.c_str(), want);
    return false;
  }
  int start[3] = {0, 0, 0}, stride[3] = {1, 1, 1}, edge[3];
  for (size_t i = 0; i < info_.dims.size(); ++i) edge[i] = int(info_.dims[i]);
  if (Mat_VarReadData(mat_.get(), var_.get(), cache_.data(), start, stride, edge) != 0) {
    CPLError(CE_Failure, CPLE_FileIO, "MATLAB: cannot read variable '%s' (truncated or corrupt file?)",
             info_.name.c_str());
    cache_.clear();
    return false;
  }
  return true;
}

CPLErr MatlabDataset::read_tile(int band, int x0, int y0, int w, int h, void *dst, int dst_stride) {
  const int rank = int(info_.dims.size());
  const size_t size = class_size(info_.cls);
  size_t strides[3] = {1, 0, 0};
  const unsigned char *src = nullptr;
  std::vector<unsigned char> slab;
  size_t base = 0;
  if (use_cache_) {
    if (cache_.empty() && !load_cache()) return CE_Failure;
    strides[1] = info_.dims[0];
    if (rank == 3) strides[2] = info_.dims[0] * info_.dims[1];
    base = size_t(y0) * strides[axis_row_] + size_t(x0) * strides[axis_col_] +
           (axis_band_ >= 0 ? size_t(band) * strides[axis_band_] : 0);
    src = cache_.data();
  } else {
    int start[3] = {0, 0, 0}, stride[3] = {1, 1, 1}, edge[3] = {1, 1, 1};
    start[axis_row_] = y0, edge[axis_row_] = h;
    start[axis_col_] = x0, edge[axis_col_] = w;
    if (axis_band_ >= 0) start[axis_band_] = band;
    slab.resize(size_t(w) * h * size);
    if (Mat_VarReadData(mat_.get(), var_.get(), slab.data(), start, stride, edge) != 0) {
      CPLError(CE_Failure, CPLE_FileIO, "MATLAB: cannot read variable '%s' (truncated or corrupt file?)",
               info_.name.c_str());
      return CE_Failure;
    }
    strides[1] = size_t(edge[0]);
    strides[2] = size_t(edge[0]) * edge[1];
    src = slab.data();
  }
  // MATLAB is column-major: transpose into GDAL's row-major block.
  unsigned char *out = static_cast<unsigned char *>(dst);
  const size_t sr = strides[axis_row_] * size, sc = strides[axis_col_] * size;
  for (int r = 0; r < h; ++r) {
    const unsigned char *s = src + base * size + size_t(r) * sr;
    unsigned char *d = out + size_t(r) * dst_stride * size;
    for (int c = 0; c < w; ++c, s += sc, d += size) std::memcpy(d, s, size);
  }
  return CE_None;
}

CPLErr MatlabDataset::GetGeoTransform(double *gt) {
  if (GDALPamDataset::GetGeoTransform(gt) == CE_None) return CE_None;  // a sidecar wins
  if (!has_transform_) return CE_Failure;
  std::memcpy(gt, transform_, sizeof(transform_));
  return CE_None;
}

const OGRSpatialReference *MatlabDataset::GetSpatialRef() const {
  if (const OGRSpatialReference *pam = GDALPamDataset::GetSpatialRef()) return pam;
  return srs_.IsEmpty() ? nullptr : &srs_;
}

void MatlabDataset::add_band_metadata(mat_t *mat, const std::vector<VarInfo> &vars) {
  const auto per_band = [&](const char *const names[], const char *key) {
    for (int i = 0; names[i]; ++i) {
      if (!find_var(vars, names[i])) continue;
      const std::vector<double> v = read_numbers(mat, names[i]);
      if (int(v.size()) != nBands) continue;
      for (int b = 0; b < nBands; ++b)
        GetRasterBand(b + 1)->SetMetadataItem(key, CPLSPrintf("%.10g", v[b]));
      return true;
    }
    return false;
  };
  static const char *const wl[] = {"wavelength", "wavelengths", nullptr};
  static const char *const fw[] = {"fwhm", nullptr};
  if (per_band(wl, "wavelength")) {
    std::string units = find_var(vars, "wavelength_units") ? read_string(mat, "wavelength_units") : "";
    if (!units.empty())
      for (int b = 0; b < nBands; ++b) GetRasterBand(b + 1)->SetMetadataItem("wavelength_units", units.c_str());
  }
  per_band(fw, "fwhm");
  if (find_var(vars, "nodata")) {
    const std::vector<double> nd = read_numbers(mat, "nodata");
    if (nd.size() == 1)
      for (int b = 0; b < nBands; ++b) GetRasterBand(b + 1)->SetNoDataValue(nd[0]);
  }
}

GDALDataset *MatlabDataset::Open(GDALOpenInfo *info) {
  std::string path = info->pszFilename, wanted;
  const bool subdataset = STARTS_WITH_CI(info->pszFilename, "MATLAB:");
  if (subdataset) {
    if (!parse_subdataset(info->pszFilename, path, wanted)) {
      CPLError(CE_Failure, CPLE_OpenFailed, "MATLAB: malformed subdataset name '%s' (want MATLAB:\"file.mat\":variable)",
               info->pszFilename);
      return nullptr;
    }
  } else if (!header_is_mat(info)) {
    return nullptr;
  }
  if (const char *v = CSLFetchNameValue(info->papszOpenOptions, "VARIABLE")) wanted = v;
  if (info->eAccess == GA_Update) {
    CPLError(CE_Failure, CPLE_NotSupported, "MATLAB: files open read-only; write with CreateCopy (gdal_translate -of MATLAB)");
    return nullptr;
  }
  VSIStatBufL st;
  if (VSIStatL(path.c_str(), &st) != 0) {
    CPLError(CE_Failure, CPLE_OpenFailed, "MATLAB: '%s' does not exist", path.c_str());
    return nullptr;
  }
  MatPtr mat = open_mat(path);
  if (!mat) {
    CPLError(CE_Failure, CPLE_OpenFailed, "MATLAB: '%s' is not a readable MAT file (v5, v7 or v7.3)", path.c_str());
    return nullptr;
  }
  const std::vector<VarInfo> vars = list_variables(mat.get(), path);
  std::vector<const VarInfo *> rasters;
  std::string skipped;
  for (const VarInfo &v : vars) {
    const std::string why = raster_refusal(v);
    if (why.empty() && !is_auxiliary(v.name)) rasters.push_back(&v);
    else if (!why.empty() && v.cls != MAT_C_CHAR)
      skipped += (skipped.empty() ? "" : ", ") + v.name + " (" + (v.truncated ? "truncated" : class_name(v.cls, v.logical)) + ")";
  }

  auto ds = std::make_unique<MatlabDataset>();
  const VarInfo *chosen = nullptr;
  if (!wanted.empty()) {
    chosen = find_var(vars, wanted);
    if (!chosen) {
      CPLError(CE_Failure, CPLE_OpenFailed, "MATLAB: '%s' has no variable '%s'", path.c_str(), wanted.c_str());
      return nullptr;
    }
    const std::string why = raster_refusal(*chosen);
    if (!why.empty()) {
      CPLError(CE_Failure, CPLE_OpenFailed, "MATLAB: variable '%s' %s", wanted.c_str(), why.c_str());
      return nullptr;
    }
  } else if (rasters.size() == 1) {
    chosen = rasters[0];
  } else if (rasters.empty()) {
    CPLError(CE_Failure, CPLE_OpenFailed, "MATLAB: '%s' holds no numeric 2-D or 3-D variable%s%s", path.c_str(),
             skipped.empty() ? "" : "; found ", skipped.c_str());
    return nullptr;
  } else {
    CPLStringList sds;
    int n = 0;
    for (const VarInfo *v : rasters) {
      ++n;
      sds.SetNameValue(CPLSPrintf("SUBDATASET_%d_NAME", n), CPLSPrintf("MATLAB:\"%s\":%s", path.c_str(), v->name.c_str()));
      sds.SetNameValue(CPLSPrintf("SUBDATASET_%d_DESC", n),
                       CPLSPrintf("[%s] %s (%s)", dims_text(v->dims).c_str(), v->name.c_str(), class_name(v->cls, v->logical)));
    }
    ds->GDALDataset::SetMetadata(sds.List(), "SUBDATASETS");
    ds->SetDescription(path.c_str());
    ds->TryLoadXML();
    ds->mat_ = std::move(mat);
    return ds.release();
  }

  ds->info_ = *chosen;
  if (!ds->setup_axes(info)) return nullptr;
  const auto &d = ds->info_.dims;
  double elements = 1;
  for (size_t x : d) elements *= double(x);
  for (size_t x : d)
    if (x > size_t(INT_MAX)) elements = -1;
  if (elements < 0 || elements > kMaxElementsPerByte * double(std::max<vsi_l_offset>(st.st_size, 1))) {
    CPLError(CE_Failure, CPLE_OpenFailed, "MATLAB: variable '%s' claims %s elements, more than a %llu-byte file can hold",
             chosen->name.c_str(), dims_text(d).c_str(), static_cast<unsigned long long>(st.st_size));
    return nullptr;
  }
  ds->var_.reset(Mat_VarReadInfo(mat.get(), chosen->name.c_str()));
  if (!ds->var_) {
    CPLError(CE_Failure, CPLE_OpenFailed, "MATLAB: cannot read the header of variable '%s'", chosen->name.c_str());
    return nullptr;
  }
  ds->nRasterYSize = int(d[ds->axis_row_]);
  ds->nRasterXSize = int(d[ds->axis_col_]);
  const int bands = ds->axis_band_ >= 0 ? int(d[ds->axis_band_]) : 1;
  // Partial reads of a zlib v5 variable re-inflate from its start: read it once.
  ds->use_cache_ = chosen->compressed && Mat_GetVersion(mat.get()) != MAT_FT_MAT73;
  const GDALDataType type = gdal_type(chosen->cls);
  const int bx = std::min(ds->nRasterXSize, kBlock), by = std::min(ds->nRasterYSize, kBlock);
  for (int b = 1; b <= bands; ++b) {
    auto *band = new MatlabBand(ds.get(), b, type, bx, by);
    ds->SetBand(b, band);
    if (chosen->cls == MAT_C_INT8) band->GDALRasterBand::SetMetadataItem("PIXELTYPE", "SIGNEDBYTE", "IMAGE_STRUCTURE");
  }

  const FileGeoref g = read_file_georef(mat.get(), vars);
  ds->has_transform_ = g.has_transform;
  std::memcpy(ds->transform_, g.transform, sizeof(g.transform));
  ds->srs_ = g.srs;
  ds->add_band_metadata(mat.get(), vars);
  CPLStringList md;
  md.SetNameValue("MATLAB_VARIABLE", chosen->name.c_str());
  md.SetNameValue("MATLAB_CLASS", class_name(chosen->cls, chosen->logical));
  md.SetNameValue("MATLAB_VERSION", Mat_GetVersion(mat.get()) == MAT_FT_MAT73 ? "7.3" : chosen->compressed ? "7" : "5");
  for (const VarInfo &v : vars)  // other text variables (e.g. ENVI's description) as plain metadata
    if (v.cls == MAT_C_CHAR && !is_georef_string(v.name) && v.name != "wavelength_units") {
      const std::string s = read_string(mat.get(), v.name);
      if (!s.empty() && s.size() < 4096) md.SetNameValue(v.name.c_str(), s.c_str());
    }
  if (find_var(vars, "bbl")) {  // a bad-band list, in the ENVI header's form
    const std::vector<double> v = read_numbers(mat.get(), "bbl");
    std::string list;
    for (double x : v) list += (list.empty() ? "{" : ", ") + std::string(CPLSPrintf("%.10g", x));
    if (int(v.size()) == bands) md.SetNameValue("bbl", (list + "}").c_str());
  }
  ds->GDALDataset::SetMetadata(md.List());
  if (bands > 1) ds->GDALDataset::SetMetadataItem("INTERLEAVE", "BAND", "IMAGE_STRUCTURE");
  ds->mat_ = std::move(mat);

  // Sidecars: file.mat.aux.xml for a single-variable file, or the subdataset's node in it.
  ds->SetDescription(info->pszFilename);
  if (subdataset || !wanted.empty()) {
    ds->SetSubdatasetName(chosen->name.c_str());
    ds->SetPhysicalFilename(path.c_str());
  }
  ds->TryLoadXML();
  ds->oOvManager.Initialize(ds.get(), path.c_str());
  return ds.release();
}

MatlabBand::MatlabBand(MatlabDataset *ds, int band, GDALDataType type, int block_x, int block_y) {
  poDS = ds;
  nBand = band;
  eDataType = type;
  nBlockXSize = block_x;
  nBlockYSize = block_y;
}

CPLErr MatlabBand::IReadBlock(int bx, int by, void *dst) {
  auto *ds = static_cast<MatlabDataset *>(poDS);
  const int x0 = bx * nBlockXSize, y0 = by * nBlockYSize;
  const int w = std::min(nBlockXSize, nRasterXSize - x0), h = std::min(nBlockYSize, nRasterYSize - y0);
  if (w < nBlockXSize || h < nBlockYSize)
    std::memset(dst, 0, size_t(nBlockXSize) * nBlockYSize * GDALGetDataTypeSizeBytes(eDataType));
  return ds->read_tile(nBand - 1, x0, y0, w, h, dst, nBlockXSize);
}

}  // namespace bs3l::matlab
