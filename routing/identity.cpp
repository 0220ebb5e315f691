#include "routing/identity.h"

#include "config/names.h"

namespace imapfront::routing {

SplitIdentity split_identity(std::string_view identity) {
    const auto at = identity.rfind('@');
    if (at == std::string_view::npos) {
        return {identity, {}};
    }
    return {identity.substr(0, at), identity.substr(at + 1)};
}

std::string identity_key(std::string_view identity) { return config::identity_key(identity); }

std::string domain_key(std::string_view domain) { return config::domain_key(domain); }

}  // namespace imapfront::routing
