#include "proxy/net/tls_names.h"

namespace imapfront::net::detail {

std::string lower_ascii(std::string_view text) {
    std::string lowered(text);
    for (char& c : lowered) {
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    }
    return lowered;
}

bool dns_name_matches(std::string_view pattern, std::string_view name) {
    const std::string p = lower_ascii(pattern);
    const std::string n = lower_ascii(name);
    if (p.empty() || n.empty()) return false;
    if (!p.starts_with("*.")) return p == n;
    const std::string_view suffix = std::string_view(p).substr(1);  // ".x"
    if (n.size() <= suffix.size() || !n.ends_with(suffix)) return false;
    const std::string_view label = std::string_view(n).substr(0, n.size() - suffix.size());
    return label.find('.') == std::string_view::npos;
}

}  // namespace imapfront::net::detail
