#include "output_file.h"

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "bs3l/cube.h"

namespace bs3l::app {
namespace fs = std::filesystem;
namespace {

// A small text header that names the temporary file: name the final one.
void replace_in_file(const fs::path &path, const std::string &from, const std::string &to) {
  std::ifstream in(path, std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  in.close();
  if (text.find(from) == std::string::npos) return;
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
    text.replace(at, from.size(), to);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  if (!out) throw Error("cannot write '" + path.string() + "'");
}

}  // namespace

void check_output_path(const std::string &path, bool overwrite, const std::vector<std::string> &inputs) {
  if (path.empty()) throw Error("no output file given");
  const fs::path p(path);
  std::error_code ec;
  for (const std::string &in : inputs)
    if (!in.empty() && (in == path || (fs::exists(in, ec) && fs::equivalent(in, path, ec))))
      throw Error("output '" + path + "' is the same file as input '" + in + "'");
  if (fs::exists(p, ec) && !overwrite) throw Error("'" + path + "' exists; use --overwrite to replace it");
  if (fs::is_directory(p, ec)) throw Error("'" + path + "' is a directory");
  const fs::path dir = p.has_parent_path() ? p.parent_path() : fs::path(".");
  if (!fs::is_directory(dir, ec)) throw Error("output folder '" + dir.string() + "' does not exist");
  if (access(dir.c_str(), W_OK) != 0) throw Error("output folder '" + dir.string() + "' is not writable");
}

PendingOutput::PendingOutput(const std::string &path, bool overwrite) : path_(path) {
  const fs::path target(path);
  std::error_code ec;
  if (fs::exists(target, ec) && !overwrite) throw Error("'" + path + "' exists; use --overwrite to replace it");
  // The temporary name is the final one with a hidden prefix and a marker
  // before the extension; commit() maps every file that starts with that
  // base back, so a path without an extension works too.
  final_base_ = target.stem().string();
  temp_base_ = "." + final_base_ + ".tmp" + std::to_string(getpid());
  temp_ = (target.parent_path() / (temp_base_ + target.extension().string())).string();
}

PendingOutput::~PendingOutput() {
  if (done_) return;
  std::error_code ec;
  for (const std::string &f : files_) fs::remove(f, ec);
  fs::remove(temp_, ec);
  fs::remove(temp_ + ".aux.xml", ec);
}

void PendingOutput::commit() {
  std::error_code ec;
  std::vector<std::string> files = files_;
  if (std::find(files.begin(), files.end(), temp_) == files.end()) files.insert(files.begin(), temp_);
  const std::string aux = temp_ + ".aux.xml";  // written at close, after any listing
  if (fs::exists(aux, ec) && std::find(files.begin(), files.end(), aux) == files.end()) files.push_back(aux);
  std::vector<fs::path> renamed;
  for (const std::string &f : files) {
    const fs::path src(f);
    std::string name = src.filename().string();
    // GDAL may have swapped the temporary name's ".tmpPID" for its own
    // extension (ENVI's .hdr beside an output without one).
    const std::string swapped = "." + final_base_ + ".";
    if (!fs::exists(src, ec)) continue;
    if (name.compare(0, temp_base_.size(), temp_base_) == 0)
      name = final_base_ + name.substr(temp_base_.size());
    else if (name.compare(0, swapped.size(), swapped) == 0)
      name = final_base_ + name.substr(final_base_.size() + 1);
    else
      continue;
    if (src.extension() == ".hdr") replace_in_file(src, temp_base_, final_base_);  // ENVI names its data file
    fs::rename(src, src.parent_path() / name, ec);
    if (ec) throw Error("cannot rename '" + f + "' to '" + name + "': " + ec.message());
    renamed.push_back(src.parent_path() / name);
  }
  done_ = true;
  // An old side-car (QGIS statistics, styles) would describe the old values.
  const fs::path old_aux = path_ + ".aux.xml";
  if (std::find(renamed.begin(), renamed.end(), old_aux) == renamed.end()) fs::remove(old_aux, ec);
}

}  // namespace bs3l::app
