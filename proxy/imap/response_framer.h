// ResponseFramer: incremental server -> client framing of IMAP responses.
//
// Same shape as CommandFramer: next() consumes a prefix of the input and
// reports one event. A response is a line, or lines joined by literals
// ({n} at the end of a line announces n bytes of data, then the line goes on).
// Literal bytes are handed back as views into the input without being scanned.
// Lines are reported whole, CRLF included.
#pragma once

#include "proxy/imap/limits.h"

#include <cstdint>
#include <optional>
#include <string_view>

namespace imapfront::imap {

enum class ResponseType { Untagged, Tagged, Continuation };

struct ResponseEvent {
    enum class Kind { NeedMore, Line, LiteralData, Error };
    Kind kind = Kind::NeedMore;
    std::size_t consumed = 0;
    std::string_view data;
    bool first_line = false;         // Line: first line of a response (type()/tag() valid)
    bool response_complete = false;  // Line: no literal follows
    bool literal_complete = false;   // LiteralData: last chunk of the literal
    std::optional<std::uint64_t> literal;  // Line: literal size announced at its end
};

class ResponseFramer {
public:
    explicit ResponseFramer(Limits limits = {});

    ResponseEvent next(std::string_view input);

    ResponseType type() const;
    std::string_view tag() const;  // Tagged responses only
    // Upper-cased status word of a tagged or untagged status line: OK, NO,
    // BAD, BYE, PREAUTH; empty otherwise (e.g. "* 3 EXISTS", "* CAPABILITY").
    std::string_view status() const;
};

}  // namespace imapfront::imap
