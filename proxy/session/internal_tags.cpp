#include "proxy/session/internal_tags.h"

#include <random>

namespace imapfront::session {

std::uint64_t thread_random() {
    thread_local std::mt19937_64 engine{std::random_device{}()};
    return engine();
}

InternalTags::InternalTags() : prefix_bits_(thread_random()) {}

std::string InternalTags::prefix() const {
    static constexpr char digits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
    std::string prefix = "if";
    std::uint64_t bits = prefix_bits_;
    for (int i = 0; i < 10; ++i) {
        prefix += digits[bits % 36];
        bits /= 36;
    }
    prefix += '.';
    return prefix;
}

std::string InternalTags::next() { return prefix() + std::to_string(++counter_); }

bool InternalTags::owns(std::string_view tag) const { return tag.starts_with(prefix()); }

}  // namespace imapfront::session
