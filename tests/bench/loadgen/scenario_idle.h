#pragma once

#include "options.h"

namespace loadgen {

// One process's part of the idle scenario: opens options.sessions sessions
// numbered from options.first_session, prints the RESULT line and "READY",
// then holds them until stdin closes or options.hold seconds pass.
int hold_idle_sessions(const Options& options);

// Returns when stdin closes (read gives end of file) or hold_seconds pass.
void wait_for_stdin_close(double hold_seconds);

// idle --processes N: forks N children that each hold a share of the
// sessions, and prints their summed RESULT line; see idle_processes.cpp.
int run_idle_processes(const Options& options);

}  // namespace loadgen
