// The one way every output (raster, vector, PNG, model) reaches its path:
// refused if it exists without --overwrite, written under a temporary name
// in the target folder, renamed with the run's other outputs at the end; on
// an error or Ctrl-C the temporary files go and existing outputs stay as
// they were.
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

  // Where to write: "DIR/.STEM.tmpPID_N.EXT".
  const std::string &temp() const { return temp_; }
  // Files written under the temporary name besides temp() (e.g. an ENVI .hdr).
  void also(const std::string &file) { files_.push_back(file); }
  // The temporary name of a side-car file with extension `ext` (".qml"):
  // renamed to the output's stem + ext with it.
  std::string side_car(const std::string &ext) const;
  // The output is complete: its files are renamed to the final name (a
  // header naming the temporary data file is fixed first, a stale
  // PATH.aux.xml dropped) now, or with the rest of the run's outputs when an
  // OutputSet is active. BS3L_TEST_FAIL_OUTPUT=NAME makes the output whose
  // file name is NAME fail here (tests).
  void commit();

 private:
  std::vector<std::string> side_files() const;  // files in the folder named temp_base_ + "."
  std::string path_, temp_, temp_base_, final_base_;
  std::vector<std::string> files_;
  bool done_ = false;
};

// The outputs of one run: each output's files wait under their temporary
// names until commit() renames them all (old files step aside first and
// come back if any rename fails); destroyed uncommitted (an error, an
// interrupt), it removes them, and every previous file stays as it was.
// The first one constructed is the active one until it is destroyed.
class OutputSet {
 public:
  struct Staged {
    std::vector<std::pair<std::string, std::string>> moves;  // temporary -> final
    std::vector<std::string> stale;                           // removed after the renames
  };
  OutputSet();
  ~OutputSet();
  OutputSet(const OutputSet &) = delete;
  OutputSet &operator=(const OutputSet &) = delete;
  static OutputSet *active();
  void stage(Staged s);
  void commit();
  std::vector<std::string> targets() const;  // every file the run writes, final names

 private:
  std::vector<Staged> staged_;
  bool committed_ = false;
};

}  // namespace bs3l::app
