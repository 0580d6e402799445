#include "mat_file.h"

#include <cpl_error.h>
#include <cpl_vsi.h>

#include <algorithm>
#include <cctype>

namespace bs3l::matlab {
namespace {

extern "C" void to_cpl_debug(int, char *message) { CPLDebug("MATLAB", "matio: %s", message); }

template <typename T>
void append_as_double(const void *data, size_t n, std::vector<double> &out) {
  const T *p = static_cast<const T *>(data);
  for (size_t i = 0; i < n; ++i) out.push_back(static_cast<double>(p[i]));
}

// Walks a v5 file's top-level data elements; returns how many complete
// variable elements precede the first one cut short (-1: none is).
long complete_v5_elements(const std::string &path) {
  VSILFILE *f = VSIFOpenL(path.c_str(), "rb");
  if (!f) return -1;
  unsigned char header[128];
  long complete = -1;
  if (VSIFReadL(header, 1, 128, f) == 128 && VSIFSeekL(f, 0, SEEK_END) == 0) {
    const vsi_l_offset size = VSIFTellL(f);
    const bool swap = header[126] == 'M';  // "MI": big-endian writer
    vsi_l_offset pos = 128;
    long n = 0;
    while (pos + 8 <= size) {
      unsigned char tag[8];
      if (VSIFSeekL(f, pos, SEEK_SET) != 0 || VSIFReadL(tag, 1, 8, f) != 8) break;
      auto word = [&](int o) {
        return swap ? uint32_t(tag[o]) << 24 | tag[o + 1] << 16 | tag[o + 2] << 8 | tag[o + 3]
                    : uint32_t(tag[o + 3]) << 24 | tag[o + 2] << 16 | tag[o + 1] << 8 | tag[o];
      };
      const uint32_t type = word(0), bytes = word(4);
      const vsi_l_offset next = (type >> 16) ? pos + 8 : pos + 8 + bytes;  // small element: data in the tag
      if (next > size) {
        complete = n;
        break;
      }
      if (type == MAT_T_MATRIX || type == MAT_T_COMPRESSED) ++n;
      pos = next;
    }
  }
  VSIFCloseL(f);
  return complete;
}

}  // namespace

MatPtr open_mat(const std::string &path) {
  // matio prints to stderr by default; GDAL users expect CPL channels.
  static const bool logging = (Mat_LogInitFunc("matio", to_cpl_debug), true);
  (void)logging;
  return MatPtr(Mat_Open(path.c_str(), MAT_ACC_RDONLY));
}

std::vector<VarInfo> list_variables(mat_t *mat, const std::string &path) {
  std::vector<VarInfo> out;
  const long complete = Mat_GetVersion(mat) == MAT_FT_MAT5 ? complete_v5_elements(path) : -1;
  Mat_Rewind(mat);
  while (matvar_t *raw = Mat_VarReadNextInfo(mat)) {
    VarPtr v(raw);
    if (!v->name || v->rank < 0) continue;
    VarInfo i;
    i.name = v->name;
    i.cls = v->class_type;
    if (v->dims) i.dims.assign(v->dims, v->dims + v->rank);
    i.complex = v->isComplex != 0;
    i.logical = v->isLogical != 0;
    i.compressed = v->compression == MAT_COMPRESSION_ZLIB;
    i.truncated = complete >= 0 && long(out.size()) >= complete;
    out.push_back(std::move(i));
  }
  Mat_Rewind(mat);
  return out;
}

const char *class_name(matio_classes c, bool logical) {
  if (logical) return "logical";
  switch (c) {
    case MAT_C_CELL: return "cell";
    case MAT_C_STRUCT: return "struct";
    case MAT_C_OBJECT: return "object";
    case MAT_C_CHAR: return "char";
    case MAT_C_SPARSE: return "sparse";
    case MAT_C_DOUBLE: return "double";
    case MAT_C_SINGLE: return "single";
    case MAT_C_INT8: return "int8";
    case MAT_C_UINT8: return "uint8";
    case MAT_C_INT16: return "int16";
    case MAT_C_UINT16: return "uint16";
    case MAT_C_INT32: return "int32";
    case MAT_C_UINT32: return "uint32";
    case MAT_C_INT64: return "int64";
    case MAT_C_UINT64: return "uint64";
    case MAT_C_FUNCTION: return "function";
    case MAT_C_OPAQUE: return "opaque";
    default: return "empty";
  }
}

GDALDataType gdal_type(matio_classes c) {
  switch (c) {
    case MAT_C_DOUBLE: return GDT_Float64;
    case MAT_C_SINGLE: return GDT_Float32;
    case MAT_C_INT8: return GDT_Byte;  // GDAL 3.6 has no Int8: PIXELTYPE=SIGNEDBYTE
    case MAT_C_UINT8: return GDT_Byte;
    case MAT_C_INT16: return GDT_Int16;
    case MAT_C_UINT16: return GDT_UInt16;
    case MAT_C_INT32: return GDT_Int32;
    case MAT_C_UINT32: return GDT_UInt32;
    case MAT_C_INT64: return GDT_Int64;
    case MAT_C_UINT64: return GDT_UInt64;
    default: return GDT_Unknown;
  }
}

size_t class_size(matio_classes c) {
  const GDALDataType t = gdal_type(c);
  return t == GDT_Unknown ? 0 : size_t(GDALGetDataTypeSizeBytes(t));
}

std::string raster_refusal(const VarInfo &v) {
  const std::string what = std::string(class_name(v.cls, v.logical));
  if (v.truncated) return "is cut short: the file ends inside it (truncated download?)";
  if (v.complex) return "is complex (" + what + "); only real arrays open as rasters";
  if (gdal_type(v.cls) == GDT_Unknown) return "is a " + what + " variable; only numeric or logical arrays open as rasters";
  if (v.dims.size() < 2 || v.dims.size() > 3)
    return "has " + std::to_string(v.dims.size()) + " dimensions; only 2-D (rows x cols) and 3-D (rows x cols x bands) arrays open as rasters";
  for (size_t d : v.dims)
    if (d == 0) return "has a zero-sized dimension";
  return {};
}

std::string read_string(mat_t *mat, const std::string &name) {
  VarPtr v(Mat_VarRead(mat, name.c_str()));
  if (!v || v->class_type != MAT_C_CHAR || !v->data || v->rank != 2 || v->isComplex) return {};
  const size_t rows = v->dims[0], cols = v->dims[1];
  const size_t width = v->data_size > 0 ? size_t(v->data_size) : 1;
  if (width != 1 && width != 2 && width != 4) return {};
  if (rows == 0 || cols == 0 || v->nbytes < rows * cols * width) return {};
  std::string out;
  // Column-major char matrix: one line per row, as UTF-8. 8-bit files are
  // taken as UTF-8 already; UTF-16 surrogate pairs become '?'.
  for (size_t r = 0; r < rows; ++r) {
    if (r) out += '\n';
    for (size_t c = 0; c < cols; ++c) {
      const size_t i = r + c * rows;
      if (width == 1) {
        out += char(static_cast<const uint8_t *>(v->data)[i]);
        continue;
      }
      const uint32_t ch = width == 2 ? static_cast<const uint16_t *>(v->data)[i] : static_cast<const uint32_t *>(v->data)[i];
      if (ch < 0x80) out += char(ch);
      else if (ch < 0x800) out += char(0xC0 | ch >> 6), out += char(0x80 | (ch & 0x3F));
      else if (ch < 0xD800 || (ch > 0xDFFF && ch < 0x10000))
        out += char(0xE0 | ch >> 12), out += char(0x80 | ((ch >> 6) & 0x3F)), out += char(0x80 | (ch & 0x3F));
      else out += '?';
    }
  }
  while (!out.empty() && (out.back() == ' ' || out.back() == '\0')) out.pop_back();
  return out;
}

std::vector<double> read_numbers(mat_t *mat, const std::string &name) {
  VarPtr v(Mat_VarRead(mat, name.c_str()));
  std::vector<double> out;
  if (!v || !v->data || v->isComplex || v->rank < 1) return out;
  size_t n = 1;
  for (int i = 0; i < v->rank; ++i) n *= v->dims[i];
  const size_t size = class_size(v->class_type);
  if (size == 0 || n == 0 || v->nbytes < n * size) return out;
  switch (v->class_type) {
    case MAT_C_DOUBLE: append_as_double<double>(v->data, n, out); break;
    case MAT_C_SINGLE: append_as_double<float>(v->data, n, out); break;
    case MAT_C_INT8: append_as_double<int8_t>(v->data, n, out); break;
    case MAT_C_UINT8: append_as_double<uint8_t>(v->data, n, out); break;
    case MAT_C_INT16: append_as_double<int16_t>(v->data, n, out); break;
    case MAT_C_UINT16: append_as_double<uint16_t>(v->data, n, out); break;
    case MAT_C_INT32: append_as_double<int32_t>(v->data, n, out); break;
    case MAT_C_UINT32: append_as_double<uint32_t>(v->data, n, out); break;
    case MAT_C_INT64: append_as_double<int64_t>(v->data, n, out); break;
    case MAT_C_UINT64: append_as_double<uint64_t>(v->data, n, out); break;
    default: break;
  }
  return out;
}

std::vector<uint16_t> utf8_to_utf16(const std::string &s) {
  std::vector<uint16_t> out;
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = s[i];
    uint32_t cp = '?';
    size_t len = 1;
    if (c < 0x80) cp = c;
    else if ((c >> 5) == 6 && i + 1 < s.size()) cp = (c & 0x1F) << 6 | (s[i + 1] & 0x3F), len = 2;
    else if ((c >> 4) == 14 && i + 2 < s.size()) cp = (c & 0x0F) << 12 | (s[i + 1] & 0x3F) << 6 | (s[i + 2] & 0x3F), len = 3;
    else if ((c >> 3) == 30) cp = '?', len = 4;  // outside the BMP: MATLAB char cannot hold it
    out.push_back(uint16_t(cp));
    i += len;
  }
  return out;
}

bool is_auxiliary(const std::string &name) {
  std::string n = name;
  std::transform(n.begin(), n.end(), n.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  for (const char *a : {"wavelength", "wavelengths", "fwhm", "bbl", "geotransform", "nodata"})
    if (n == a) return true;
  return false;
}

}  // namespace bs3l::matlab
