// Ground truth: labels from a truth raster, and a .mat file's own truth variable.
#include <array>
#include <cmath>
#include <filesystem>

#include "gdal_open.h"

namespace fs = std::filesystem;

namespace bs3l::app {

std::vector<int8_t> truth_labels(const std::vector<float> &truth) {
  std::vector<int8_t> labels(truth.size());
  for (size_t i = 0; i < truth.size(); ++i) labels[i] = std::isnan(truth[i]) ? -1 : int8_t(truth[i] != 0);
  return labels;
}

namespace {
const char *const kTruthNames[] = {"map", "gt", "mask", "groundtruth", "gtImg_sub", "PlaneGT"};
}  // namespace

std::string truth_rule() {
  std::string s;
  for (const char *n : kTruthNames) s += (s.empty() ? "" : ", ") + std::string(n);
  return s;
}

std::string companion_truth(const std::string &path, std::string *why) {
  if (fs::path(path).extension() != ".mat") return {};
  DatasetPtr d = open_dataset(path);
  std::vector<std::string> names;
  for (char **sds = d->GetMetadata("SUBDATASETS"); sds && *sds; ++sds) {
    const std::string kv = *sds;
    const size_t eq = kv.find('=');
    if (eq != std::string::npos && kv.compare(eq - 5, 5, "_NAME") == 0) names.push_back(kv.substr(eq + 1));
  }
  const auto var_of = [](const std::string &n) { return n.substr(n.rfind(':') + 1); };
  for (const char *want : kTruthNames)
    for (const std::string &n : names)
      if (var_of(n) == want) {
        if (why) *why = std::string("the first of the truth names ") + truth_rule() + " that the file holds";
        return n;
      }
  // Otherwise the one single-band variable of the cube's size (the cube: most bands).
  int rows = 0, cols = 0, bands = 0;
  std::vector<std::pair<std::string, std::array<int, 3>>> shapes;
  for (const std::string &n : names) {
    CPLPushErrorHandler(CPLQuietErrorHandler);
    DatasetPtr s(GDALDataset::Open(n.c_str(), GDAL_OF_RASTER));
    CPLPopErrorHandler();
    if (!s) continue;
    shapes.push_back({n, {s->GetRasterYSize(), s->GetRasterXSize(), s->GetRasterCount()}});
    if (s->GetRasterCount() > bands) rows = s->GetRasterYSize(), cols = s->GetRasterXSize(), bands = s->GetRasterCount();
  }
  std::string found;
  for (const auto &[n, shape] : shapes)
    if (shape[0] == rows && shape[1] == cols && shape[2] == 1) {
      if (!found.empty()) return {};  // ambiguous: ask for --truth
      found = n;
    }
  if (why) *why = "no variable has a truth name, and this is the only single-band variable of the cube's size";
  return bands > 1 ? found : std::string();
}

}  // namespace bs3l::app
