// The library calls behind the commands (jobs.h), as another program would
// make them: one rising 0..1 across the phases, named in order; a FALSE from
// the callback in any phase cancels with nothing written.
#include <gdal.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "bs3l/bs3lnet.h"
#include "jobs.h"
#include "matlab_driver.h"
#include "output_file.h"

namespace fs = std::filesystem;
using namespace bs3l;
using namespace bs3l::app;

namespace {

struct Seen {
  std::vector<double> fraction;
  std::vector<std::string> phase;
  std::string cancel_at;  // return FALSE on entering this phase
};

int CPL_STDCALL record(double f, const char *phase, void *data) {
  Seen &s = *static_cast<Seen *>(data);
  s.fraction.push_back(f);
  s.phase.push_back(phase ? phase : "");
  return s.phase.back() == s.cancel_at ? FALSE : TRUE;
}

// The phases in the order first entered.
std::vector<std::string> order(const Seen &s) {
  std::vector<std::string> o;
  for (const std::string &p : s.phase)
    if (o.empty() || o.back() != p) o.push_back(p);
  return o;
}

class Jobs : public ::testing::Test {
 protected:
  void SetUp() override {
    GDALRegister_MATLAB();
    GDALAllRegister();
    dir_ = fs::temp_directory_path() / ("bs3l_jobs_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
                                        "_" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  DetectJob detect_job(bool stream) const {
    DetectJob j;
    j.input = std::string(BS3L_SAMPLE_DIR) + "/scene.tif";
    j.train.steps = 20, j.train.threads = 1;
    j.run.quiet = true, j.run.stream = stream, j.run.threads = 1;
    j.read.quiet = true;
    j.out.scores = path("s.tif"), j.out.model = path("m.pt"), j.out.detections = path("d.tif");
    return j;
  }
  std::string path(const std::string &name) const { return (dir_ / name).string(); }
  std::vector<std::string> files() const {
    std::vector<std::string> f;
    for (const auto &e : fs::directory_iterator(dir_)) f.push_back(e.path().filename().string());
    std::sort(f.begin(), f.end());
    return f;
  }
  fs::path dir_;
};

void expect_one_rising_bar(const Seen &s) {
  ASSERT_FALSE(s.fraction.empty());
  EXPECT_EQ(s.fraction.front(), 0.0);
  EXPECT_EQ(s.fraction.back(), 1.0);
  for (size_t i = 1; i < s.fraction.size(); ++i) ASSERT_GE(s.fraction[i], s.fraction[i - 1]) << "call " << i;
}

// Runs a library call as the command does: its outputs land at the end.
template <class Job>
Seen committed(const Job &job, int (*run)(const Job &, GDALProgressFunc, void *)) {
  Seen seen;
  OutputSet outputs;
  EXPECT_EQ(run(job, record, &seen), 0);
  outputs.commit();
  return seen;
}

TEST_F(Jobs, DetectReportsOneRisingBarAcrossItsPhases) {
  for (bool stream : {false, true}) {
    const Seen seen = committed(detect_job(stream), detect_run);
    expect_one_rising_bar(seen);
    EXPECT_EQ(order(seen), (std::vector<std::string>{"read", "train", "detect", "write"})) << "stream " << stream;
    EXPECT_GT(seen.fraction.size(), 20u);  // training reports every step
    EXPECT_EQ(files(), (std::vector<std::string>{"d.qml", "d.tif", "m.pt", "s.qml", "s.tif"}));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
}

TEST_F(Jobs, CancelInAnyPhaseWritesNothing) {
  for (bool stream : {false, true})
    for (const char *phase : {"read", "train", "detect", "write"}) {
      Seen seen;
      seen.cancel_at = phase;
      {
        OutputSet outputs;
        EXPECT_THROW(detect_run(detect_job(stream), record, &seen), Cancelled) << phase << " stream " << stream;
      }
      EXPECT_EQ(seen.phase.back(), phase);
      EXPECT_TRUE(files().empty()) << phase << " stream " << stream;
    }
}

TEST_F(Jobs, RxAndTrainShareTheBar) {
  RxJob rx;
  rx.input = std::string(BS3L_SAMPLE_DIR) + "/scene.tif";
  rx.run.quiet = true, rx.read.quiet = true;
  rx.out.scores = path("rx.tif");
  const Seen seen = committed(rx, rx_run);
  expect_one_rising_bar(seen);
  EXPECT_EQ(order(seen), (std::vector<std::string>{"read", "detect", "write"}));

  TrainJob t;
  t.input = rx.input;
  t.train.steps = 10, t.train.threads = 1;
  t.run.quiet = true, t.read.quiet = true;
  t.out.model = path("m.pt");
  const Seen trained = committed(t, train_run);
  expect_one_rising_bar(trained);
  EXPECT_EQ(order(trained), (std::vector<std::string>{"read", "train", "detect", "write"}));
  EXPECT_EQ(files(), (std::vector<std::string>{"m.pt", "rx.tif"}));
}

}  // namespace
