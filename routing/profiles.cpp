#include "routing/profiles.h"

#include "routing/identity.h"
#include "routing/route.h"

namespace imapfront::routing {

namespace {

// Profiles are keyed under the canonical vhost name; a name written with an
// alias domain must find the same profile.
std::string canonical_key(const config::Config& config, std::string_view identity) {
    const SplitIdentity split = split_identity(identity);
    if (const config::Vhost* vhost = split.domain.empty() ? nullptr : find_vhost(config, split.domain)) {
        return identity_key(std::string(split.local) + "@" + vhost->name);
    }
    return identity_key(identity);
}

}  // namespace

std::vector<std::string> authenticated_identities(const config::Config& config, std::string_view identity) {
    const auto profile = config.profile_of.find(canonical_key(config, identity));
    if (profile == config.profile_of.end()) {
        return {std::string(identity)};
    }
    return config.profiles.at(profile->second).members;
}

std::string find_authenticated(const std::vector<std::string>& authenticated, std::string_view candidate) {
    const std::string key = identity_key(candidate);
    for (const std::string& identity : authenticated) {
        if (identity_key(identity) == key) {
            return identity;
        }
    }
    return {};
}

}  // namespace imapfront::routing
