// Identity normalisation: the comparison key of a login name or a config
// identity. Comparisons are ASCII case-insensitive; a trailing dot on the
// domain is ignored. Backends always get the spelling written in config or
// typed by the client, never the key.
#pragma once

#include <string>
#include <string_view>

namespace imapfront::routing {

struct SplitIdentity {
    std::string_view local;
    std::string_view domain;  // empty when the name has no '@'
};

// Splits at the last '@'.
SplitIdentity split_identity(std::string_view identity);

// Lower-cased, trailing dot of the domain removed. "Bob@Example.COM." -> "bob@example.com"
std::string identity_key(std::string_view identity);

// Lower-cased domain without trailing dot.
std::string domain_key(std::string_view domain);

}  // namespace imapfront::routing
