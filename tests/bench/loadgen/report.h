#pragma once

#include "options.h"

#include <string>
#include <vector>

namespace loadgen {

// Percentile of samples (sorted in place), nearest rank; 0 when empty.
double percentile(std::vector<double>& samples, double fraction);

// Prints "RESULT scenario=.. target=.. tls=.. <fields>" on stdout and flushes,
// the one line the runner parses.
void print_result(const Options& options, const std::string& fields);

// A reason as one RESULT field value (the runner splits fields at spaces):
// "connection closed by server" -> "connection_closed_by_server".
std::string error_field(const std::string& why);

// Prints why a scenario could not run and returns the exit code for it.
int report_failure(const Options& options, const std::string& why);

}  // namespace loadgen
