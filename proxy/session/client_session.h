// ClientSession: one client connection, from greeting to close.
//
// The state machine: every transition goes through enter(). Client bytes are
// framed into commands by CommandFramer; before login imapfront answers all of
// them; after login it takes the few it must (CAPABILITY, LOGOUT, LISTA,
// SELECTA, and refusals) and relays the rest byte for byte to the active
// backend link, whose responses come back framed by the link.
//
// Ownership: the session owns its client stream and its backend links; the
// SessionHost owns the session and frees it after session_finished().
#pragma once

#include "config/config.h"
#include "proxy/imap/command_framer.h"
#include "proxy/net/event_loop.h"
#include "proxy/net/stream.h"
#include "proxy/session/backend_link.h"
#include "proxy/session/session_host.h"
#include "proxy/session/snapshot.h"
#include "routing/route.h"

#include <chrono>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace imapfront::session {

enum class State {
    ProxyHeader,       // reading the PROXY protocol header of a load balancer
    TlsHandshake,      // implicit TLS or after STARTTLS; no commands yet
    NotAuthenticated,  // imapfront answers every command
    LoggingIn,         // a backend link is being set up for LOGIN/AUTHENTICATE
    LoginDelay,        // waiting out the delay after a failed login
    Authenticated,     // relaying to the active backend link
    Switching,         // SELECTA: moving to another identity's link; later commands are held
    Closing,
};

std::string_view state_name(State state);

class ClientSession final : private net::StreamHandler, private BackendLinkOwner {
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

    State state() const { return state_; }

private:
    // A complete command imapfront handles itself.
    struct LocalCommand {
        std::string tag;
        std::string name;
        std::string wire;  // everything after the name, literals inline, final CRLF included
    };

    // A client command relayed to the backend and not yet completed.
    struct InFlight {
        std::string tag;
        std::string name;
        std::string arguments;  // kept for ID and ENABLE, replayed on new links
        std::chrono::steady_clock::time_point sent;
    };

    // A command imapfront sent a backend on its own behalf; never seen by the client.
    struct InternalCommand {
        std::string tag;
        BackendLink* link = nullptr;
        std::function<void(bool ok)> done;
    };

    // A SELECTA in progress.
    struct Switch {
        std::string tag;
        std::string identity;  // config spelling
        BackendLink* target = nullptr;
        int replays_pending = 0;
    };

    struct SaslExchange {
        std::string tag;
        std::string mechanism;   // PLAIN or LOGIN
        std::string login_user;  // LOGIN mechanism: the user name once given
    };

    // transitions and lifecycle
    void enter(State next);
    void close_with(std::string_view bye_line);
    void finish();

    // client side I/O
    void on_data(std::string_view bytes) override;
    void on_closed(std::string_view reason) override;
    void on_tls_ready() override;
    void on_drained() override;
    void process(std::string_view input);
    void resume_held_input();
    bool accepting_commands() const;
    void write_client(std::string bytes);
    void relay_to_client(std::string_view bytes);
    void relay_to_backend(std::string_view bytes);
    void flush_backend();

    // framing
    void on_command_line(const imap::CommandEvent& event, std::string_view& rest);
    void on_literal_data(const imap::CommandEvent& event);
    void on_framer_error(const imap::CommandEvent& event);
    bool intercepted(std::string_view name) const;
    void dispatch(LocalCommand command);

    // not authenticated
    void handle_preauth(const LocalCommand& command);
    void handle_sasl_line(std::string_view line);
    void cmd_capability(const LocalCommand& command);
    void cmd_starttls(const LocalCommand& command);
    void cmd_vhost(const LocalCommand& command);
    void cmd_login(const LocalCommand& command);
    void cmd_authenticate(const LocalCommand& command);
    void cmd_id(const LocalCommand& command);
    void cmd_logout(const LocalCommand& command);
    bool plaintext_forbidden() const;
    std::string preauth_capabilities() const;
    void begin_login(const std::string& tag, const std::string& user, std::string password);
    void login_refused(const std::string& tag, std::string answer, bool count_failure);

    // authenticated
    void handle_authenticated(const LocalCommand& command);
    void on_link_ready(BackendLink& link) override;
    void on_link_failed(BackendLink& link, const Failure& failure) override;
    void on_link_response(BackendLink& link, const imap::ResponseEvent& event) override;
    void on_link_closed(BackendLink& link, std::string_view reason) override;
    void on_link_drained(BackendLink& link) override;
    void on_link_input_done(BackendLink& link) override;
    void on_inactive_response(BackendLink& link, const imap::ResponseEvent& event);
    void command_finished(std::string_view tag, std::string_view status);
    void run_waiting_command();
    void restart_idle_timer();
    void send_internal(BackendLink& link, std::string_view command, std::function<void(bool ok)> done);
    bool complete_internal(BackendLink& link, std::string_view tag, std::string_view status);
    void retire_link(BackendLink* link);
    BackendLink* find_link(std::string_view identity_key) const;
    void keep_inactive_links_alive();
    void schedule_keepalive();

    // multi-account (draft-lu-imap-multi-account)
    // The identity of this login's profile that `requested` names (config spelling); empty if none.
    std::string authenticated_identity(std::string_view requested) const;
    void cmd_lista(const LocalCommand& command);
    void cmd_selecta(const LocalCommand& command);
    void switch_deselected();
    void switch_to_target();
    void switch_link_ready();
    void switch_replays_done();
    void switch_failed(std::string answer);
    void make_room_for_link();

    void on_proxy_header(std::string_view bytes);
    void greet(std::string_view received = {});
    LinkTarget link_target(const routing::Route& route, LoginCredentials credentials) const;
    void close_if_drained();

    void log(std::string_view event, std::initializer_list<std::pair<std::string_view, std::string_view>> extra = {});

    SessionHost& host_;
    std::shared_ptr<const Snapshot> snapshot_;
    const config::Config& config_;
    const config::Listener& listener_;
    std::unique_ptr<net::Stream> client_;
    std::string id_;
    State state_ = State::NotAuthenticated;
    net::Endpoint client_address_;  // the real client: the socket peer, or what a PROXY header said
    std::string proxy_header_;      // PROXY header bytes received so far
    bool draining_ = false;
    bool client_spoke_ = false;  // any byte received since the greeting

    imap::CommandFramer framer_;
    std::string held_;         // client bytes received while not accepting commands
    bool collecting_ = false;  // the current command is being collected for local handling
    LocalCommand collected_;
    bool forwarding_ = false;  // the current command is being relayed to the backend
    std::string to_backend_;   // relayed bytes of the current read, written in one go
    // Rare states live on the heap while they last, so that the many idle
    // sessions do not carry them.
    std::unique_ptr<LocalCommand> waiting_command_;  // a local command waiting for in-flight commands
    std::unique_ptr<SaslExchange> sasl_;

    std::string vhost_command_;
    int auth_failures_ = 0;
    std::string login_tag_;
    std::string identity_;
    std::string vhost_name_;
    std::string client_id_args_;        // the client's last ID arguments, replayed on new links
    std::vector<std::string> enabled_;  // ENABLE arguments the backend accepted, replayed on new links

    std::vector<std::unique_ptr<BackendLink>> links_;  // at most multiaccount.max_links
    BackendLink* active_ = nullptr;
    std::vector<InFlight> in_flight_;  // a vector: an empty deque still holds ~500 bytes
    std::vector<InternalCommand> internal_;
    unsigned internal_counter_ = 0;
    std::unique_ptr<Switch> switch_;
    bool mailbox_selected_ = false;
    bool swallowing_ = false;  // dropping an internal command's response
    std::string to_client_;    // relayed response bytes of the current backend read
    bool backend_said_bye_ = false;

    net::Timer login_timer_;
    net::Timer idle_timer_;
    net::Timer delay_timer_;
    net::Timer keepalive_timer_;
    bool finished_ = false;
};

}  // namespace imapfront::session
