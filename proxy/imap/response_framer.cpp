#include "proxy/imap/response_framer.h"

#include "proxy/imap/chars.h"

#include <algorithm>
#include <array>

namespace imapfront::imap {

namespace {

// The longest status word is PREAUTH; a longer word is no status.
constexpr std::size_t max_status_word = 7;

bool is_status_word(std::string_view word) {
    constexpr std::array<std::string_view, 5> statuses{"OK", "NO", "BAD", "BYE", "PREAUTH"};
    return std::find(statuses.begin(), statuses.end(), word) != statuses.end();
}

}  // namespace

ResponseFramer::ResponseFramer(Limits limits) : limits_(limits) {}

ResponseType ResponseFramer::type() const { return type_; }

std::string_view ResponseFramer::tag() const { return tag_; }

std::string_view ResponseFramer::status() const { return is_status_ ? std::string_view(word_) : std::string_view(); }

ResponseEvent ResponseFramer::next(std::string_view input) {
    line_buffer_.release();
    if (dead_) {
        return fatal(0);
    }
    if (in_literal_) {
        return next_literal_chunk(input);
    }
    for (std::size_t i = 0; i < input.size(); ++i) {
        const auto c = static_cast<unsigned char>(input[i]);
        if (!line_started_) {
            begin_line();
        }
        // Bare LF is taken as a line end, as clients of such servers do.
        if (c == '\n') {
            pending_cr_ = false;
            return finish_line(line_buffer_.finish(input, i + 1), i + 1);
        }
        if (exceeds_line_limit(c)) {
            return fatal(i + 1);
        }
        feed(c);
    }
    line_buffer_.keep(input);
    ResponseEvent event;
    event.consumed = input.size();
    return event;
}

ResponseEvent ResponseFramer::next_literal_chunk(std::string_view input) {
    ResponseEvent event;
    if (literal_left_ > 0 && input.empty()) {
        return event;
    }
    const auto chunk = static_cast<std::size_t>(std::min<std::uint64_t>(literal_left_, input.size()));
    literal_left_ -= chunk;
    event.kind = ResponseEvent::Kind::LiteralData;
    event.consumed = chunk;
    event.data = input.substr(0, chunk);
    if (literal_left_ == 0) {
        event.literal_complete = true;
        in_literal_ = false;
    }
    return event;
}

void ResponseFramer::begin_line() {
    line_started_ = true;
    first_line_ = at_response_start_;
    quote_ = Quote::None;
    literal_tail_.reset();
    pending_cr_ = false;
    line_length_ = 0;
    if (at_response_start_) {
        part_ = Part::Start;
        type_ = ResponseType::Untagged;
        tag_.clear();
        word_.clear();
        is_status_ = false;
        open_brackets_ = 0;
    } else {
        part_ = Part::Text;
    }
}

bool ResponseFramer::exceeds_line_limit(unsigned char c) {
    ++line_length_;
    if (line_length_ <= limits_.max_response_line) {
        return false;
    }
    return !(line_length_ == limits_.max_response_line + 1 && c == '\r');
}

void ResponseFramer::feed(unsigned char c) {
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

void ResponseFramer::dispatch(unsigned char c) {
    switch (part_) {
    case Part::Start:
        if (c == '*') {
            part_ = Part::Star;
        } else if (c == '+') {
            type_ = ResponseType::Continuation;
            part_ = Part::Text;
        } else {
            type_ = ResponseType::Tagged;
            part_ = Part::Tag;
            tag_.push_back(static_cast<char>(c));
        }
        return;
    case Part::Star: part_ = c == ' ' ? Part::Word : Part::Text; return;
    case Part::Tag:
        if (c == ' ') {
            part_ = Part::Word;
        } else {
            tag_.push_back(static_cast<char>(c));
        }
        return;
    case Part::Word:
        if (c == ' ') {
            end_word();
            part_ = Part::Text;
            return;
        }
        if (word_.size() <= max_status_word) {
            word_.push_back(to_upper_ascii(static_cast<char>(c)));
        }
        feed_text(c);
        return;
    case Part::Text: feed_text(c); return;
    }
}

void ResponseFramer::end_word() { is_status_ = is_status_word(word_); }

// Quoted strings are followed so that a "{5}" inside one is not taken for a
// literal; brackets so that a status line's literal is recognised only inside
// its response code (e.g. BADCHARSET astrings), never in its free text.
void ResponseFramer::feed_text(unsigned char c) {
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
        return;
    }
    if (c == '[') {
        ++open_brackets_;
    } else if (c == ']' && open_brackets_ > 0) {
        --open_brackets_;
    }
    literal_tail_.feed(c);
}

ResponseEvent ResponseFramer::finish_line(std::string_view line, std::size_t consumed) {
    line_started_ = false;
    if (part_ == Part::Word) {
        end_word();
    }
    ResponseEvent event;
    event.kind = ResponseEvent::Kind::Line;
    event.consumed = consumed;
    event.data = line;
    event.first_line = first_line_;
    event.type = type_;
    event.tag = tag();
    event.status = status();

    // A continuation request is free text (often base64); a status line's
    // text outside its response code is free text too.
    const bool may_announce = type_ != ResponseType::Continuation && (!is_status_ || open_brackets_ > 0) &&
                              literal_tail_.announced() && !literal_tail_.non_synchronizing();
    if (may_announce && literal_tail_.too_large()) {
        return fatal(consumed);
    }
    if (may_announce && literal_tail_.well_formed()) {
        event.literal = literal_tail_.size();
        at_response_start_ = false;
        in_literal_ = true;
        literal_left_ = literal_tail_.size();
    } else {
        at_response_start_ = true;
        event.response_complete = true;
    }
    return event;
}

// A line over the limit or an uncountable literal: the stream cannot be
// framed any further, the connection must go.
ResponseEvent ResponseFramer::fatal(std::size_t consumed) {
    dead_ = true;
    ResponseEvent event;
    event.kind = ResponseEvent::Kind::Error;
    event.consumed = consumed;
    return event;
}

}  // namespace imapfront::imap
