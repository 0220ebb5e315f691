// What the parts of a client session (pre-authentication, the login
// attempt, the relay, an account switch) may ask of the session that owns
// them. The core owns the client connection, the state, the timers and the
// one close path; each part owns its own data and is freed when its phase
// ends.
#pragma once

#include "config/config.h"
#include "proxy/net/stream.h"
#include "proxy/session/decision.h"
#include "proxy/session/log.h"
#include "proxy/session/session_state.h"
#include "proxy/session/snapshot.h"

#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>

namespace imapfront::admin {
class Metrics;
}

namespace imapfront::session {

class SessionHost;

// What the whole session shares; identity and vhost are set once, at login.
struct SessionContext {
    SessionHost& host;
    admin::Metrics& metrics;
    std::shared_ptr<const Snapshot> snapshot;
    const config::Config& config;
    const config::Listener& listener;
    std::string id;
    net::Endpoint client_address;  // the real client: the socket peer, or what a PROXY header said
    std::string identity;          // logged in as (config spelling); empty before login
    std::string vhost;
};

// A complete command imapfront handles itself.
struct LocalCommand {
    std::string tag;
    std::string name;
    std::string wire;  // everything after the name, literals inline, final CRLF included
};

class SessionCore {
public:
    virtual const SessionContext& context() const = 0;
    virtual net::Stream& client() = 0;
    virtual State state() const = 0;
    // False (and nothing changes) when the transition table does not allow it.
    virtual bool enter(State next) = 0;
    virtual void write_client(std::string bytes) = 0;
    // Carries out what a command handler decided.
    virtual void execute(Decision decision) = 0;
    // The one way a session ends: `bye_line` (may be empty) is the last thing
    // the client gets; links are logged out, timers stopped.
    virtual void close(std::string_view bye_line) = 0;
    // A part that held the client's commands (a waiting command, a login, a
    // switch, a literal waiting for the backend's "+") is done.
    virtual void resume_input() = 0;
    // The backend refused a command before the data of its synchronizing
    // literal: the client will not send it.
    virtual void literal_refused() = 0;
    // Responses of one backend read went out; a drain or kick may act now.
    virtual void command_boundary() = 0;
    // A write queue crossed a watermark: read the client, or stop.
    virtual void update_client_reading() = 0;
    virtual void log(LogLevel level, std::string_view event, std::initializer_list<LogField> extra = {}) = 0;

protected:
    ~SessionCore() = default;
};

}  // namespace imapfront::session
