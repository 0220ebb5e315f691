// Socket address <-> Endpoint conversions for IPv4 and IPv6.
#pragma once

#include "proxy/net/stream.h"

#include <sys/socket.h>

#include <string>

namespace imapfront::net::detail {

Endpoint endpoint_from(const sockaddr* address);
// "127.0.0.1:143" or "[::1]:143", for error messages.
std::string endpoint_text(const Endpoint& endpoint);

}  // namespace imapfront::net::detail
