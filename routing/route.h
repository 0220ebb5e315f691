// Routing decisions: which vhost a session is in, which identity a login
// names, and which backend server serves it. Pure: config snapshot and
// health state in, decision out.
#pragma once

#include "config/config.h"

#include <functional>
#include <string>
#include <string_view>

namespace imapfront::routing {

// Where the vhost of a session comes from, in priority order.
struct VhostSources {
    std::string vhost_command;     // argument of the last VHOST, empty if none
    std::string sni;               // TLS SNI name, empty if none
    std::string listener_default;  // listener's default_vhost
};

// Vhost by name or alias (case-insensitive, trailing dot ignored); null if unknown.
const config::Vhost* find_vhost(const config::Config& config, std::string_view name_or_alias);

// Answer to a VHOST command argument.
enum class VhostCheck { Ok, Unknown, Maintenance, Unavailable };

// Health view: is this backend (by name) able to take sessions?
using IsUp = std::function<bool(const std::string& backend_name)>;

VhostCheck check_vhost(const config::Config& config, std::string_view name, const IsUp& is_up);

enum class RouteError {
    None,
    NoDomain,        // bare name and no vhost from any source
    UnknownDomain,   // the domain names no vhost
    DomainMismatch,  // VHOST bound the session to another domain
    Maintenance,     // vhost status: maintenance
    NoServer,        // the pool has no healthy server
};

struct Route {
    RouteError error = RouteError::None;
    std::string identity;      // "local@vhostname" as the client spelled the local part
    std::string key;           // identity_key(identity)
    std::string backend_user;  // what the backend is given (full or local part)
    const config::Vhost* vhost = nullptr;
    const config::Pool* pool = nullptr;
    const config::Backend* server = nullptr;
};

// Resolves a client's login name. With a VHOST command the session is bound to
// that vhost: a bare name joins it, a full address must be in it. Without one,
// a full address keeps its own domain, a bare name takes SNI, else the
// listener default.
Route route_login(const config::Config& config, const VhostSources& sources, std::string_view login_name,
                  const IsUp& is_up);

// Routes an identity written in full (a profile member): account override
// first, else its domain's vhost pool.
Route route_identity(const config::Config& config, std::string_view identity, const IsUp& is_up);

// Rendezvous (highest random weight) hashing for `balance: hash`, config
// order for `balance: first`; servers that are not up are skipped. Null when
// no server is up.
const config::Backend* choose_server(const config::Config& config, const config::Pool& pool,
                                     std::string_view identity_key, const IsUp& is_up);

}  // namespace imapfront::routing
