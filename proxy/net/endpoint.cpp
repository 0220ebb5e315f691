#include "proxy/net/endpoint.h"

#include <uv.h>

#include <netinet/in.h>

namespace imapfront::net::detail {

Endpoint endpoint_from(const sockaddr* address) {
    Endpoint endpoint;
    char text[INET6_ADDRSTRLEN] = {};
    if (address->sa_family == AF_INET) {
        const auto* v4 = reinterpret_cast<const sockaddr_in*>(address);
        uv_ip4_name(v4, text, sizeof text);
        endpoint.port = ntohs(v4->sin_port);
    } else if (address->sa_family == AF_INET6) {
        const auto* v6 = reinterpret_cast<const sockaddr_in6*>(address);
        uv_ip6_name(v6, text, sizeof text);
        endpoint.port = ntohs(v6->sin6_port);
    }
    endpoint.ip = text;
    return endpoint;
}

std::string endpoint_text(const Endpoint& endpoint) {
    const bool v6 = endpoint.ip.find(':') != std::string::npos;
    return (v6 ? "[" + endpoint.ip + "]" : endpoint.ip) + ":" + std::to_string(endpoint.port);
}

}  // namespace imapfront::net::detail
