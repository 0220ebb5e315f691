#include "config/values.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstdint>
#include <limits>

namespace imapfront::config {

namespace {

std::optional<unsigned long long> parse_digits(std::string_view text) {
    if (text.empty() || text.front() < '0' || text.front() > '9') {
        return std::nullopt;
    }
    unsigned long long value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end != text.data() + text.size()) {
        return std::nullopt;
    }
    return value;
}

bool is_ipv4(const std::string& text) {
    in_addr address{};
    return inet_pton(AF_INET, text.c_str(), &address) == 1;
}

bool is_ipv6(const std::string& text) {
    in6_addr address{};
    return inet_pton(AF_INET6, text.c_str(), &address) == 1;
}

// RFC 1123 host name: labels of letters, digits and hyphens (underscore is
// tolerated because service discovery names use it), separated by dots.
bool is_host_name(std::string_view text) {
    if (text.empty() || text.size() > 253) {
        return false;
    }
    std::size_t label_length = 0;
    for (const char c : text) {
        if (c == '.') {
            if (label_length == 0) {
                return false;
            }
            label_length = 0;
            continue;
        }
        const bool allowed =
            (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
        if (!allowed || ++label_length > 63) {
            return false;
        }
    }
    return true;
}

}  // namespace

Parsed<Duration> parse_duration(std::string_view text) {
    const auto unit_start = text.find_first_not_of("0123456789");
    const std::string_view digits = text.substr(0, unit_start);
    const std::string_view unit = unit_start == std::string_view::npos ? std::string_view{} : text.substr(unit_start);
    const auto number = parse_digits(digits);
    if (!number) {
        return {std::nullopt, "expected a duration such as 250ms, 5s, 30m or 1h"};
    }
    unsigned long long per_unit = 0;
    if (unit == "ms") {
        per_unit = 1;
    } else if (unit == "s") {
        per_unit = 1000;
    } else if (unit == "m") {
        per_unit = 60'000;
    } else if (unit == "h") {
        per_unit = 3'600'000;
    } else {
        return {std::nullopt, "expected a duration with a unit of ms, s, m or h (such as 5s)"};
    }
    // A week is far beyond any sensible timeout and keeps the arithmetic safe.
    constexpr unsigned long long max_ms = 7ULL * 24 * 3'600'000;
    if (*number > max_ms / per_unit) {
        return {std::nullopt, "duration too long (at most 168h)"};
    }
    return {Duration{static_cast<Duration::rep>(*number * per_unit)}, {}};
}

Parsed<Address> parse_address(std::string_view text, bool allow_port_zero) {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) {
        return {std::nullopt, "expected host:port or [ipv6]:port"};
    }
    std::string_view host = text.substr(0, colon);
    const std::string_view port_text = text.substr(colon + 1);
    Address address;
    if (!host.empty() && host.front() == '[') {
        if (host.size() < 2 || host.back() != ']') {
            return {std::nullopt, "expected [ipv6]:port"};
        }
        address.host = std::string(host.substr(1, host.size() - 2));
        if (!is_ipv6(address.host)) {
            return {std::nullopt, "expected an IPv6 address inside [ ]"};
        }
    } else {
        address.host = std::string(host);
        if (host.find(':') != std::string_view::npos) {
            return {std::nullopt, "an IPv6 address needs brackets: [ipv6]:port"};
        }
        if (!is_ipv4(address.host) && !is_host_name(host)) {
            return {std::nullopt, "expected a host name or IP address before ':port'"};
        }
    }
    const auto port = parse_digits(port_text);
    const unsigned long long min_port = allow_port_zero ? 0 : 1;
    if (!port || *port < min_port || *port > 65535) {
        return {std::nullopt,
                allow_port_zero ? "expected a port number from 0 to 65535" : "expected a port number from 1 to 65535"};
    }
    address.port = static_cast<std::uint16_t>(*port);
    return {address, {}};
}

Parsed<std::string> parse_cidr(std::string_view text) {
    const auto slash = text.find('/');
    const std::string address(text.substr(0, slash));
    int max_prefix = 0;
    if (is_ipv4(address)) {
        max_prefix = 32;
    } else if (is_ipv6(address)) {
        max_prefix = 128;
    } else {
        return {std::nullopt, "expected a network such as 10.0.0.0/8 or 2001:db8::/32"};
    }
    if (slash != std::string_view::npos) {
        const auto prefix = parse_digits(text.substr(slash + 1));
        if (!prefix || *prefix > static_cast<unsigned long long>(max_prefix)) {
            return {std::nullopt, "expected a prefix length from 0 to " + std::to_string(max_prefix)};
        }
    }
    return {std::string(text), {}};
}

Parsed<unsigned long long> parse_count(std::string_view text, unsigned long long min, unsigned long long max) {
    const auto number = parse_digits(text);
    if (!number || *number < min || *number > max) {
        return {std::nullopt, "expected a whole number from " + std::to_string(min) + " to " + std::to_string(max)};
    }
    return {number, {}};
}

}  // namespace imapfront::config
