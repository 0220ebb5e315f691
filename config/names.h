// Comparison keys of domains and identities. Shared by config (map keys of
// vhosts, aliases, accounts, profiles) and routing (lookups), so both sides
// agree on what "the same name" means: ASCII case-insensitive, a trailing dot
// on the domain ignored.
#pragma once

#include <string>
#include <string_view>

namespace imapfront::config {

// "Example.COM." -> "example.com"
std::string domain_key(std::string_view domain);

// Splits at the last '@'; the local part is lower-cased, the domain goes
// through domain_key. A name without '@' is only lower-cased.
std::string identity_key(std::string_view identity);

}  // namespace imapfront::config
