#include "proxy/imap/command_framer.h"

#include "proxy/imap/chars.h"

#include <algorithm>

namespace imapfront::imap {

namespace {

// "DONE" ends an IDLE; clients differ in case and line ending.
bool is_idle_done(std::string_view line) {
    if (!line.empty() && line.back() == '\n') {
        line.remove_suffix(1);
    }
    if (!line.empty() && line.back() == '\r') {
        line.remove_suffix(1);
    }
    constexpr std::string_view done = "DONE";
    return line.size() == done.size() &&
           std::equal(line.begin(), line.end(), done.begin(), [](char a, char b) { return to_upper_ascii(a) == b; });
}

}  // namespace

CommandFramer::CommandFramer(Limits limits) : limits_(limits) {}

std::string_view CommandFramer::tag() const { return tag_; }

std::string_view CommandFramer::name() const { return name_; }

void CommandFramer::set_limits(Limits limits) { limits_ = limits; }

// Takes effect at the start of the next command line: a continuation answer
// replaces a command, never a line inside one.
void CommandFramer::expect_raw_line() { raw_line_expected_ = true; }

bool CommandFramer::in_literal() const { return in_literal_; }

void CommandFramer::cancel_literal() {
    if (!in_literal_) return;
    in_literal_ = false;
    literal_left_ = 0;
    at_command_start_ = true;
}

CommandEvent CommandFramer::next(std::string_view input) {
    line_buffer_.release();
    if (dead_) {
        return fatal(fatal_error_, 0);
    }
    if (in_literal_) {
        return next_literal_chunk(input);
    }
    for (std::size_t i = 0; i < input.size(); ++i) {
        const auto c = static_cast<unsigned char>(input[i]);
        if (!line_started_) {
            begin_line();
        }
        // A bare LF ends a line too: many clients send one, and servers
        // accept it. The line is still reported exactly as received.
        if (c == '\n') {
            pending_cr_ = false;
            return finish_line(line_buffer_.finish(input, i + 1), i + 1);
        }
        if (exceeds_line_limit(c)) {
            return fatal(FramerError::LineTooLong, i + 1);
        }
        feed(c);
    }
    line_buffer_.keep(input);
    CommandEvent event;
    event.consumed = input.size();
    return event;
}

CommandEvent CommandFramer::next_literal_chunk(std::string_view input) {
    CommandEvent event;
    if (literal_left_ > 0 && input.empty()) {
        return event;
    }
    const auto chunk = static_cast<std::size_t>(std::min<std::uint64_t>(literal_left_, input.size()));
    literal_left_ -= chunk;
    event.kind = CommandEvent::Kind::LiteralData;
    event.consumed = chunk;
    event.data = input.substr(0, chunk);
    if (literal_left_ == 0) {
        event.literal_complete = true;
        in_literal_ = false;
    }
    return event;
}

void CommandFramer::begin_line() {
    line_started_ = true;
    first_line_ = at_command_start_;
    quote_ = Quote::None;
    literal_tail_.reset();
    pending_cr_ = false;
    line_length_ = 0;
    bad_command_ = false;
    if (at_command_start_ && raw_line_expected_) {
        raw_line_expected_ = false;
        first_line_ = false;
        part_ = Part::Raw;
    } else if (at_command_start_) {
        part_ = Part::Tag;
        tag_.clear();
        name_.clear();
        bad_tag_ = false;
    } else {
        part_ = Part::Arguments;
    }
}

bool CommandFramer::exceeds_line_limit(unsigned char c) {
    ++line_length_;
    if (line_length_ <= limits_.max_line) {
        return false;
    }
    // One byte over may be the CR of the line ending, which does not count.
    return !(line_length_ == limits_.max_line + 1 && c == '\r');
}

// A CR belongs to the line ending only when LF follows; until the next byte
// shows which, it is held back.
void CommandFramer::feed(unsigned char c) {
    if (pending_cr_) {
        pending_cr_ = false;
        dispatch('\r');
    }
    if (c == '\r') {
        pending_cr_ = true;
        return;
    }
    dispatch(c);
}

void CommandFramer::dispatch(unsigned char c) {
    if (c == 0 && part_ != Part::Raw) {
        bad_command_ = true;
    }
    switch (part_) {
    case Part::Tag: feed_tag(c); break;
    case Part::Name: feed_name(c); break;
    case Part::Arguments: feed_arguments(c); break;
    case Part::Raw: break;
    }
}

void CommandFramer::feed_tag(unsigned char c) {
    if (c == ' ' && !tag_.empty()) {
        part_ = Part::Name;
    } else if (is_tag_char(c) && tag_.size() < limits_.max_tag) {
        tag_.push_back(static_cast<char>(c));
    } else {
        bad_tag_ = true;
        part_ = Part::Arguments;
        feed_arguments(c);
    }
}

void CommandFramer::feed_name(unsigned char c) {
    if (c == ' ' && !name_.empty()) {
        part_ = Part::Arguments;
    } else if (is_atom_char(c)) {
        name_.push_back(to_upper_ascii(static_cast<char>(c)));
    } else {
        bad_command_ = true;
        part_ = Part::Arguments;
        feed_arguments(c);
    }
}

// Quoted strings are followed so that "{5}" inside one is not taken for a
// literal: the backend must see the same literals as the framer does.
void CommandFramer::feed_arguments(unsigned char c) {
    switch (quote_) {
    case Quote::Open:
        if (c == '\\') {
            quote_ = Quote::Escape;
        } else if (c == '"') {
            quote_ = Quote::None;
        }
        return;
    case Quote::Escape: quote_ = Quote::Open; return;
    case Quote::None: break;
    }
    if (c == '"') {
        quote_ = Quote::Open;
        literal_tail_.interrupt(c);
    } else {
        literal_tail_.feed(c);
    }
}

CommandEvent CommandFramer::finish_line(std::string_view line, std::size_t consumed) {
    line_started_ = false;
    CommandEvent event;
    event.kind = CommandEvent::Kind::Line;
    event.consumed = consumed;
    event.data = line;

    if (part_ == Part::Raw) {
        event.line_kind = LineKind::Raw;
        event.command_complete = true;
        return event;
    }
    if (idle_in_progress_) {
        idle_in_progress_ = false;
        if (is_idle_done(line)) {
            tag_ = idle_tag_;
            name_ = "IDLE";
            event.line_kind = LineKind::IdleDone;
            event.command_complete = true;
            at_command_start_ = true;
            return event;
        }
    }

    std::optional<LiteralSpec> literal;
    FramerError error = FramerError::None;
    if (literal_tail_.announced()) {
        literal = LiteralSpec{literal_tail_.size(), !literal_tail_.non_synchronizing(), literal_tail_.binary()};
        if (literal_tail_.too_large()) {
            error = FramerError::LiteralTooLarge;
        } else if (!literal_tail_.well_formed()) {
            error = FramerError::BadLiteral;
        } else if (literal->size > limits_.max_literal) {
            error = FramerError::LiteralTooLarge;
        }
    }
    if (first_line_ && (bad_tag_ || tag_.empty())) {
        error = FramerError::BadTag;
    } else if (bad_command_ || (first_line_ && name_.empty())) {
        error = FramerError::BadCommand;
    }
    if (error != FramerError::None) {
        return line_error(error, line, consumed, literal);
    }

    event.first_line = first_line_;
    event.literal = literal;
    if (literal) {
        at_command_start_ = false;
        in_literal_ = true;
        literal_left_ = literal->size;
    } else {
        at_command_start_ = true;
        event.command_complete = true;
        if (name_ == "IDLE") {
            idle_in_progress_ = true;
            idle_tag_ = tag_;
        }
    }
    return event;
}

// The command ends here. Its line is handed back so the caller can account
// for every byte, but a bad tag is forgotten so that nobody echoes it.
CommandEvent CommandFramer::line_error(FramerError error, std::string_view line, std::size_t consumed,
                                       const std::optional<LiteralSpec>& literal) {
    if (error == FramerError::BadTag) {
        tag_.clear();
    }
    at_command_start_ = true;
    // Data of a non-synchronizing literal is on its way and cannot be told
    // apart from the next command.
    if (literal && !literal->synchronizing) {
        dead_ = true;
        fatal_error_ = error;
    }
    CommandEvent event;
    event.kind = CommandEvent::Kind::Error;
    event.consumed = consumed;
    event.data = line;
    event.first_line = first_line_;
    event.literal = literal;
    event.error = error;
    event.fatal = dead_;
    return event;
}

CommandEvent CommandFramer::fatal(FramerError error, std::size_t consumed) {
    dead_ = true;
    fatal_error_ = error;
    CommandEvent event;
    event.kind = CommandEvent::Kind::Error;
    event.consumed = consumed;
    event.error = error;
    event.fatal = true;
    return event;
}

}  // namespace imapfront::imap
