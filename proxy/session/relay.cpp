// The authenticated state: relaying between the client and the active
// backend link, and the commands imapfront keeps for itself after login.
#include "proxy/session/client_session.h"

#include "proxy/imap/capabilities.h"
#include "proxy/imap/status_line.h"
#include "proxy/session/log.h"

#include <algorithm>
#include <utility>

namespace imapfront::session {
namespace {

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
    if (name == "VHOST") return write_client(command.tag + " BAD VHOST is only valid before login\r\n");
    if (name == "STARTTLS" || name == "LOGIN" || name == "AUTHENTICATE") {
        return write_client(command.tag + " BAD Already logged in\r\n");
    }
    write_client(command.tag + " BAD " + name + " is not supported here\r\n");
}

void ClientSession::on_link_ready(BackendLink& link) {
    enter(State::Authenticated);
    framer_.set_limits(relay_limits(config_));
    login_timer_.stop();
    restart_idle_timer();
    log("login", {{"result", "ok"}});
    write_client(login_tag_ + " OK [CAPABILITY " + imap::rewrite_capability_list(link.capabilities()) +
                 "] Logged in\r\n");
    resume_held_input();
}

void ClientSession::on_link_failed(BackendLink&, const Failure& failure) {
    log("login", {{"result", failure_name(failure.kind)}, {"reason", failure.detail}});
    retire_link();
    login_refused(login_tag_, login_failure_answer(failure), counts_as_auth_failure(failure));
    resume_held_input();
}

void ClientSession::retire_link() {
    if (!link_) return;
    // The link may be inside one of its own callbacks: free it once the stack unwinds.
    host_.loop().defer([retired = std::shared_ptr<BackendLink>(std::move(link_))] {});
}

void ClientSession::on_link_response(BackendLink& link, const imap::ResponseEvent& event) {
    switch (event.kind) {
    case imap::ResponseEvent::Kind::NeedMore: return;
    case imap::ResponseEvent::Kind::Error:
        log("backend_error", {{"reason", "malformed response"}});
        write_client(std::exchange(to_client_, {}));
        close_with("* BYE [UNAVAILABLE] Backend protocol error\r\n");
        return;
    case imap::ResponseEvent::Kind::LiteralData:
        if (!swallowing_) to_client_.append(event.data);
        return;
    case imap::ResponseEvent::Kind::Line: break;
    }
    if (event.first_line) {
        const imap::ResponseFramer& framer = link.framer();
        response_tagged_ = framer.type() == imap::ResponseType::Tagged;
        response_tag_.assign(response_tagged_ ? framer.tag() : std::string_view{});
        swallowing_ = response_tagged_ && std::find(in_flight_.begin(), in_flight_.end(), response_tag_) == in_flight_.end();
        if (framer.type() == imap::ResponseType::Untagged && framer.status() == "BYE") backend_said_bye_ = true;
    }
    if (!swallowing_) {
        std::optional<std::string> rewritten;
        if (event.first_line && mentions_capability(event.data)) rewritten = imap::rewrite_capability_line(event.data);
        if (rewritten) {
            to_client_.append(*rewritten);
        } else {
            to_client_.append(event.data);
        }
    }
    if (event.response_complete) {
        const bool finished_client_command = response_tagged_ && !swallowing_;
        swallowing_ = false;
        if (finished_client_command) command_finished(response_tag_);
    }
}

void ClientSession::on_link_input_done(BackendLink&) {
    if (!to_client_.empty()) write_client(std::exchange(to_client_, {}));
    if (waiting_command_ && in_flight_.empty()) {
        LocalCommand command = std::move(*waiting_command_);
        waiting_command_.reset();
        handle_authenticated(command);
        resume_held_input();
    }
}

void ClientSession::command_finished(std::string_view tag) {
    const auto it = std::find(in_flight_.begin(), in_flight_.end(), tag);
    if (it != in_flight_.end()) in_flight_.erase(it);
}

void ClientSession::on_link_closed(BackendLink&, std::string_view reason) {
    log("backend_closed", {{"reason", reason}});
    if (!to_client_.empty()) write_client(std::exchange(to_client_, {}));
    retire_link();
    close_with(backend_said_bye_ ? "" : "* BYE [UNAVAILABLE] Backend connection lost\r\n");
}

void ClientSession::on_link_drained(BackendLink&) {
    if (state_ == State::Authenticated && !waiting_command_) client_->resume_reading();
}

void ClientSession::restart_idle_timer() {
    idle_timer_.start(config_.limits.idle_timeout, [this] { close_with("* BYE Idle timeout, closing connection\r\n"); });
}

}  // namespace imapfront::session
