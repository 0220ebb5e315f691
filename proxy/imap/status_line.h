// Splitting one whole response line into its parts, for the few lines
// imapfront reads itself (greetings, backend login replies).
#pragma once

#include <string_view>

namespace imapfront::imap {

struct StatusLine {
    std::string_view tag;  // "*", "+" or the tag
    std::string_view
        status;  // OK, NO, BAD, BYE, PREAUTH as sent (compare case-insensitively); else the word after the tag
    std::string_view code;  // inside [...] after the status, brackets excluded; empty if none
    std::string_view text;  // the rest, CRLF excluded (with the [code] when present)
};

// `line` may end with CRLF or LF, or with neither.
StatusLine parse_status_line(std::string_view line);

bool iequals(std::string_view a, std::string_view b);
bool istarts_with(std::string_view text, std::string_view prefix);

}  // namespace imapfront::imap
