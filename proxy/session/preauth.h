// PreAuth: the not-authenticated state. imapfront answers every command
// itself (CAPABILITY, NOOP, LOGOUT, ID, STARTTLS, VHOST, LOGIN, AUTHENTICATE)
// and keeps what the client said before logging in: its VHOST, its ID, the
// SASL exchange under way, the count of failed logins. The core frees it
// after a login, and replaces it after STARTTLS, so nothing learned before
// TLS survives.
#pragma once

#include "proxy/net/event_loop.h"
#include "proxy/session/decision.h"
#include "proxy/session/session_core.h"

#include <memory>
#include <string>
#include <string_view>

namespace imapfront::session {

class PreAuth {
public:
    PreAuth(SessionCore& core, net::EventLoop& loop);

    Decision handle(const LocalCommand& command);
    // A line answering an AUTHENTICATE challenge.
    Decision sasl_line(std::string_view line);
    // A login that did not happen: the answer now, or after the failure
    // delay when it counts as a failed authentication.
    void refuse(const std::string& tag, std::string answer, bool count_failure);
    // The session closes: a pending failure delay is dropped.
    void stop() { delay_timer_.stop(); }

    std::string capabilities() const;
    const std::string& vhost() const { return vhost_; }
    // The client's ID arguments, replayed on links opened later.
    const std::string& client_id() const { return client_id_; }

private:
    struct SaslExchange {
        std::string tag;
        std::string mechanism;   // PLAIN or LOGIN
        std::string login_user;  // LOGIN mechanism: the user name once given
    };
    using Handler = Decision (PreAuth::*)(const LocalCommand&);
    struct Entry {
        std::string_view name;
        Handler handler;
    };
    static const Entry commands[];

    bool plaintext_forbidden() const;
    Decision cmd_capability(const LocalCommand& command);
    Decision cmd_noop(const LocalCommand& command);
    Decision cmd_logout(const LocalCommand& command);
    Decision cmd_id(const LocalCommand& command);
    Decision cmd_starttls(const LocalCommand& command);
    Decision cmd_vhost(const LocalCommand& command);
    Decision cmd_login(const LocalCommand& command);
    Decision cmd_authenticate(const LocalCommand& command);
    Decision login(std::string tag, std::string user, std::string password);

    SessionCore& core_;
    std::string vhost_;  // from the VHOST command: binds the login to this domain
    std::string client_id_;
    int auth_failures_ = 0;
    std::unique_ptr<SaslExchange> sasl_;
    net::Timer delay_timer_;
};

}  // namespace imapfront::session
