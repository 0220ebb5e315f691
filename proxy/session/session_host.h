// What a client session needs from the server that owns it.
#pragma once

#include <memory>
#include <string>

namespace imapfront::net {
class EventLoop;
}

namespace imapfront::admin {
class Metrics;
}

namespace imapfront::session {

class ClientSession;
struct Snapshot;

class SessionHost {
public:
    virtual ~SessionHost() = default;
    virtual net::EventLoop& loop() = 0;
    // Where this host's sessions count what they do.
    virtual admin::Metrics& metrics() = 0;
    virtual bool backend_up(const std::string& backend_name) const = 0;
    // A real session could not connect or log in to this backend (passive health).
    virtual void backend_failed(const std::string& backend_name) = 0;
    // Counts a login attempt from `ip`; false when it is over the per-minute limit.
    virtual bool allow_login_attempt(const std::string& ip) = 0;
    // The session has closed its client connection; the host frees it later.
    virtual void session_finished(ClientSession& session) = 0;
};

}  // namespace imapfront::session
