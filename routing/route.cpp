#include "routing/route.h"

#include "routing/identity.h"

namespace imapfront::routing {

namespace {

const config::Pool* find_pool(const config::Config& config, const std::string& name) {
    const auto it = config.pools.find(name);
    return it == config.pools.end() ? nullptr : &it->second;
}

Route failed(RouteError error) {
    Route route;
    route.error = error;
    return route;
}

// Shared tail of every route: the identity in its vhost, then the account
// override, the vhost's status and the pool's server choice.
Route route_in_vhost(const config::Config& config, const config::Vhost& vhost, std::string_view local,
                     const IsUp& is_up) {
    Route route;
    route.vhost = &vhost;
    route.identity = std::string(local) + "@" + vhost.name;
    route.key = identity_key(route.identity);
    route.backend_user = vhost.username == config::UsernameForm::Full ? route.identity : std::string(local);
    const auto account = config.accounts.find(route.key);
    route.pool = find_pool(config, account != config.accounts.end() ? account->second.pool : vhost.pool);
    if (vhost.status == config::VhostStatus::Maintenance) {
        route.error = RouteError::Maintenance;
        return route;
    }
    route.server = route.pool == nullptr ? nullptr : choose_server(config, *route.pool, route.key, is_up);
    if (route.server == nullptr) {
        route.error = RouteError::NoServer;
    }
    return route;
}

// The vhost of a bare login name when no VHOST command was given.
const config::Vhost* implicit_vhost(const config::Config& config, const VhostSources& sources, RouteError& error) {
    if (!sources.sni.empty()) {
        if (const config::Vhost* vhost = find_vhost(config, sources.sni)) {
            return vhost;
        }
    }
    if (sources.listener_default.empty()) {
        error = RouteError::NoDomain;
        return nullptr;
    }
    const config::Vhost* vhost = find_vhost(config, sources.listener_default);
    if (vhost == nullptr) {
        error = RouteError::UnknownDomain;
    }
    return vhost;
}

}  // namespace

const config::Vhost* find_vhost(const config::Config& config, std::string_view name_or_alias) {
    std::string key = domain_key(name_or_alias);
    if (const auto alias = config.aliases.find(key); alias != config.aliases.end()) {
        key = alias->second;
    }
    const auto vhost = config.vhosts.find(key);
    return vhost == config.vhosts.end() ? nullptr : &vhost->second;
}

VhostCheck check_vhost(const config::Config& config, std::string_view name, const IsUp& is_up) {
    const config::Vhost* vhost = find_vhost(config, name);
    if (vhost == nullptr) {
        return VhostCheck::Unknown;
    }
    if (vhost->status == config::VhostStatus::Maintenance) {
        return VhostCheck::Maintenance;
    }
    const config::Pool* pool = find_pool(config, vhost->pool);
    if (pool == nullptr) {
        return VhostCheck::Unavailable;
    }
    for (const std::string& server : pool->servers) {
        if (config.backends.count(server) != 0 && is_up(server)) {
            return VhostCheck::Ok;
        }
    }
    return VhostCheck::Unavailable;
}

Route route_login(const config::Config& config, const VhostSources& sources, std::string_view login_name,
                  const IsUp& is_up) {
    const SplitIdentity split = split_identity(login_name);
    const bool full_address = split.local.size() != login_name.size();
    if (!sources.vhost_command.empty()) {
        const config::Vhost* bound = find_vhost(config, sources.vhost_command);
        if (bound == nullptr) {
            return failed(RouteError::UnknownDomain);
        }
        if (full_address && find_vhost(config, split.domain) != bound) {
            return failed(RouteError::DomainMismatch);
        }
        return route_in_vhost(config, *bound, split.local, is_up);
    }
    if (full_address) {
        const config::Vhost* vhost = find_vhost(config, split.domain);
        return vhost == nullptr ? failed(RouteError::UnknownDomain)
                                : route_in_vhost(config, *vhost, split.local, is_up);
    }
    RouteError error = RouteError::None;
    const config::Vhost* vhost = implicit_vhost(config, sources, error);
    return vhost == nullptr ? failed(error) : route_in_vhost(config, *vhost, split.local, is_up);
}

Route route_identity(const config::Config& config, std::string_view identity, const IsUp& is_up) {
    const SplitIdentity split = split_identity(identity);
    if (split.local.size() == identity.size()) {
        return failed(RouteError::NoDomain);
    }
    const config::Vhost* vhost = find_vhost(config, split.domain);
    return vhost == nullptr ? failed(RouteError::UnknownDomain) : route_in_vhost(config, *vhost, split.local, is_up);
}

}  // namespace imapfront::routing
