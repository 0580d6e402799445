#include "score_units.h"

#include <algorithm>
#include <sstream>

namespace bs3l::app {
namespace {

std::string raw_unit_of(Score s, double rx_weight_option, const ScoreReference &ref) {
  const double rx_weight = rx_weight_of(ref, rx_weight_option);
  const std::string purified =
      ref.rx_rank > 0 ? "pfa(global RX on " + std::to_string(ref.rx_rank) + " leading directions)" : "pfa(global RX)";
  switch (s) {
    case Score::Mse: return "mean over bands of the squared residual, in the network's input units";
    case Score::Scaled: return "mean over bands of (residual / the band's robust spread)^2, plus its 3x3 mean";
    case Score::Fused: {
      std::ostringstream o;
      if (ref.has_blocks()) {  // each pixel weighed by its block, the sum scaled to the scene weight's total
        o << "-log10((pfa(scaled) + " << rx_weight << " x " << purified << " + w x pfa("
          << (ref.has_block_rx() ? "RX against every pixel of the block" : "global RX, every pixel") << ")) x "
          << 1 + rx_weight + ref.all_weight << " / (" << 1 + rx_weight << " + w)), w: the weight of the pixel's block";
        return o.str();
      }
      o << "-log10(pfa(scaled) + " << rx_weight << " x " << purified;
      if (ref.has_all()) o << " + " << ref.all_weight << " x pfa(global RX, every pixel)";
      o << ")";
      return o.str();
    }
  }
  return "?";
}

// What the fused score weighed its parts with, and whence the weight of RX
// against every pixel.
// `fitted`: the reference was fitted in this run (else it is the model's).
std::string fusion_of(const ScoreReference &ref, const DetectOptions &d, bool fitted, size_t most_listed) {
  if (d.score != Score::Fused || !ref.has_all()) return "";
  std::ostringstream o;
  o.precision(6);
  o << "global RX kurtosis " << ref.kurtosis << " (1 for a Gaussian background) -> weight " << ref.all_weight
    << " for RX against every pixel ("
    << (d.rx_all_weight >= 0 ? "--rx-all-weight"
        : fitted             ? "auto: 0.2 + 200 x max(0, kurtosis - 1.2)"
                             : "saved with the model")
    << "), " << rx_weight_of(ref, d.rx_weight) << " for RX against the purified background ("
    << (d.rx_weight >= 0 ? "--rx-weight" : "auto") << "; "
    << (ref.rx_rank > 0 ? "its " + std::to_string(ref.rx_rank) + " leading principal directions" : "full rank")
    << ")";
  if (ref.has_blocks()) {
    // The scene-wide weight above, and the one each block of the scene used.
    const int nr = fusion_blocks(ref.grid_rows), nc = fusion_blocks(ref.grid_cols);
    o.precision(4);
    o << "; per block of the " << ref.grid_rows << "x" << ref.grid_cols << " scene (" << nr << "x" << nc
      << ", row by row, each block's own RX kurtosis"
      << (ref.has_block_rx() ? "; RX against every pixel on the block's own background" : "") << "): weights";
    std::vector<double> w = ref.block_weight;
    if (w.size() <= most_listed) {
      for (double x : w) o << " " << x;
    } else {  // a flight line's hundreds: their spread here, each one in the metadata
      std::sort(w.begin(), w.end());
      o << " from " << w.front() << " to " << w.back() << ", median " << w[w.size() / 2]
        << " (every block's in the score's BS3LNET_FUSION)";
    }
  }
  return o.str();
}

}  // namespace

Scores in_units(std::vector<float> raw, bool pfa, Tail tail, const std::string &raw_unit) {
  Scores s;
  s.pfa = pfa, s.raw_unit = raw_unit;
  if (!pfa) {
    s.value = std::move(raw);
    return s;
  }
  TailFit fit;
  s.value = pfa_log10(raw, tail, &fit);
  s.calibration = fit.describe();
  return s;
}

Scores network_scores(const Detection &det, const DetectOptions &d, bool pfa, bool fitted) {
  Scores s;
  s.pfa = pfa, s.raw_unit = raw_unit_of(d.score, d.rx_weight, det.reference);
  s.fusion = fusion_of(det.reference, d, fitted, size_t(-1));
  s.fusion_note = fusion_of(det.reference, d, fitted, 16);
  if (!pfa) {
    s.value = det.score;
    return s;
  }
  s.value = calibrated(det.reference, d.score, d.rx_weight, det.score, &s.calibration);
  return s;
}

std::string describe(const DetectOptions &d) {
  std::ostringstream s;
  s << "score=" << to_string(d.score);
  if (d.score == Score::Fused) {
    s << " rx_weight=";
    if (d.rx_weight >= 0) s << d.rx_weight; else s << "auto";
    s << " rx_all_weight=";
    if (d.rx_all_weight >= 0) s << d.rx_all_weight; else s << "auto";
  }
  s << " rx_purify=" << d.rx_purify << " rx_rank=" << d.rx_rank;
  return s.str();
}

std::string describe(const TrainOptions &o) {
  std::ostringstream s;
  if (o.mode == TrainMode::Faithful)
    s << "mode=faithful epochs=" << o.epochs << " batch_size=" << o.batch_size << " lr=" << o.lr
      << " fixed_masks=" << (o.fixed_masks ? "yes" : "no");
  else
    s << "mode=fast steps=" << o.steps << " lr=" << o.fast_lr << " tile=" << o.tile;
  s << " patch=" << o.patch << " ratio=" << o.ratio << " window=" << o.window << " features=" << o.model.features
    << " blocks=" << o.model.blocks << " norm=" << (o.model.instance_norm ? "instance" : "batch")
    << " normalize=" << to_string(o.normalize) << " seed=" << o.seed;
  return s.str();
}

std::string join(const std::vector<int> &v) {
  std::string s;
  for (int x : v) s += (s.empty() ? "" : ",") + std::to_string(x);
  return s;
}

}  // namespace bs3l::app
