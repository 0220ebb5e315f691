// Master passwords come from a file (a mounted Kubernetes secret) or from an
// environment variable, never inline. Problems are described without the
// secret itself.
#pragma once

#include "config/values.h"

#include <string>
#include <string_view>

namespace imapfront::config {

// Reads the whole file minus one trailing newline. Refused when the file
// can be read by group or others.
Parsed<std::string> read_password_file(const std::string& absolute_path);

// `spec` is "env:NAME"; the variable must be set and non-empty.
Parsed<std::string> read_password_env(std::string_view spec);

}  // namespace imapfront::config
