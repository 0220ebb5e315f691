// The PROXY protocol (haproxy's proxy-protocol.txt, v1 text and v2 binary):
// parsing the header a load balancer puts before the client's bytes, and
// building the v2 header imapfront sends a backend. Pure: no I/O.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace imapfront::net {

struct ProxyAddresses {
    std::string source_ip;  // the real client
    std::uint16_t source_port = 0;
    std::string destination_ip;
    std::uint16_t destination_port = 0;
    bool local = false;  // v2 LOCAL / v1 UNKNOWN: keep the connection's own addresses
};

struct ProxyParse {
    enum class Status { NeedMore, Done, Invalid };
    Status status = Status::NeedMore;
    std::size_t consumed = 0;  // Done: header length; the client's bytes follow
    ProxyAddresses addresses;  // Done
    std::string error;         // Invalid: why
};

// Parses a v1 or v2 header at the start of `input` (which may be incomplete).
// Anything that is not a well-formed header is Invalid; a v1 line is at most
// 107 bytes, a v2 header at most 16 + 65535.
ProxyParse parse_proxy_header(std::string_view input);

// A v2 PROXY header (TCP over IPv4 or IPv6) announcing source -> destination.
// Returns nullopt when an address is not a valid IP literal.
std::optional<std::string> build_proxy_v2(const std::string& source_ip, std::uint16_t source_port,
                                          const std::string& destination_ip, std::uint16_t destination_port);

// A v2 LOCAL header: the connection is the sender's own (a health check),
// no client address to announce.
std::string build_proxy_v2_local();

// True when `ip` lies in one of the CIDR blocks ("10.0.0.0/8", "::1/128", or a bare address).
bool address_in_networks(const std::string& ip, const std::vector<std::string>& networks);

}  // namespace imapfront::net
