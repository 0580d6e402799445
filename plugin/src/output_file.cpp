#include "output_file.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
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
  out.close();
  if (out.fail()) throw Error("cannot write '" + path.string() + "'");
}

bool same_name(const std::string &a, const std::string &b) {
  return fs::path(a).lexically_normal() == fs::path(b).lexically_normal();
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
  // One base per output (pid and a count): two outputs of a run with one
  // stem (score.tif, score.gpkg) never share a temporary file name.
  static int count = 0;
  temp_base_ = "." + final_base_ + ".tmp" + std::to_string(getpid()) + "_" + std::to_string(++count);
  // "score.tif" gets "./.score...": the folder listing in side_files() and
  // commit() names files so, and one file must have one name.
  const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  temp_ = (dir / (temp_base_ + target.extension().string())).string();
  path_ = (dir / target.filename()).string();
}

std::string PendingOutput::side_car(const std::string &ext) const {
  return (fs::path(temp_).parent_path() / (temp_base_ + ext)).string();
}

std::vector<std::string> PendingOutput::side_files() const {
  std::vector<std::string> out;
  std::error_code ec;
  const fs::path dir = fs::path(temp_).parent_path();
  for (const auto &e : fs::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    if (name.compare(0, temp_base_.size() + 1, temp_base_ + ".") == 0) out.push_back(e.path().string());
  }
  return out;
}

PendingOutput::~PendingOutput() {
  if (done_) return;
  std::error_code ec;
  for (const std::string &f : files_) fs::remove(f, ec);
  for (const std::string &f : side_files()) fs::remove(f, ec);
  fs::remove(temp_, ec);
  fs::remove(temp_ + ".aux.xml", ec);
}

void PendingOutput::commit() {
  if (done_) return;
  std::error_code ec;
  if (const char *fail = std::getenv("BS3L_TEST_FAIL_OUTPUT"))  // tests: a failure while writing this output
    if (*fail && fs::path(path_).filename() == fail) throw Error("cannot write '" + path_ + "' (injected failure)");
  std::vector<std::string> files = files_;
  if (std::find(files.begin(), files.end(), temp_) == files.end()) files.insert(files.begin(), temp_);
  for (const std::string &f : side_files())  // written at close, not listed before (a shapefile's .prj)
    if (std::find(files.begin(), files.end(), f) == files.end()) files.push_back(f);
  const std::string aux = temp_ + ".aux.xml";  // written at close, after any listing
  if (fs::exists(aux, ec) && std::find(files.begin(), files.end(), aux) == files.end()) files.push_back(aux);
  OutputSet::Staged staged;
  for (const std::string &f : files) {
    const fs::path src(f);
    std::string name = src.filename().string();
    if (!fs::exists(src, ec) || name.compare(0, temp_base_.size(), temp_base_) != 0) continue;
    name = final_base_ + name.substr(temp_base_.size());
    if (src.extension() == ".hdr") replace_in_file(src, temp_base_, final_base_);  // ENVI names its data file
    staged.moves.push_back({src.string(), (src.parent_path() / name).string()});
  }
  // An old side-car (QGIS statistics, styles) would describe the old values.
  staged.stale = {path_ + ".aux.xml", (fs::path(path_).parent_path() / (final_base_ + ".qml")).string()};
  done_ = true;  // the files are the set's (or renamed below) from here on
  OutputSet *set = OutputSet::active();
  if (set) {
    set->stage(std::move(staged));
  } else {
    OutputSet alone;
    alone.stage(std::move(staged));
    alone.commit();
  }
}

namespace {
OutputSet *g_active = nullptr;
}

OutputSet::OutputSet() {
  if (!g_active) g_active = this;
}

OutputSet::~OutputSet() {
  if (g_active == this) g_active = nullptr;
  if (committed_) return;
  std::error_code ec;
  for (const Staged &s : staged_)
    for (const auto &m : s.moves) fs::remove(m.first, ec);
}

OutputSet *OutputSet::active() { return g_active; }

std::vector<std::string> OutputSet::targets() const {
  std::vector<std::string> out;
  for (const Staged &s : staged_)
    for (const auto &m : s.moves) out.push_back(m.second);
  return out;
}

void OutputSet::stage(Staged s) {
  for (const auto &[src, dst] : s.moves)
    for (const Staged &t : staged_)
      for (const auto &m : t.moves)
        if (same_name(m.second, dst) || same_name(m.first, src)) {
          std::error_code ec;
          for (const auto &mv : s.moves) fs::remove(mv.first, ec);
          throw Error("two outputs of this run would both write '" + dst + "'");
        }
  staged_.push_back(std::move(s));
}

void OutputSet::commit() {
  std::error_code ec;
  // Old files step aside first, so a failed rename can put everything back:
  // the run's outputs land together or not at all.
  const std::string aside = ".bs3l_old" + std::to_string(getpid());
  std::vector<std::pair<std::string, std::string>> moved_aside, renamed;
  // Puts everything back; names what could not be (never silently).
  auto undo = [&](const std::string &why) {
    std::string lost;
    for (auto it = renamed.rbegin(); it != renamed.rend(); ++it) fs::rename(it->second, it->first, ec);
    for (auto it = moved_aside.rbegin(); it != moved_aside.rend(); ++it) {
      fs::rename(it->second, it->first, ec);
      if (ec) lost += " '" + it->second + "'";
    }
    throw Error(why + (lost.empty() ? "" : "; earlier files left as" + lost));
  };
  const char *fail = std::getenv("BS3L_TEST_FAIL_RENAME");  // tests: a rename that fails midway
  for (const Staged &s : staged_)
    for (const auto &[src, dst] : s.moves) {
      if (!fs::exists(dst, ec)) continue;
      const std::string old = dst + aside;
      fs::rename(dst, old, ec);
      if (ec) undo("cannot replace '" + dst + "': " + ec.message());
      moved_aside.push_back({dst, old});
    }
  for (const Staged &s : staged_)
    for (const auto &[src, dst] : s.moves) {
      if (fail && *fail && fs::path(dst).filename() == fail) undo("cannot rename '" + src + "' (injected failure)");
      fs::rename(src, dst, ec);
      if (ec) undo("cannot rename '" + src + "' to '" + dst + "': " + ec.message());
      renamed.push_back({src, dst});
    }
  committed_ = true;
  for (const auto &m : moved_aside) fs::remove(m.second, ec);
  // Stale unless another output of the run just wrote it (hits.gpkg must
  // not take away the hits.qml of hits.tif).
  const std::vector<std::string> written = targets();
  for (const Staged &s : staged_)
    for (const std::string &f : s.stale)
      if (std::none_of(written.begin(), written.end(), [&](const std::string &t) { return same_name(t, f); }))
        fs::remove(f, ec);
}

}  // namespace bs3l::app
