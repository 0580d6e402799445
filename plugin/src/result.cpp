#include "result.h"

namespace bs3l::app {

nlohmann::ordered_json &run_result() {
  static nlohmann::ordered_json r = nlohmann::ordered_json::object();
  return r;
}

}  // namespace bs3l::app
