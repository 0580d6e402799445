// The one way every output (raster, vector, PNG, model) reaches its path:
// refused if it exists without --overwrite, written under a temporary name
// in the target folder, renamed at the end; on an error or Ctrl-C the
// temporary files go and an existing output stays as it was.
#pragma once
#include <string>
#include <vector>

namespace bs3l::app {

// Before any work: `path` names a file (not a directory, none of `inputs`) in
// a writable folder, and exists only if `overwrite`.
void check_output_path(const std::string &path, bool overwrite, const std::vector<std::string> &inputs);

class PendingOutput {
 public:
  PendingOutput(const std::string &path, bool overwrite);
  ~PendingOutput();  // removes what was not committed
  PendingOutput(const PendingOutput &) = delete;
  PendingOutput &operator=(const PendingOutput &) = delete;

  // Where to write: "DIR/.STEM.tmpPID.EXT".
  const std::string &temp() const { return temp_; }
  // Files written under the temporary name besides temp() (e.g. an ENVI .hdr).
  void also(const std::string &file) { files_.push_back(file); }
  // Renames every file to the final name (a header naming the temporary data
  // file is fixed first) and drops a stale PATH.aux.xml.
  void commit();

 private:
  std::string path_, temp_, temp_base_, final_base_;
  std::vector<std::string> files_;
  bool done_ = false;
};

}  // namespace bs3l::app
