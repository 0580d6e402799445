// Usage texts of bs3lnet and its subcommands.
#pragma once
#include <string>

namespace bs3l::app {
// Empty for an unknown subcommand.
std::string usage(const std::string &command);
}
