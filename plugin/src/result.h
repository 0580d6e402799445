// What a run tells scripts with --json (detect, apply, rx): filled by the
// command as it goes, printed by run() once the outputs have landed, as the
// only thing on stdout.
#pragma once
#include <nlohmann/json.hpp>

namespace bs3l::app {

nlohmann::ordered_json &run_result();

}  // namespace bs3l::app
