// DNS name rules for choosing a server certificate by SNI.
#pragma once

#include <string>
#include <string_view>

namespace imapfront::net::detail {

std::string lower_ascii(std::string_view text);

// True when certificate name `pattern` covers host `name` (both compared
// case-insensitively). "*.x" covers exactly one extra leftmost label.
bool dns_name_matches(std::string_view pattern, std::string_view name);

}  // namespace imapfront::net::detail
