// Thin, exception-free helpers over matio shared by the MATLAB driver's read
// and write paths. Errors are reported by the callers through CPLError.
#pragma once

#include <matio.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <gdal.h>

namespace bs3l::matlab {

struct MatCloser {
  void operator()(mat_t *m) const { Mat_Close(m); }
};
struct VarFreer {
  void operator()(matvar_t *v) const { Mat_VarFree(v); }
};
using MatPtr = std::unique_ptr<mat_t, MatCloser>;
using VarPtr = std::unique_ptr<matvar_t, VarFreer>;

// What one top-level variable is, without its data.
struct VarInfo {
  std::string name;
  matio_classes cls = MAT_C_EMPTY;
  std::vector<size_t> dims;
  bool complex = false;
  bool logical = false;
  bool compressed = false;
  bool truncated = false;
};

// Opens read-only with matio's chatter routed to CPLDebug.
MatPtr open_mat(const std::string &path);
// Also marks v5 variables whose bytes run past the end of the file: matio
// reads those without complaint, filling the missing part.
std::vector<VarInfo> list_variables(mat_t *mat, const std::string &path);

const char *class_name(matio_classes c, bool logical);
// GDT_Unknown for classes that are not plain real numbers.
GDALDataType gdal_type(matio_classes c);
size_t class_size(matio_classes c);
// Empty when the variable can be a raster; else why not (for the error).
std::string raster_refusal(const VarInfo &v);

// Whole small variables, converted; empty on any failure or wrong class.
std::string read_string(mat_t *mat, const std::string &name);
std::vector<double> read_numbers(mat_t *mat, const std::string &name);

// MATLAB char arrays are UTF-16 code units (BMP only).
std::vector<uint16_t> utf8_to_utf16(const std::string &s);

// Names the driver reads as georeferencing or band metadata, not as rasters.
bool is_auxiliary(const std::string &name);

}  // namespace bs3l::matlab
