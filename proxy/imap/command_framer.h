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
#include "proxy/imap/line_buffer.h"
#include "proxy/imap/literal_tail.h"

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
    std::string_view data;     // Line: whole line with CRLF; LiteralData: a chunk;
                               // Error: the refused line (empty for LineTooLong)
    LineKind line_kind = LineKind::Command;
    bool first_line = false;             // Line: first line of a command (tag()/name() now valid)
    bool command_complete = false;       // Line: no literal follows, the command ends here
    bool literal_complete = false;       // LiteralData: last chunk of the literal
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
    // The server refused the command before the data of its synchronizing
    // literal was sent (a tagged NO/BAD instead of "+", RFC 3501 7.5): the
    // client will not send it, so the next bytes start a new command.
    void cancel_literal();

private:
    // Where the byte being fed lies within the current line.
    enum class Part { Tag, Name, Arguments, Raw };
    enum class Quote { None, Open, Escape };

    CommandEvent next_literal_chunk(std::string_view input);
    void begin_line();
    void feed(unsigned char c);
    void dispatch(unsigned char c);
    void feed_tag(unsigned char c);
    void feed_name(unsigned char c);
    void feed_arguments(unsigned char c);
    CommandEvent finish_line(std::string_view line, std::size_t consumed);
    CommandEvent line_error(FramerError error, std::string_view line, std::size_t consumed,
                            const std::optional<LiteralSpec>& literal);
    CommandEvent fatal(FramerError error, std::size_t consumed);
    bool exceeds_line_limit(unsigned char c);

    Limits limits_;
    LineBuffer line_buffer_;

    // Command state.
    std::string tag_;
    std::string name_;
    bool at_command_start_ = true;
    bool raw_line_expected_ = false;
    bool idle_in_progress_ = false;
    std::string idle_tag_;
    std::uint64_t literal_left_ = 0;
    bool in_literal_ = false;
    bool dead_ = false;
    FramerError fatal_error_ = FramerError::None;

    // Line state.
    bool line_started_ = false;
    bool first_line_ = false;
    Part part_ = Part::Tag;
    Quote quote_ = Quote::None;
    LiteralTail literal_tail_;
    bool pending_cr_ = false;
    bool bad_tag_ = false;
    bool bad_command_ = false;
    std::size_t line_length_ = 0;
};

}  // namespace imapfront::imap
