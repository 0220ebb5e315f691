#include "proxy/session/link_target.h"

#include "proxy/net/proxy_protocol.h"

#include <string>
#include <utility>

namespace imapfront::session {

LinkTarget make_link_target(const SessionContext& context, const net::Endpoint& local, const routing::Route& route,
                            LoginCredentials credentials) {
    LinkTarget target;
    target.identity = route.identity;
    target.backend = route.server;
    target.tls = context.snapshot->tls_for(*route.server);
    target.timeout = context.config.limits.backend_timeout;
    target.plan.starttls = route.server->tls == config::TlsMode::StartTls;
    target.plan.credentials = std::move(credentials);
    const net::Endpoint& client = context.client_address;
    switch (route.pool->forward_client_ip) {
    case config::ForwardClientIp::None: break;
    case config::ForwardClientIp::Id:
        target.plan.id_fields = {{"x-originating-ip", client.ip},
                                 {"x-originating-port", std::to_string(client.port)},
                                 {"x-connected-ip", local.ip},
                                 {"x-connected-port", std::to_string(local.port)},
                                 {"x-session-id", context.id}};
        break;
    case config::ForwardClientIp::ProxyV2:
        target.proxy_header = net::build_proxy_v2(client.ip, client.port, local.ip, local.port).value_or("");
        break;
    }
    return target;
}

LoginCredentials master_credentials(const routing::Route& route) {
    const config::Master& master = *route.pool->master;
    if (master.style == config::MasterStyle::Authzid) {
        return LoginCredentials{route.backend_user, master.user, master.password};
    }
    return LoginCredentials{{}, route.backend_user + master.separator + master.user, master.password};
}

}  // namespace imapfront::session
