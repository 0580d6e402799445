// The bs3lnet subcommands. Each takes its arguments (after the subcommand
// name) and returns the exit code; errors are thrown as bs3l::Error and
// reported once, in main.
#pragma once
#include <string>
#include <vector>

namespace bs3l::app {

using Argv = std::vector<std::string>;

int cmd_detect(const Argv &args);
int cmd_train(const Argv &args);
int cmd_apply(const Argv &args);
int cmd_rx(const Argv &args);
int cmd_evaluate(const Argv &args);
int cmd_info(const Argv &args);
int cmd_synth(const Argv &args);
int cmd_threshold(const Argv &args);

// Dispatches argv[1]; returns the exit code (1 on error, 130 on SIGINT).
int run(int argc, char **argv);

}  // namespace bs3l::app
