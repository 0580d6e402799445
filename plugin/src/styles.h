// QGIS styles (.qml) written beside score and mask rasters: QGIS loads a
// layer's NAME.qml by itself, so an output opens with a legend that means
// something instead of a grey min-max stretch.
#pragma once
#include <string>

namespace bs3l::app {

// pfa scores: a fixed magma ramp from 0 to 6 (-log10 of the false-alarm
// probability), its legend in false-alarm rates (1e-1 ... 1e-6).
std::string pfa_style();

// 0/1 detection masks: detections red, background transparent.
std::string mask_style();

}  // namespace bs3l::app
