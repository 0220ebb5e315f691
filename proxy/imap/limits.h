// Grammar limits of the IMAP wire code. One place names them all, so the
// framers, the session and the docs agree on what "too long" means.
#pragma once

#include <cstddef>
#include <cstdint>

namespace imapfront::imap {

struct Limits {
    std::size_t max_line = 65536;  // a client command line, literals excluded
    std::size_t max_tag = 64;
    std::uint64_t max_literal = 256ull * 1024 * 1024;   // one literal after login (APPEND)
    std::size_t max_response_line = 16u * 1024 * 1024;  // a backend line, literals excluded
};

// Before login the client can only log in: keep everything small.
constexpr Limits preauth_limits() {
    Limits limits;
    limits.max_line = 8192;
    limits.max_literal = 8192;
    return limits;
}

}  // namespace imapfront::imap
