#pragma once

#include "options.h"

namespace loadgen {

// Each scenario prints one RESULT line (or a FAILED line) and returns the
// process exit code.
int run_latency(const Options& options);
int run_throughput(const Options& options);
int run_mixed(const Options& options);
int run_logins(const Options& options);
int run_idle(const Options& options);
int run_selecta(const Options& options);

}  // namespace loadgen
