// Relay: the authenticated state. Client commands go to the active backend
// link byte for byte; its responses come back to the client, with
// capability lists rewritten and internal commands' answers swallowed. The
// relay keeps the commands in flight, takes the few commands imapfront
// answers itself after login (CAPABILITY, LOGOUT, LISTA, SELECTA, and the
// refusals), and owns the session's backend links.
#pragma once

#include "proxy/session/account_switch.h"
#include "proxy/session/backend_link.h"
#include "proxy/session/link_set.h"
#include "proxy/session/session_core.h"

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace imapfront::session {

class Relay final : private BackendLinkOwner, private SwitchOwner {
public:
    // `link` is the login's link, logged in as the context's identity.
    Relay(SessionCore& core, net::EventLoop& loop, std::unique_ptr<BackendLink> link, std::string client_id);
    ~Relay() override;
    Relay(const Relay&) = delete;
    Relay& operator=(const Relay&) = delete;

    // Client -> backend.
    bool relays(std::string_view command_name) const;
    void begin_command(std::string_view tag, std::string_view name, std::string_view line);
    void forward(std::string_view line);
    void forward_literal(std::string_view data);
    // The line just forwarded announced a synchronizing literal: the client
    // sends its data only after the backend's "+".
    void await_continuation();
    void flush_to_backend();
    // A command imapfront answers itself; it waits for the commands sent
    // before it, so that its answer does not overtake theirs.
    void handle(LocalCommand command);

    // The client's next command must wait (a local command waits, a switch
    // runs, a literal waits for "+").
    bool holds_input() const;
    // Nothing in flight but IDLE: a BYE now interrupts nothing.
    bool at_command_boundary() const;
    bool backend_congested() const;
    void client_congested();
    // Relayed response bytes not yet written: whatever the core writes to
    // the client goes after them.
    std::string take_client_output();
    void client_drained();
    // Logs every link out, or closes them at once (`abort`: a link may be
    // in the middle of a command).
    void close_links(bool abort);

    const BackendLink* active() const { return links_.active(); }
    const std::string& capabilities() const;

private:
    // A client command relayed to the backend and not yet completed.
    struct InFlight {
        std::string tag;
        std::string name;
        std::string arguments;  // kept for ID and ENABLE
        std::chrono::steady_clock::time_point sent;
        bool awaits_continuation = false;  // its synchronizing literal waits for "+"
    };

    Decision run_local(const LocalCommand& command);
    Decision cmd_capability(const LocalCommand& command);
    Decision cmd_lista(const LocalCommand& command);
    Decision cmd_selecta(const LocalCommand& command);
    void run_waiting_command();
    void command_finished(std::string_view tag, std::string_view status);
    void remember_enabled(std::string_view arguments);
    void relay_to_client(std::string_view bytes);
    void flush_to_client();
    std::string authenticated_identity(std::string_view requested) const;

    void on_link_ready(BackendLink&) override {}
    void on_link_failed(BackendLink&, const Failure&) override {}
    void on_link_response(BackendLink& link, const imap::ResponseEvent& event) override;
    void on_link_closed(BackendLink& link, std::string_view reason) override;
    void on_link_drained(BackendLink& link) override;
    void on_link_input_done(BackendLink& link) override;

    void on_switch_deselected() override;
    void on_switch_done(BackendLink& target) override;
    void on_switch_failed(std::string answer) override;
    void end_switch();

    SessionCore& core_;
    net::EventLoop& loop_;
    LinkSet links_;
    ClientSetup setup_;
    std::vector<InFlight> in_flight_;  // a vector: an empty deque still holds ~500 bytes
    std::unique_ptr<LocalCommand> waiting_command_;
    std::unique_ptr<AccountSwitch> switch_;
    bool awaiting_continuation_ = false;  // the last command's literal waits for "+"
    bool mailbox_selected_ = false;
    bool swallowing_ = false;  // dropping an internal command's response
    bool backend_said_bye_ = false;
    std::string to_backend_;  // relayed bytes of the current client read, written in one go
    std::string to_client_;   // relayed response bytes of the current backend read
};

}  // namespace imapfront::session
