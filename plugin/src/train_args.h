// TrainOptions from a parsed command line: defaults from TrainOptions (via
// the option table), --protocol paper as the official code. GDAL-free.
#pragma once
#include <string>

#include "args.h"
#include "bs3l/bs3lnet.h"

namespace bs3l::app {

// `notice` receives a line when --device auto falls back to the CPU.
TrainOptions train_options_of(const Args &a, std::string *notice);

}  // namespace bs3l::app
