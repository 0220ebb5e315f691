// ClientSession: one client connection, from greeting to close: the core of
// a session. It owns the client stream, the state (every transition goes
// through enter() and the table in session_state), the timers, and the one
// close path. Client bytes are framed into commands by CommandFramer and
// handed to the part of the session that owns the current phase:
//   PreAuth       before login (freed after it),
//   LoginAttempt  while a backend link logs in,
//   Relay         after login (the links, the commands in flight, SELECTA).
//
// Ownership: the SessionHost owns the session and frees it after
// session_finished().
#pragma once

#include "config/config.h"
#include "proxy/imap/command_framer.h"
#include "proxy/net/event_loop.h"
#include "proxy/net/stream.h"
#include "proxy/session/login_attempt.h"
#include "proxy/session/preauth.h"
#include "proxy/session/relay.h"
#include "proxy/session/session_core.h"
#include "proxy/session/session_host.h"
#include "proxy/session/session_state.h"
#include "proxy/session/snapshot.h"

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace imapfront::session {

class ClientSession final : private net::StreamHandler, private SessionCore, private LoginAttemptOwner {
public:
    ClientSession(SessionHost& host, std::shared_ptr<const Snapshot> snapshot, const config::Listener& listener,
                  std::unique_ptr<net::Stream> client, net::Endpoint peer, std::uint64_t id);
    ~ClientSession() override;
    ClientSession(const ClientSession&) = delete;
    ClientSession& operator=(const ClientSession&) = delete;

    void start();
    // Graceful shutdown: BYE at the next command boundary (a relayed APPEND
    // or FETCH finishes first).
    void drain();
    // Drain time is up: BYE now, whatever is in flight.
    void force_close();

    State state() const override { return state_; }

private:
    // SessionCore
    const SessionContext& context() const override { return context_; }
    net::Stream& client() override { return *client_; }
    bool enter(State next) override;
    void write_client(std::string bytes) override;
    void execute(Decision decision) override;
    void close(std::string_view bye_line) override;
    void resume_input() override;
    void literal_refused() override;
    void command_boundary() override;
    void update_client_reading() override;
    void log(LogLevel level, std::string_view event, std::initializer_list<LogField> extra = {}) override;

    // LoginAttemptOwner
    void on_login_succeeded(std::unique_ptr<BackendLink> link) override;
    void on_login_failed(const std::string& backend_name, const Failure& failure) override;

    // client stream
    void on_data(std::string_view bytes) override;
    void on_closed(std::string_view reason) override;
    void on_tls_ready() override;
    void on_drained() override;

    void on_proxy_header(std::string_view bytes);
    void greet(std::string_view received = {});
    void write_greeting();
    void process(std::string_view input);
    bool accepting_commands() const;
    void on_command_line(const imap::CommandEvent& event, std::string_view& rest);
    void on_framer_error(const imap::CommandEvent& event);
    void dispatch(LocalCommand command);
    void start_tls(std::string ok_line);
    void begin_login(Decision login);
    void count_bad_command();
    void restart_idle_timer();
    void stop_parts();
    void finish();

    SessionContext context_;
    std::unique_ptr<net::Stream> client_;
    State state_ = State::NotAuthenticated;
    bool draining_ = false;
    bool client_spoke_ = false;                  // any byte received since the greeting
    std::unique_ptr<std::string> proxy_header_;  // PROXY header bytes received so far

    imap::CommandFramer framer_;
    std::string held_;                         // client bytes received while not accepting commands
    std::unique_ptr<LocalCommand> collected_;  // the current command, collected for local handling
    bool forwarding_ = false;                  // the current command is being relayed to the backend
    int bad_commands_ = 0;                     // invalid commands before login

    // The part that owns the current phase; at most one of the last two.
    std::unique_ptr<PreAuth> preauth_;
    std::unique_ptr<LoginAttempt> login_;
    std::unique_ptr<Relay> relay_;

    net::Timer login_timer_;
    net::Timer idle_timer_;
    net::Timer bye_timer_;  // after BYE: how long the client has to read it
    bool finished_ = false;
};

}  // namespace imapfront::session
