// Turns OpenSSL's thread-local error queue into text for messages.
#pragma once

#include <string>

namespace imapfront::net::detail {

// The reason of the earliest queued error (the root cause), or `fallback`
// when the queue is empty. Clears the queue either way.
std::string take_openssl_error(const std::string& fallback = "unknown error");

}  // namespace imapfront::net::detail
