// Capability rewriting: what the client is told a backend can do after
// imapfront stands between them.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace imapfront::imap {

// Filters a space-separated capability list from a backend: drops STARTTLS,
// LOGINDISABLED, AUTH=*, SASL-IR and what imapfront cannot relay
// (COMPRESS=*), keeps the rest in order, appends MULTIACCOUNT (once).
std::string rewrite_capability_list(std::string_view backend_list);

// If `line` (CRLF included) is "* CAPABILITY ..." or a status response
// carrying "[CAPABILITY ...]", returns it with the list rewritten; else nullopt.
std::optional<std::string> rewrite_capability_line(std::string_view line);

// Extracts the list from "* CAPABILITY ..." or "[CAPABILITY ...]" in `line`.
std::optional<std::string> extract_capability_list(std::string_view line);

// True if the space-separated list contains `capability` (case-insensitive).
bool has_capability(std::string_view list, std::string_view capability);

}  // namespace imapfront::imap
