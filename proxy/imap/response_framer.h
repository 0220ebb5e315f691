// ResponseFramer: incremental server -> client framing of IMAP responses.
//
// Same shape as CommandFramer: next() consumes a prefix of the input and
// reports one event. A response is a line, or lines joined by literals
// ({n} at the end of a line announces n bytes of data, then the line goes on).
// Literal bytes are handed back as views into the input without being scanned.
// Lines are reported whole, CRLF included.
#pragma once

#include "proxy/imap/limits.h"
#include "proxy/imap/line_buffer.h"
#include "proxy/imap/literal_tail.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace imapfront::imap {

enum class ResponseType { Untagged, Tagged, Continuation };

struct ResponseEvent {
    enum class Kind { NeedMore, Line, LiteralData, Error };
    Kind kind = Kind::NeedMore;
    std::size_t consumed = 0;
    std::string_view data;
    bool first_line = false;               // Line: first line of a response (type()/tag() valid)
    bool response_complete = false;        // Line: no literal follows
    bool literal_complete = false;         // LiteralData: last chunk of the literal
    std::optional<std::uint64_t> literal;  // Line: literal size announced at its end
    // Line: what the response is, so that callers need not ask the framer.
    // `tag` (tagged responses) and `status` (upper-cased OK/NO/BAD/BYE/PREAUTH
    // of a status line, else empty) stay valid until the next call to next().
    ResponseType type = ResponseType::Untagged;
    std::string_view tag;
    std::string_view status;
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

private:
    // Where the byte being fed lies within the current line.
    enum class Part { Start, Star, Tag, Word, Text };
    enum class Quote { None, Open, Escape };

    ResponseEvent next_literal_chunk(std::string_view input);
    void begin_line();
    void feed(unsigned char c);
    void dispatch(unsigned char c);
    void feed_text(unsigned char c);
    void end_word();
    bool exceeds_line_limit(unsigned char c);
    ResponseEvent finish_line(std::string_view line, std::size_t consumed);
    ResponseEvent fatal(std::size_t consumed);

    Limits limits_;
    LineBuffer line_buffer_;

    // Response state.
    ResponseType type_ = ResponseType::Untagged;
    std::string tag_;
    std::string word_;  // second word of the first line, upper-cased
    bool is_status_ = false;
    unsigned open_brackets_ = 0;
    bool at_response_start_ = true;
    bool in_literal_ = false;
    std::uint64_t literal_left_ = 0;
    bool dead_ = false;

    // Line state.
    bool line_started_ = false;
    bool first_line_ = false;
    Part part_ = Part::Start;
    Quote quote_ = Quote::None;
    LiteralTail literal_tail_;
    bool pending_cr_ = false;
    std::size_t line_length_ = 0;
};

}  // namespace imapfront::imap
