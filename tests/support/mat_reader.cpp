#include "mat_reader.h"

#ifdef BS3L_HAVE_MATIO
#include <matio.h>
#endif

#include <cstdlib>
#include <filesystem>
#include <memory>

namespace bs3l::test {
namespace {

#ifdef BS3L_HAVE_MATIO
std::vector<double> read_var(const std::string &path, const std::string &name, std::vector<size_t> &dims) {
  std::unique_ptr<mat_t, decltype(&Mat_Close)> mat(Mat_Open(path.c_str(), MAT_ACC_RDONLY), Mat_Close);
  if (!mat) throw Error("cannot open " + path);
  std::unique_ptr<matvar_t, decltype(&Mat_VarFree)> v(Mat_VarRead(mat.get(), name.c_str()), Mat_VarFree);
  if (!v) throw Error("no variable " + name + " in " + path);
  dims.assign(v->dims, v->dims + v->rank);
  size_t n = 1;
  for (size_t d : dims) n *= d;
  std::vector<double> out(n);
  auto copy = [&](auto *p) {
    for (size_t i = 0; i < n; ++i) out[i] = double(p[i]);
  };
  switch (v->class_type) {
    case MAT_C_DOUBLE: copy(static_cast<double *>(v->data)); break;
    case MAT_C_SINGLE: copy(static_cast<float *>(v->data)); break;
    case MAT_C_INT8: copy(static_cast<int8_t *>(v->data)); break;
    case MAT_C_UINT8: copy(static_cast<uint8_t *>(v->data)); break;
    case MAT_C_INT16: copy(static_cast<int16_t *>(v->data)); break;
    case MAT_C_UINT16: copy(static_cast<uint16_t *>(v->data)); break;
    case MAT_C_INT32: copy(static_cast<int32_t *>(v->data)); break;
    case MAT_C_UINT32: copy(static_cast<uint32_t *>(v->data)); break;
    default: throw Error("unsupported class of " + name);
  }
  return out;
}
#else
// Core-only builds have no matio: real-data tests then skip.
std::vector<double> read_var(const std::string &, const std::string &, std::vector<size_t> &) {
  throw Error("built without matio");
}
#endif

}  // namespace

Cube read_mat_cube(const std::string &path, const std::string &var) {
  std::vector<size_t> d;
  std::vector<double> v = read_var(path, var, d);
  if (d.size() != 3) throw Error(var + " is not 3-D");
  Cube c{int(d[2]), int(d[0]), int(d[1])};
  for (int b = 0; b < c.bands; ++b)
    for (int col = 0; col < c.cols; ++col)
      for (int r = 0; r < c.rows; ++r) c.at(b, r, col) = float(v[r + d[0] * (col + d[1] * size_t(b))]);
  return c;
}

std::vector<int8_t> read_mat_truth(const std::string &path, const std::string &var) {
  std::vector<size_t> d;
  std::vector<double> v = read_var(path, var, d);
  std::vector<int8_t> t(v.size());
  for (size_t r = 0; r < d[0]; ++r)
    for (size_t c = 0; c < d[1]; ++c) t[r * d[1] + c] = v[r + d[0] * c] != 0;
  return t;
}

std::string had_dir() {
#ifndef BS3L_HAVE_MATIO
  return {};
#endif
  if (const char *e = std::getenv("BS3L_HAD_DIR")) return e;
  const std::string dir = BS3L_HAD_DIR_DEFAULT;
  return std::filesystem::is_directory(dir) ? dir : std::string();
}

}  // namespace bs3l::test
