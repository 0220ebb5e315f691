#include "config/names.h"

namespace imapfront::config {

namespace {

std::string ascii_lower(std::string_view text) {
    std::string lowered(text);
    for (char& c : lowered) {
        if (c >= 'A' && c <= 'Z') {
            c = static_cast<char>(c - 'A' + 'a');
        }
    }
    return lowered;
}

}  // namespace

std::string domain_key(std::string_view domain) {
    if (!domain.empty() && domain.back() == '.') {
        domain.remove_suffix(1);
    }
    return ascii_lower(domain);
}

std::string identity_key(std::string_view identity) {
    const auto at = identity.rfind('@');
    if (at == std::string_view::npos) {
        return ascii_lower(identity);
    }
    return ascii_lower(identity.substr(0, at)) + "@" + domain_key(identity.substr(at + 1));
}

}  // namespace imapfront::config
