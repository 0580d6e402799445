#include "help.h"

namespace bs3l::app {
namespace {

const char *kInput = R"(  -b LIST            bands to use, 1-based, e.g. 1-50,60,70-100 (default: all)
  --keep-bad-bands   keep bands marked 0 in an ENVI 'bbl' list (default: drop them
                     unless -b names them)
  --mask FILE        raster of the same size; pixels where it is 0 are excluded
  --truth FILE       ground truth (nonzero = anomaly): print the AUC at the end. A
                     .mat input without it uses its first variable named map,
                     gt, mask, groundtruth, gtImg_sub or PlaneGT, else its only
                     single-band variable of the cube's size (printed)
                     (a .mat input's own map/gt variable is used when present)
)";

const char *kOutput = R"(  -of FORMAT         GDAL output format (default: from the extension, else GTiff)
  -co NAME=VALUE     creation option, repeatable
  --overwrite        replace existing outputs
  -q, --quiet        no progress output
  --verbose          print the training loss
)";

const char *kTrain = R"(  --mode fast|faithful   training protocol (default fast: whole-scene passes,
                     10% blind spots per step, cosine learning rate; faithful:
                     the paper's 19x19 patches, 1000 epochs)
  --steps N          fast mode: training steps (default 300)
  --epochs N         faithful mode: epochs over all pixels (default 1000)
  --batch-size N     faithful mode: patches per step (default 100)
  --lr X             learning rate (fast: peak 5e-4; faithful: 1e-4)
  --patch N          blind-spot patch size (default 19)
  --ratio X          share of non-blind pixels in a patch (default 0.9 -> 37 spots)
  --window N         neighbour window of a blind spot (default 5)
  --fixed-masks      faithful mode: draw the blind spots once, as the official code
  --features N       feature channels (default 64)
  --blocks N         residual blocks (default 2)
  --norm batch|instance  normalisation layers (default batch)
  --normalize none|minmax|zscore  input scaling (default minmax)
  --tile N           fast mode: training tile edge (default 128)
  --seed N           random seed (default 1)
  --device auto|cpu|cuda[:N]  (default auto: CUDA when available)
  --threads N        CPU threads (default 0: all cores)
  --deterministic    deterministic cuDNN kernels
  --amp              CUDA: bf16 mixed precision (autocast) for training and detection
)";

const char *kScore = R"(  --score fused|scaled|mse  how residuals become scores (default fused; mse with
                     --mode faithful): mse = mean squared residual over bands
                     (the paper); scaled = each band's residual over its robust
                     spread (1.4826 x MAD), squared, averaged over bands, plus
                     its 3x3 neighbourhood mean; fused = -log10(pfa(scaled) +
                     0.1 x pfa(global RX)), each pfa from the scene's own tail
  --rx-weight X      fused: weight of the RX term (default 0.1)
)";

const char *kUnits = R"(  --units pfa|raw    pfa (default; raw with --mode faithful): -log10 of the
                     estimated probability that a background pixel scores at
                     least as high, fitted on the scene itself (2 = 1 in 100,
                     3 = 1 in 1000 background pixels, in every scene); raw: the
                     score itself. Same order, so the same AUC.
)";

const char *kThresholds = R"(  --detections FILE  write a 0/1 detection mask (Byte, 255 = nodata)
  --max-pfa P        flag pixels whose estimated false-alarm probability is at
                     most P, e.g. 1e-3 (pfa units)
  --threshold X      or: flag scores >= X (in the output's units)
  --top-percent X    or: flag the top X% of scores (default 1)
  --vector FILE      polygons of connected detections (.gpkg, .geojson, .fgb, .kml) with
                     pixels, area_m2, peak/mean score, centroid x/y and WGS 84
                     lon/lat; placed by the geotransform, else by the GCPs or
                     RPCs (then in lon/lat), as gdalwarp would
)";

}  // namespace

std::string usage(const std::string &c) {
  if (c == "detect")
    return std::string("Usage: bs3lnet detect INPUT OUTPUT [options]\n"
                       "Train BS3LNet on INPUT (self-supervised) and write its anomaly scores.\n\n") +
           kInput + kOutput + kTrain + kScore + kUnits + kThresholds +
           "  --save-model FILE  also save the trained model\n"
           "  --background FILE  write the reconstructed background cube\n"
           "  --quicklook FILE   PNG: true-colour input (640/550/460 nm) beside the score map\n";
  if (c == "train")
    return std::string("Usage: bs3lnet train INPUT MODEL [options]\nTrain BS3LNet on INPUT and save it.\n\n") + kInput +
           kOutput + kTrain;
  if (c == "apply")
    return std::string("Usage: bs3lnet apply MODEL INPUT OUTPUT [options]\n"
                       "Score INPUT with a saved model (same bands as it was trained on).\n\n") +
           kInput + kOutput + kScore + kUnits + kThresholds +
           "  --device D, --threads N, --background FILE, --quicklook FILE (as for detect)\n";
  if (c == "rx")
    return std::string("Usage: bs3lnet rx INPUT OUTPUT [options]\nGlobal RX (Mahalanobis distance to the scene mean), or\n"
                       "local dual-window RX with --window.\n\n") +
           kInput + kOutput +
           "  --window IN,OUT     local RX: statistics from the ring between odd windows IN < OUT (e.g. 3,11)\n"
           "  --units raw|pfa     raw (default): the squared Mahalanobis distance; pfa: as for detect\n";
  if (c == "evaluate")
    return "Usage: bs3lnet evaluate SCORES TRUTH [--json] [--roc FILE.csv] [--plot FILE.svg]\n"
           "ROC AUC(D,F), 3-D ROC areas AUC(D,tau), AUC(F,tau) and TD, BS, SNPR, ODP, OA; for scores\n"
           "in pfa units, the observed background false-alarm rate at nominal 1e-1, 1e-2, 1e-3 (and\n"
           "a calibration panel in --plot).\n";
  if (c == "info")
    return "Usage: bs3lnet info INPUT [-b LIST] [--keep-bad-bands]\n"
           "Size, bands, wavelengths, georeferencing and valid pixels of a cube.\n";
  if (c == "synth")
    return "Usage: bs3lnet synth FOLDER [--size N] [--bands N] [--seed N] [--overwrite]\n"
           "Write the synthetic sample scene (ENVI, GeoTIFF, .mat and truth) into FOLDER.\n";
  if (c.empty())
    return "Usage: bs3lnet COMMAND [options]   (bs3lnet COMMAND --help for details)\n\n"
           "Commands:\n"
           "  detect INPUT OUTPUT        train BS3LNet on INPUT and write anomaly scores\n"
           "  train INPUT MODEL          train and save a model\n"
           "  apply MODEL INPUT OUTPUT   score a scene with a saved model\n"
           "  rx INPUT OUTPUT            global or local (--window) RX baseline\n"
           "  evaluate SCORES TRUTH      ROC figures against a ground truth\n"
           "  info INPUT                 describe a cube\n"
           "  synth FOLDER               write the synthetic sample scene\n\n"
           "GDAL general options: --config KEY VALUE, --debug on|off, --formats, --version, --help-general\n";
  return {};
}

}  // namespace bs3l::app
