// Test helper: read a numeric MATLAB variable with matio (no GDAL needed).
#pragma once
#include <string>
#include <vector>

#include "bs3l/cube.h"

namespace bs3l::test {

// rows x cols x bands (MATLAB order) -> band-sequential cube.
Cube read_mat_cube(const std::string &path, const std::string &var);
// rows x cols truth; nonzero -> 1.
std::vector<int8_t> read_mat_truth(const std::string &path, const std::string &var);
// Folder of the real benchmark scenes; empty when absent.
std::string had_dir();

}  // namespace bs3l::test
