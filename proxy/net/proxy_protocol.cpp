// PROXY protocol as haproxy's proxy-protocol.txt specifies it. Incomplete
// input is NeedMore only while it can still become a valid header, so a
// client speaking IMAP straight at a PROXY listener is refused at once.
#include "proxy/net/proxy_protocol.h"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cstring>

namespace imapfront::net {

namespace {

constexpr std::string_view kV2Signature{"\r\n\r\n\0\r\nQUIT\n", 12};
constexpr std::size_t kV2FixedLength = 16;  // signature, version/command, family, length
constexpr std::size_t kV2Ipv4Length = 12;   // two 4-byte addresses, two ports
constexpr std::size_t kV2Ipv6Length = 36;   // two 16-byte addresses, two ports
constexpr unsigned kV2Version = 0x2;
constexpr unsigned kV2CommandLocal = 0x0;
constexpr unsigned kV2CommandProxy = 0x1;
constexpr unsigned kV2Unspecified = 0x00;
constexpr unsigned kV2TcpOverIpv4 = 0x11;
constexpr unsigned kV2TcpOverIpv6 = 0x21;

constexpr std::string_view kV1Prefix = "PROXY ";
constexpr std::size_t kV1MaxLine = 107;  // including CRLF

// An IP address in network byte order; `size` is 4 or 16.
struct IpBytes {
    int family = AF_UNSPEC;
    std::array<std::uint8_t, 16> bytes{};
    std::size_t size = 0;
};

ProxyParse need_more() { return {}; }

ProxyParse invalid(std::string why) {
    ProxyParse result;
    result.status = ProxyParse::Status::Invalid;
    result.error = std::move(why);
    return result;
}

ProxyParse done(std::size_t consumed, ProxyAddresses addresses) {
    ProxyParse result;
    result.status = ProxyParse::Status::Done;
    result.consumed = consumed;
    result.addresses = std::move(addresses);
    return result;
}

// True when `input` is a prefix of `expected` or starts with all of it.
bool matches_so_far(std::string_view input, std::string_view expected) {
    const std::size_t n = std::min(input.size(), expected.size());
    return input.substr(0, n) == expected.substr(0, n);
}

std::uint8_t byte_at(std::string_view input, std::size_t index) { return static_cast<std::uint8_t>(input[index]); }

std::uint16_t big_endian16(std::string_view input, std::size_t index) {
    return static_cast<std::uint16_t>(byte_at(input, index) << 8 | byte_at(input, index + 1));
}

std::optional<IpBytes> parse_ip(std::string_view text, int family) {
    const std::string terminated(text);
    IpBytes ip;
    ip.family = family;
    ip.size = family == AF_INET ? 4 : 16;
    if (text.find('\0') != std::string_view::npos || inet_pton(family, terminated.c_str(), ip.bytes.data()) != 1) {
        return std::nullopt;
    }
    return ip;
}

std::optional<IpBytes> parse_any_ip(std::string_view text) {
    if (auto v4 = parse_ip(text, AF_INET)) {
        return v4;
    }
    return parse_ip(text, AF_INET6);
}

std::string ip_text(int family, const std::uint8_t* bytes) {
    char text[INET6_ADDRSTRLEN] = {};
    inet_ntop(family, bytes, text, sizeof text);
    return text;
}

// The spec's port: decimal 0..65535 without leading zeroes (no octal confusion).
std::optional<std::uint16_t> parse_port(std::string_view text) {
    if (text.empty() || text.size() > 5 || (text.size() > 1 && text[0] == '0')) {
        return std::nullopt;
    }
    unsigned value = 0;
    for (char c : text) {
        if (c < '0' || c > '9') {
            return std::nullopt;
        }
        value = value * 10 + static_cast<unsigned>(c - '0');
    }
    if (value > 65535) {
        return std::nullopt;
    }
    return static_cast<std::uint16_t>(value);
}

// Splits at single spaces; an empty field (two spaces in a row) stays empty.
std::vector<std::string_view> fields_of(std::string_view line) {
    std::vector<std::string_view> fields;
    for (;;) {
        const auto space = line.find(' ');
        fields.push_back(line.substr(0, space));
        if (space == std::string_view::npos) {
            return fields;
        }
        line.remove_prefix(space + 1);
    }
}

// `line` is the v1 header without its CRLF.
ProxyParse parse_v1_line(std::string_view line, std::size_t consumed) {
    line.remove_prefix(kV1Prefix.size());
    const auto fields = fields_of(line);
    if (fields[0] == "UNKNOWN") {
        // The sender could not tell the addresses; whatever follows is ignored.
        ProxyAddresses addresses;
        addresses.local = true;
        return done(consumed, addresses);
    }
    int family = AF_UNSPEC;
    if (fields[0] == "TCP4") {
        family = AF_INET;
    } else if (fields[0] == "TCP6") {
        family = AF_INET6;
    } else {
        return invalid("PROXY v1: unknown protocol, expected TCP4, TCP6 or UNKNOWN");
    }
    if (fields.size() != 5) {
        return invalid("PROXY v1: expected source, destination, source port and destination port");
    }
    const auto source = parse_ip(fields[1], family);
    const auto destination = parse_ip(fields[2], family);
    if (!source || !destination) {
        return invalid(std::string("PROXY v1: invalid ") + (family == AF_INET ? "IPv4" : "IPv6") + " address");
    }
    const auto source_port = parse_port(fields[3]);
    const auto destination_port = parse_port(fields[4]);
    if (!source_port || !destination_port) {
        return invalid("PROXY v1: port is not a decimal number in 0..65535");
    }
    ProxyAddresses addresses;
    addresses.source_ip = ip_text(family, source->bytes.data());
    addresses.source_port = *source_port;
    addresses.destination_ip = ip_text(family, destination->bytes.data());
    addresses.destination_port = *destination_port;
    return done(consumed, addresses);
}

ProxyParse parse_v1(std::string_view input) {
    const auto window = input.substr(0, kV1MaxLine);
    const auto newline = window.find('\n');
    if (newline == std::string_view::npos) {
        if (input.size() >= kV1MaxLine) {
            return invalid("PROXY v1: line longer than 107 bytes");
        }
        return need_more();
    }
    if (newline == 0 || window[newline - 1] != '\r') {
        return invalid("PROXY v1: line not ended by CRLF");
    }
    return parse_v1_line(window.substr(0, newline - 1), newline + 1);
}

ProxyAddresses v2_addresses(std::string_view block, int family, std::size_t address_size) {
    const auto* bytes = reinterpret_cast<const std::uint8_t*>(block.data());
    ProxyAddresses addresses;
    addresses.source_ip = ip_text(family, bytes);
    addresses.destination_ip = ip_text(family, bytes + address_size);
    addresses.source_port = big_endian16(block, 2 * address_size);
    addresses.destination_port = big_endian16(block, 2 * address_size + 2);
    return addresses;
}

ProxyParse parse_v2(std::string_view input) {
    if (input.size() > kV2Signature.size()) {
        const unsigned version_command = byte_at(input, 12);
        if (version_command >> 4 != kV2Version) {
            return invalid("PROXY v2: unsupported version");
        }
        const unsigned command = version_command & 0x0f;
        if (command != kV2CommandLocal && command != kV2CommandProxy) {
            return invalid("PROXY v2: unknown command");
        }
    }
    if (input.size() < kV2FixedLength) {
        return need_more();
    }
    const std::size_t consumed = kV2FixedLength + big_endian16(input, 14);
    if (input.size() < consumed) {
        return need_more();
    }
    // What follows the addresses are TLVs (ALPN, authority, SSL...): none
    // changes where the client is, so they are skipped with the rest.
    const std::string_view block = input.substr(kV2FixedLength, consumed - kV2FixedLength);
    const unsigned command = byte_at(input, 12) & 0x0f;
    const unsigned family = byte_at(input, 13);
    ProxyAddresses addresses;
    addresses.local = true;
    // LOCAL (health checks from the proxy itself) and UNSPEC carry no client:
    // the spec says to use the connection's own addresses.
    if (command == kV2CommandLocal || family == kV2Unspecified) {
        return done(consumed, addresses);
    }
    if (family == kV2TcpOverIpv4) {
        if (block.size() < kV2Ipv4Length) {
            return invalid("PROXY v2: address block too short for TCP over IPv4");
        }
        return done(consumed, v2_addresses(block, AF_INET, 4));
    }
    if (family == kV2TcpOverIpv6) {
        if (block.size() < kV2Ipv6Length) {
            return invalid("PROXY v2: address block too short for TCP over IPv6");
        }
        return done(consumed, v2_addresses(block, AF_INET6, 16));
    }
    return invalid("PROXY v2: unsupported address family or transport (only TCP over IPv4/IPv6)");
}

void append_big_endian16(std::string& out, std::uint16_t value) {
    out.push_back(static_cast<char>(value >> 8));
    out.push_back(static_cast<char>(value & 0xff));
}

void append_bytes(std::string& out, const IpBytes& ip) {
    out.append(reinterpret_cast<const char*>(ip.bytes.data()), ip.size);
}

// ::ffff:a.b.c.d, the form a dual-stack socket reports an IPv4 peer in.
IpBytes mapped_to_ipv6(const IpBytes& v4) {
    IpBytes v6;
    v6.family = AF_INET6;
    v6.size = 16;
    v6.bytes[10] = 0xff;
    v6.bytes[11] = 0xff;
    std::memcpy(v6.bytes.data() + 12, v4.bytes.data(), 4);
    return v6;
}

std::optional<IpBytes> unmapped_ipv4(const IpBytes& v6) {
    constexpr std::array<std::uint8_t, 12> kMappedPrefix{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (v6.family != AF_INET6 || std::memcmp(v6.bytes.data(), kMappedPrefix.data(), kMappedPrefix.size()) != 0) {
        return std::nullopt;
    }
    IpBytes v4;
    v4.family = AF_INET;
    v4.size = 4;
    std::memcpy(v4.bytes.data(), v6.bytes.data() + 12, 4);
    return v4;
}

std::optional<unsigned> parse_prefix_length(std::string_view text) {
    if (text.empty() || text.size() > 3) {
        return std::nullopt;
    }
    unsigned value = 0;
    for (char c : text) {
        if (c < '0' || c > '9') {
            return std::nullopt;
        }
        value = value * 10 + static_cast<unsigned>(c - '0');
    }
    return value;
}

bool same_leading_bits(const IpBytes& a, const IpBytes& b, unsigned bits) {
    const std::size_t whole = bits / 8;
    if (std::memcmp(a.bytes.data(), b.bytes.data(), whole) != 0) {
        return false;
    }
    const unsigned rest = bits % 8;
    if (rest == 0) {
        return true;
    }
    const auto mask = static_cast<std::uint8_t>(0xff << (8 - rest));
    return ((a.bytes[whole] ^ b.bytes[whole]) & mask) == 0;
}

bool in_network(const IpBytes& ip, std::string_view network) {
    const auto slash = network.find('/');
    const auto base = parse_any_ip(network.substr(0, slash));
    if (!base) {
        return false;
    }
    const unsigned max_bits = static_cast<unsigned>(base->size * 8);
    unsigned bits = max_bits;
    if (slash != std::string_view::npos) {
        const auto prefix = parse_prefix_length(network.substr(slash + 1));
        if (!prefix || *prefix > max_bits) {
            return false;
        }
        bits = *prefix;
    }
    // A dual-stack listener reports IPv4 clients as ::ffff:a.b.c.d; either
    // spelling matches either kind of network.
    IpBytes candidate = ip;
    if (base->family == AF_INET && ip.family == AF_INET6) {
        const auto v4 = unmapped_ipv4(ip);
        if (!v4) {
            return false;
        }
        candidate = *v4;
    } else if (base->family == AF_INET6 && ip.family == AF_INET) {
        candidate = mapped_to_ipv6(ip);
    }
    return same_leading_bits(candidate, *base, bits);
}

}  // namespace

ProxyParse parse_proxy_header(std::string_view input) {
    if (input.empty()) {
        return need_more();
    }
    if (matches_so_far(input, kV2Signature)) {
        return parse_v2(input);
    }
    if (matches_so_far(input, kV1Prefix)) {
        return input.size() <= kV1Prefix.size() ? need_more() : parse_v1(input);
    }
    return invalid("not a PROXY protocol header");
}

std::optional<std::string> build_proxy_v2(const std::string& source_ip, std::uint16_t source_port,
                                          const std::string& destination_ip, std::uint16_t destination_port) {
    auto source = parse_any_ip(source_ip);
    auto destination = parse_any_ip(destination_ip);
    if (!source || !destination) {
        return std::nullopt;
    }
    // Both ends must share a family; an IPv4 one beside an IPv6 one travels mapped.
    if (source->family != destination->family) {
        if (source->family == AF_INET) {
            source = mapped_to_ipv6(*source);
        } else {
            destination = mapped_to_ipv6(*destination);
        }
    }
    const bool v4 = source->family == AF_INET;
    std::string header(kV2Signature);
    header.push_back(static_cast<char>(kV2Version << 4 | kV2CommandProxy));
    header.push_back(static_cast<char>(v4 ? kV2TcpOverIpv4 : kV2TcpOverIpv6));
    append_big_endian16(header, static_cast<std::uint16_t>(v4 ? kV2Ipv4Length : kV2Ipv6Length));
    append_bytes(header, *source);
    append_bytes(header, *destination);
    append_big_endian16(header, source_port);
    append_big_endian16(header, destination_port);
    return header;
}

std::string build_proxy_v2_local() {
    std::string header(kV2Signature);
    header.push_back(static_cast<char>(kV2Version << 4 | kV2CommandLocal));
    header.push_back(static_cast<char>(kV2Unspecified));
    append_big_endian16(header, 0);
    return header;
}

bool address_in_networks(const std::string& ip, const std::vector<std::string>& networks) {
    const auto address = parse_any_ip(ip);
    if (!address) {
        return false;
    }
    for (const auto& network : networks) {
        if (in_network(*address, network)) {
            return true;
        }
    }
    return false;
}

}  // namespace imapfront::net
