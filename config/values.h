// Parsers for the scalar value types of the routing YAML. Pure string work,
// no YAML: the loader adds positions, tests call these directly.
#pragma once

#include "config/config.h"

#include <optional>
#include <string>
#include <string_view>

namespace imapfront::config {

// A parsed value, or the reason it was refused (never containing the input,
// so callers decide whether the input may be echoed).
template <typename T>
struct Parsed {
    std::optional<T> value;
    std::string problem;
};

// "250ms", "5s", "30m", "1h": a non-negative integer and one unit.
Parsed<Duration> parse_duration(std::string_view text);

// "host:port" or "[v6]:port". Port 0 only when `allow_port_zero`
// (a listener may ask the OS for a free port).
Parsed<Address> parse_address(std::string_view text, bool allow_port_zero);

// "10.0.0.0/8", "2001:db8::/32", or a single address.
Parsed<std::string> parse_cidr(std::string_view text);

// A whole number in [min, max], decimal digits only.
Parsed<unsigned long long> parse_count(std::string_view text, unsigned long long min, unsigned long long max);

}  // namespace imapfront::config
