// The authenticated state: relaying between the client and the active
// backend link, the internal commands imapfront sends on its own behalf, and
// the commands it keeps for itself after login.
#include "proxy/session/client_session.h"

#include "proxy/admin/metrics.h"
#include "proxy/imap/capabilities.h"
#include "proxy/imap/status_line.h"
#include "proxy/session/log.h"
#include "routing/identity.h"
#include "routing/profiles.h"

#include <algorithm>
#include <utility>

namespace imapfront::session {
namespace {

using imap::iequals;

// Backends log idle sessions out after 30 minutes (RFC 3501's minimum);
// inactive links say NOOP well before that.
constexpr std::chrono::minutes keepalive_interval{4};

bool mentions_capability(std::string_view line) {
    // Cheap pre-check before the exact parse: most lines never mention it.
    const std::size_t head = std::min<std::size_t>(line.size(), 256);
    for (std::size_t i = 0; i + 10 <= head; ++i) {
        if ((line[i] == 'C' || line[i] == 'c') && imap::istarts_with(line.substr(i), "CAPABILITY")) return true;
    }
    return false;
}

imap::Limits relay_limits(const config::Config& config) {
    imap::Limits limits;
    limits.max_line = config.limits.max_line;
    return limits;
}

}  // namespace

void ClientSession::handle_authenticated(const LocalCommand& command) {
    const std::string& name = command.name;
    if (name == "CAPABILITY") return cmd_capability(command);
    if (name == "LOGOUT") return cmd_logout(command);
    if (name == "LISTA") return cmd_lista(command);
    if (name == "SELECTA") return cmd_selecta(command);
    if (name == "VHOST") return write_client(command.tag + " BAD VHOST is only valid before login\r\n");
    write_client(command.tag + " BAD Already logged in\r\n");
}

void ClientSession::on_link_ready(BackendLink& link) {
    if (switch_ && &link == switch_->target) {
        switch_link_ready();
        return;
    }
    if (state_ != State::LoggingIn || &link != active_) return;
    enter(State::Authenticated);
    framer_.set_limits(relay_limits(config_));
    login_timer_.stop();
    restart_idle_timer();
    log("login", {{"result", "ok"}});
    admin::Metrics::global().logins(admin::LoginResult::Ok).add();
    write_client(login_tag_ + " OK [CAPABILITY " + imap::rewrite_capability_list(link.capabilities()) +
                 "] Logged in\r\n");
    resume_held_input();
}

void ClientSession::on_link_failed(BackendLink& link, const Failure& failure) {
    const bool login_link = state_ == State::LoggingIn && &link == active_;
    const bool switch_target = switch_ && &link == switch_->target;
    if (blames_backend(failure)) {
        host_.backend_failed(link.backend_name());
        admin::Metrics::global().backend(link.backend_name()).connect_failures.add();
    }
    retire_link(&link);
    if (login_link) {
        log("login", {{"result", failure_name(failure.kind)}, {"reason", failure.detail}});
        const admin::LoginResult result = counts_as_auth_failure(failure) ? admin::LoginResult::AuthFailed
                                          : failure.kind == FailureKind::Temporary || blames_backend(failure)
                                              ? admin::LoginResult::Unavailable
                                              : admin::LoginResult::Error;
        admin::Metrics::global().logins(result).add();
        login_refused(login_tag_, login_failure_answer(failure), counts_as_auth_failure(failure));
        resume_held_input();
    } else if (switch_target) {
        log("selecta", {{"result", failure_name(failure.kind)}, {"reason", failure.detail}});
        switch_failed("NO [UNAVAILABLE] SELECTA failure: backend of that identity unavailable");
    }
}

void ClientSession::on_link_response(BackendLink& link, const imap::ResponseEvent& event) {
    if (&link != active_) {
        on_inactive_response(link, event);
        return;
    }
    switch (event.kind) {
    case imap::ResponseEvent::Kind::NeedMore: return;
    case imap::ResponseEvent::Kind::Error:
        log("backend_error", {{"reason", "malformed response"}});
        close_with("* BYE [UNAVAILABLE] Backend protocol error\r\n");
        return;
    case imap::ResponseEvent::Kind::LiteralData:
        if (!swallowing_) relay_to_client(event.data);
        return;
    case imap::ResponseEvent::Kind::Line: break;
    }
    const imap::ResponseFramer& framer = link.framer();
    const bool tagged = framer.type() == imap::ResponseType::Tagged;
    if (event.first_line) {
        const auto is_client_tag = [&](const InFlight& command) { return command.tag == framer.tag(); };
        swallowing_ = tagged && std::none_of(in_flight_.begin(), in_flight_.end(), is_client_tag);
        if (framer.type() == imap::ResponseType::Untagged && framer.status() == "BYE") backend_said_bye_ = true;
    }
    if (!swallowing_) {
        std::optional<std::string> rewritten;
        if (event.first_line && mentions_capability(event.data)) rewritten = imap::rewrite_capability_line(event.data);
        to_client_.append(rewritten ? std::string_view{*rewritten} : event.data);
    }
    if (event.response_complete && tagged) {
        const bool internal = swallowing_;
        swallowing_ = false;
        if (internal) {
            complete_internal(link, framer.tag(), framer.status());
        } else {
            command_finished(framer.tag(), framer.status());
        }
    }
}

void ClientSession::on_inactive_response(BackendLink& link, const imap::ResponseEvent& event) {
    // An inactive link's unsolicited updates concern a mailbox the client does
    // not see: dropped. Only our own commands' completions matter.
    if (event.kind != imap::ResponseEvent::Kind::Line || !event.response_complete) return;
    const imap::ResponseFramer& framer = link.framer();
    if (framer.type() == imap::ResponseType::Tagged) complete_internal(link, framer.tag(), framer.status());
}

void ClientSession::on_link_input_done(BackendLink& link) {
    if (&link != active_) return;
    if (!to_client_.empty()) {
        admin::Metrics::global().bytes_to_clients.add(to_client_.size());
        write_client(std::exchange(to_client_, {}));
    }
    run_waiting_command();
    close_if_drained();
}

void ClientSession::run_waiting_command() {
    if (!waiting_command_ || !in_flight_.empty() || state_ != State::Authenticated) return;
    LocalCommand command = std::move(*waiting_command_);
    waiting_command_.reset();
    handle_authenticated(command);
    resume_held_input();
}

void ClientSession::command_finished(std::string_view tag, std::string_view status) {
    const auto it =
        std::find_if(in_flight_.begin(), in_flight_.end(), [&](const InFlight& command) { return command.tag == tag; });
    if (it == in_flight_.end()) return;
    const bool ok = iequals(status, "OK");
    const std::string& name = it->name;
    if (name != "IDLE") {
        const std::chrono::duration<double> took = std::chrono::steady_clock::now() - it->sent;
        admin::Metrics::global().command_latency.observe(took.count());
    }
    if (name == "SELECT" || name == "EXAMINE") {
        // RFC 3501 6.3.1: a failed SELECT leaves no mailbox selected.
        if (ok || iequals(status, "NO")) mailbox_selected_ = ok;
    } else if ((name == "CLOSE" || name == "UNSELECT") && ok) {
        mailbox_selected_ = false;
    } else if (name == "ENABLE" && ok) {
        enabled_.push_back(it->arguments);
    } else if (name == "ID") {
        client_id_args_ = it->arguments;
    }
    in_flight_.erase(it);
}

void ClientSession::send_internal(BackendLink& link, std::string_view command, std::function<void(bool ok)> done) {
    std::string tag = "ifk" + std::to_string(++internal_counter_);
    link.write(tag + " " + std::string(command) + "\r\n");
    internal_.push_back({std::move(tag), &link, std::move(done)});
}

bool ClientSession::complete_internal(BackendLink& link, std::string_view tag, std::string_view status) {
    const auto it = std::find_if(internal_.begin(), internal_.end(), [&](const InternalCommand& command) {
        return command.link == &link && command.tag == tag;
    });
    if (it == internal_.end()) return false;
    std::function<void(bool)> done = std::move(it->done);
    internal_.erase(it);
    if (done) done(iequals(status, "OK"));
    return true;
}

void ClientSession::on_link_closed(BackendLink& link, std::string_view reason) {
    if (&link == active_) {
        log("backend_closed", {{"reason", reason}});
        if (!to_client_.empty()) write_client(std::exchange(to_client_, {}));
        retire_link(&link);
        close_with(backend_said_bye_ ? "" : "* BYE [UNAVAILABLE] Backend connection lost\r\n");
        return;
    }
    log("inactive_link_closed", {{"link_identity", link.identity()}, {"reason", reason}});
    const bool switch_target = switch_ && &link == switch_->target;
    retire_link(&link);
    if (switch_target) switch_failed("NO [UNAVAILABLE] SELECTA failure: backend of that identity unavailable");
}

void ClientSession::on_link_drained(BackendLink& link) {
    if (&link == active_ && state_ == State::Authenticated && !waiting_command_) client_->resume_reading();
}

void ClientSession::retire_link(BackendLink* link) {
    const auto it = std::find_if(links_.begin(), links_.end(), [&](const auto& owned) { return owned.get() == link; });
    if (it == links_.end()) return;
    if (active_ == link) active_ = nullptr;
    std::erase_if(internal_, [&](const InternalCommand& command) { return command.link == link; });
    // The link may be inside one of its own callbacks: free it once the stack unwinds.
    host_.loop().defer([retired = std::shared_ptr<BackendLink>(std::move(*it))] {});
    links_.erase(it);
}

BackendLink* ClientSession::find_link(std::string_view identity_key) const {
    for (const auto& link : links_) {
        if (routing::identity_key(link->identity()) == identity_key) return link.get();
    }
    return nullptr;
}

void ClientSession::keep_inactive_links_alive() {
    for (const auto& link : links_) {
        if (link.get() != active_ && link->ready()) send_internal(*link, "NOOP", {});
    }
    schedule_keepalive();
}

void ClientSession::schedule_keepalive() {
    // With one link there is nothing inactive to keep alive: no timer at all.
    if (links_.size() > 1 && !keepalive_timer_.pending()) {
        keepalive_timer_.start(keepalive_interval, [this] { keep_inactive_links_alive(); });
    }
}

void ClientSession::restart_idle_timer() {
    idle_timer_.start(config_.limits.idle_timeout,
                      [this] { close_with("* BYE Idle timeout, closing connection\r\n"); });
}

}  // namespace imapfront::session
