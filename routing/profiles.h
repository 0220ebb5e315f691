// Multi-account profiles: which identities one login authenticates.
#pragma once

#include "config/config.h"

#include <string>
#include <string_view>
#include <vector>

namespace imapfront::routing {

// Identities authenticated by a login as `identity`: the members of its
// profile in config order (spelled as in config), or just `identity` itself.
std::vector<std::string> authenticated_identities(const config::Config& config, std::string_view identity);

// The config spelling of `candidate` if it is one of `authenticated` (compared
// by identity_key), else empty.
std::string find_authenticated(const std::vector<std::string>& authenticated, std::string_view candidate);

}  // namespace imapfront::routing
