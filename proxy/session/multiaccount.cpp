// LISTA and SELECTA (draft-lu-imap-multi-account-01): one login authenticates
// every identity of a profile; SELECTA moves the session to another
// identity's backend link without a new login.
#include "proxy/session/client_session.h"

#include "proxy/admin/metrics.h"
#include "proxy/imap/arguments.h"
#include "proxy/imap/capabilities.h"
#include "proxy/session/log.h"
#include "routing/identity.h"
#include "routing/profiles.h"
#include "routing/route.h"

#include <algorithm>
#include <random>
#include <utility>

namespace imapfront::session {
namespace {

std::string strip_line_end(std::string_view text) {
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.remove_suffix(1);
    return std::string(text);
}

// An argument list that can be replayed in one line (no literal inside).
bool single_line(std::string_view arguments) { return arguments.find_first_of("\r\n") == std::string_view::npos; }

std::string response_astring(std::string_view value) {
    if (auto quoted = imap::quote_for_response(value)) return *quoted;
    return "{" + std::to_string(value.size()) + "}\r\n" + std::string(value);
}

// A mailbox name no server has: EXAMINE of it fails and, as RFC 3501 6.3.2
// says of a failed EXAMINE, leaves no mailbox selected.
std::string impossible_mailbox() {
    static std::mt19937_64 random{std::random_device{}()};
    return "\"imapfront-deselect-" + std::to_string(random()) + "\"";
}

}  // namespace

std::string ClientSession::authenticated_identity(std::string_view requested) const {
    return routing::find_authenticated(routing::authenticated_identities(config_, identity_), requested);
}

void ClientSession::cmd_lista(const LocalCommand& command) {
    const imap::ParsedArguments args = imap::parse_astrings(command.wire);
    auto& metrics = admin::Metrics::global();
    if (!args.ok || args.values.size() != 1) {
        metrics.lista(admin::MultiResult::Bad).add();
        write_client(command.tag + " BAD LISTA needs one user identifier\r\n");
        return;
    }
    const std::string identity = authenticated_identity(args.values.front());
    if (identity.empty()) {
        metrics.lista(admin::MultiResult::Rejected).add();
        write_client(command.tag + " NO LISTA failure: user identifier rejected\r\n");
        return;
    }
    const std::vector<std::string> members = routing::authenticated_identities(config_, identity);
    std::string reply;
    // The draft's count line would corrupt the client's view of a selected mailbox.
    if (config_.multiaccount.lista_count == config::ListaCount::Draft && !mailbox_selected_) {
        reply += "* " + std::to_string(members.size()) + " EXISTS\r\n";
    }
    for (const auto& member : members) reply += "* LISTA " + response_astring(member) + "\r\n";
    metrics.lista(admin::MultiResult::Ok).add();
    write_client(reply + command.tag + " OK LISTA completed\r\n");
}

void ClientSession::cmd_selecta(const LocalCommand& command) {
    const imap::ParsedArguments args = imap::parse_astrings(command.wire);
    auto& metrics = admin::Metrics::global();
    if (!args.ok || args.values.size() != 1) {
        metrics.selecta(admin::MultiResult::Bad).add();
        write_client(command.tag + " BAD SELECTA needs one user identifier\r\n");
        return;
    }
    const std::string identity = authenticated_identity(args.values.front());
    if (identity.empty()) {
        metrics.selecta(admin::MultiResult::Rejected).add();
        log("selecta", {{"result", "rejected"}});
        write_client(command.tag + " NO SELECTA failure: user identifier rejected\r\n");
        return;
    }
    switch_ = std::make_unique<Switch>(Switch{command.tag, identity, nullptr, 0});
    enter(State::Switching);
    if (!mailbox_selected_ || !active_) {
        switch_to_target();
        return;
    }
    // Never CLOSE: it would expunge messages flagged \Deleted.
    const std::string deselect = imap::has_capability(active_->capabilities(), "UNSELECT")
                                     ? std::string("UNSELECT")
                                     : "EXAMINE " + impossible_mailbox();
    send_internal(*active_, deselect, [this](bool) { switch_deselected(); });
}

void ClientSession::switch_deselected() {
    mailbox_selected_ = false;
    write_client("* OK [CLOSED] Previous mailbox closed\r\n");
    switch_to_target();
}

void ClientSession::switch_to_target() {
    const std::string key = routing::identity_key(switch_->identity);
    if (BackendLink* open = find_link(key); open && open->ready()) {
        switch_->target = open;
        switch_replays_done();
        return;
    }
    const auto is_up = [this](const std::string& backend) { return host_.backend_up(backend); };
    const routing::Route route = routing::route_identity(config_, switch_->identity, is_up);
    if (route.error != routing::RouteError::None || !route.pool->master) {
        switch_failed("NO [UNAVAILABLE] SELECTA failure: no backend available for that identity");
        return;
    }
    const config::Master& master = *route.pool->master;
    LinkTarget target = link_target(
        route, master.style == config::MasterStyle::Authzid
                   ? LoginCredentials{route.backend_user, master.user, master.password}
                   : LoginCredentials{{}, route.backend_user + master.separator + master.user, master.password});
    target.identity = switch_->identity;
    make_room_for_link();
    links_.push_back(
        std::make_unique<BackendLink>(host_.loop(), static_cast<BackendLinkOwner&>(*this), std::move(target)));
    switch_->target = links_.back().get();
    switch_->target->start();
    schedule_keepalive();
}

void ClientSession::switch_link_ready() {
    // A new link must look like the one the client set up: same ID, same
    // ENABLEd extensions. Their answers stay between imapfront and the backend.
    std::vector<std::string> replays;
    if (const std::string id = strip_line_end(client_id_args_); !id.empty() && single_line(id)) {
        replays.push_back("ID" + id);
    }
    std::string enable;
    for (const auto& arguments : enabled_) {
        if (const std::string extensions = strip_line_end(arguments); single_line(extensions)) enable += extensions;
    }
    if (!enable.empty()) replays.push_back("ENABLE" + enable);
    if (replays.empty()) {
        switch_replays_done();
        return;
    }
    switch_->replays_pending = static_cast<int>(replays.size());
    for (const auto& replay : replays) {
        send_internal(*switch_->target, replay, [this](bool) {
            if (--switch_->replays_pending == 0) switch_replays_done();
        });
    }
}

void ClientSession::switch_replays_done() {
    BackendLink* target = switch_->target;
    const std::string tag = switch_->tag;
    switch_.reset();
    // Most recently used last: make_room_for_link() evicts from the front.
    const auto it =
        std::find_if(links_.begin(), links_.end(), [&](const auto& owned) { return owned.get() == target; });
    std::rotate(it, it + 1, links_.end());
    active_ = target;
    swallowing_ = false;
    backend_said_bye_ = false;
    enter(State::Authenticated);
    log("selecta", {{"result", "ok"}});
    admin::Metrics::global().selecta(admin::MultiResult::Ok).add();
    write_client(tag + " OK [CAPABILITY " + imap::rewrite_capability_list(target->capabilities()) +
                 "] SELECTA completed\r\n");
    resume_held_input();
    close_if_drained();
}

void ClientSession::switch_failed(std::string answer) {
    admin::Metrics::global().selecta(admin::MultiResult::Unavailable).add();
    const std::string tag = switch_->tag;
    switch_.reset();
    enter(State::Authenticated);
    write_client(tag + " " + answer + "\r\n");
    resume_held_input();
    close_if_drained();
}

void ClientSession::make_room_for_link() {
    const std::size_t max_links = std::max<std::size_t>(config_.multiaccount.max_links, 2);
    while (links_.size() >= max_links) {
        const auto victim =
            std::find_if(links_.begin(), links_.end(), [&](const auto& link) { return link.get() != active_; });
        if (victim == links_.end()) return;
        BackendLink* link = victim->get();
        link->logout();
        retire_link(link);
    }
}

}  // namespace imapfront::session
