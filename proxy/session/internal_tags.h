// Tags of the commands imapfront sends a backend on its own behalf. Their
// answers never reach the client. Every prefix is defined here, once.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace imapfront::session {

// BackendLogin's steps, sent before any client command reaches the link.
inline constexpr std::string_view login_tag_prefix = "ifl";
// The LOGOUT a link sends as it closes; nothing reads its answer.
inline constexpr std::string_view internal_logout = "ifq LOGOUT\r\n";

// A random number from a generator of the calling thread's own (sessions of
// different data-plane threads never share one).
std::uint64_t thread_random();

// The tags of one session's internal commands (deselect, replays, keepalive
// NOOPs): a random prefix per session, so a client cannot choose tags that
// collide with them, and a counter.
class InternalTags {
public:
    InternalTags();
    std::string next();
    bool owns(std::string_view tag) const;

private:
    // Spelt out when needed (rarely), so that an idle session keeps 12 bytes.
    std::string prefix() const;

    std::uint64_t prefix_bits_;
    std::uint32_t counter_ = 0;
};

}  // namespace imapfront::session
