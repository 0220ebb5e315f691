// CommandFramer: incremental client -> server framing of IMAP commands.
//
// A byte-at-a-time state machine that resumes where it stopped. The caller
// hands it whatever bytes arrived; each call to next() consumes a prefix and
// reports one event. A command is one or more lines; every line but the last
// ends with a literal announcement ({n}, {n+}, ~{n}, ~{n+}) whose n bytes of
// data follow as LiteralData events (views into the caller's input, never
// scanned). Lines are reported whole, CRLF included; the view stays valid until
// the next call to next().
//
// Special lines: after a command named IDLE completes, a line "DONE" is
// reported as LineKind::IdleDone. expect_raw_line() makes the next line a
// LineKind::Raw line (an AUTHENTICATE continuation answer).
#pragma once

#include "proxy/imap/limits.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace imapfront::imap {

struct LiteralSpec {
    std::uint64_t size = 0;
    bool synchronizing = true;  // {n}: the sender waits for "+" before the data
    bool binary = false;        // ~{n} (RFC 3516)
};

enum class LineKind { Command, Raw, IdleDone };

enum class FramerError {
    None,
    LineTooLong,      // fatal: the stream cannot be resynchronised
    LiteralTooLarge,  // fatal when the literal is non-synchronizing
    BadTag,           // missing or invalid tag; the tag must not be echoed
    BadCommand,       // tag present, command name missing or invalid
    BadLiteral,       // malformed literal announcement (e.g. {12x}); fatal when non-synchronizing
};

struct CommandEvent {
    enum class Kind { NeedMore, Line, LiteralData, Error };
    Kind kind = Kind::NeedMore;
    std::size_t consumed = 0;  // bytes of the input this event used up
    std::string_view data;     // Line: whole line with CRLF; LiteralData: a chunk
    LineKind line_kind = LineKind::Command;
    bool first_line = false;        // Line: first line of a command (tag()/name() now valid)
    bool command_complete = false;  // Line: no literal follows, the command ends here
    bool literal_complete = false;  // LiteralData: last chunk of the literal
    std::optional<LiteralSpec> literal;  // Line: literal announced at its end
    FramerError error = FramerError::None;
    bool fatal = false;  // Error: the connection must be closed after answering
};

class CommandFramer {
public:
    explicit CommandFramer(Limits limits = {});

    CommandEvent next(std::string_view input);

    // Tag and upper-cased command name of the current command. Valid from its
    // first Line event until the first line of the next command.
    std::string_view tag() const;
    std::string_view name() const;

    void set_limits(Limits limits);
    void expect_raw_line();
    bool in_literal() const;
};

}  // namespace imapfront::imap
