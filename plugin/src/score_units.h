// A score map with what its values mean (raw or calibrated, the fusion's
// weights), and the one-line descriptions written to every output's metadata.
#pragma once
#include <string>
#include <vector>

#include "bs3l/bs3lnet.h"
#include "bs3l/calibrate.h"

namespace bs3l::app {

struct Scores {
  std::vector<float> value;
  bool pfa = false;
  std::string raw_unit, calibration;
  std::string fusion;       // the fused score's weights and why (empty for other scores)
  std::string fusion_note;  // the same for the terminal: at most 16 block weights listed
};

// Raw scores, calibrated with a tail fitted to them when `pfa`.
Scores in_units(std::vector<float> raw, bool pfa, Tail tail, const std::string &raw_unit);

// The network's scores, calibrated (pfa) against the reference they were
// measured with; `fitted`: the reference was fitted in this run (else it
// is the model's).
Scores network_scores(const Detection &det, const DetectOptions &d, bool pfa, bool fitted);

// "score=fused rx_weight=..." and "mode=fast steps=...": BS3LNET_PARAMETERS.
std::string describe(const DetectOptions &d);
std::string describe(const TrainOptions &o);

// {1,2,5} -> "1,2,5" (the model's band tag).
std::string join(const std::vector<int> &v);

}  // namespace bs3l::app
