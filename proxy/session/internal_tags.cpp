#include "proxy/session/internal_tags.h"

#include <random>

namespace imapfront::session {

std::uint64_t thread_random() {
    thread_local std::mt19937_64 engine{std::random_device{}()};
    return engine();
}

InternalTags::InternalTags() {
    static constexpr char digits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
    prefix_ = "if";
    std::uint64_t bits = thread_random();
    for (int i = 0; i < 10; ++i) {
        prefix_ += digits[bits % 36];
        bits /= 36;
    }
    prefix_ += '.';
}

std::string InternalTags::next() { return prefix_ + std::to_string(++counter_); }

bool InternalTags::owns(std::string_view tag) const { return tag.starts_with(prefix_); }

}  // namespace imapfront::session
