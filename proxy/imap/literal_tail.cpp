#include "proxy/imap/literal_tail.h"

#include "proxy/imap/chars.h"

#include <limits>

namespace imapfront::imap {

void LiteralTail::reset() { *this = LiteralTail{}; }

void LiteralTail::open() {
    state_ = State::Open;
    binary_ = previous_ == '~';
    plus_ = false;
    malformed_ = false;
    too_large_ = false;
    digits_ = 0;
    size_ = 0;
}

void LiteralTail::interrupt(unsigned char c) {
    state_ = State::None;
    previous_ = c;
}

void LiteralTail::feed(unsigned char c) {
    switch (state_) {
    case State::Open:
        if (c == '}') {
            state_ = State::Closed;
        } else if (c == '{') {
            open();
        } else if (is_digit(c) && !plus_) {
            ++digits_;
            const auto digit = static_cast<std::uint64_t>(c - '0');
            constexpr auto max = std::numeric_limits<std::uint64_t>::max();
            if (digits_ > max_digits || size_ > (max - digit) / 10) {
                too_large_ = true;
                size_ = max;
            } else if (!too_large_) {
                size_ = size_ * 10 + digit;
            }
        } else if (c == '+' && !plus_) {
            plus_ = true;
        } else {
            // Stay open: "{12x}" at the end of a line is still an announcement
            // the sender meant, and must be refused rather than forwarded.
            malformed_ = true;
        }
        break;
    case State::None:
    case State::Closed:
        if (c == '{') {
            open();
        } else {
            state_ = State::None;
        }
        break;
    }
    previous_ = c;
}

}  // namespace imapfront::imap
