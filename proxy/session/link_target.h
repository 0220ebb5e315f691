// What a new backend link is told: where to connect, how to log in, and how
// to pass on the client's address. Shared by a login and an account switch.
#pragma once

#include "proxy/session/backend_link.h"
#include "proxy/session/session_core.h"
#include "routing/route.h"

namespace imapfront::session {

LinkTarget make_link_target(const SessionContext& context, const net::Endpoint& local, const routing::Route& route,
                            LoginCredentials credentials);

// The pool's master credentials for `route` (the pool must have them).
LoginCredentials master_credentials(const routing::Route& route);

}  // namespace imapfront::session
