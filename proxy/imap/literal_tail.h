// LiteralTail: watches the bytes of a line, one at a time, and knows whether
// the line so far ends with a literal announcement: "{n}", "{n+}", optionally
// preceded by "~" (RFC 3516 binary). Both framers use it, so client and
// server lines agree on what announces a literal.
#pragma once

#include <cstdint>

namespace imapfront::imap {

class LiteralTail {
public:
    // A count longer than this is refused before any arithmetic: 20 digits
    // hold every uint64 value, and nothing legitimate needs leading zeros.
    static constexpr unsigned max_digits = 20;

    void reset();
    // Feeds one byte that lies outside a quoted string.
    void feed(unsigned char c);
    // Feeds a byte that ends any announcement in progress (e.g. a DQUOTE
    // opening a quoted string).
    void interrupt(unsigned char c);

    // The bytes fed so far end with "{...}": the line announces a literal
    // if it ends here, well-formed or not.
    bool announced() const { return state_ == State::Closed; }
    // "{" 1*DIGIT ["+"] "}" with the count in range of a uint64.
    bool well_formed() const { return announced() && !malformed_ && digits_ > 0 && !too_large_; }
    // The count has more than max_digits digits or does not fit a uint64.
    bool too_large() const { return too_large_; }
    // A "+" stood before "}": the sender will not wait for a continuation.
    bool non_synchronizing() const { return plus_; }
    bool binary() const { return binary_; }
    // The announced count; UINT64_MAX when too_large().
    std::uint64_t size() const { return size_; }

private:
    enum class State { None, Open, Closed };

    void open();

    State state_ = State::None;
    unsigned char previous_ = 0;
    bool binary_ = false;
    bool plus_ = false;
    bool malformed_ = false;
    bool too_large_ = false;
    unsigned digits_ = 0;
    std::uint64_t size_ = 0;
};

}  // namespace imapfront::imap
