#include "proxy/session/relay.h"

#include "proxy/admin/metrics.h"
#include "proxy/imap/capabilities.h"
#include "proxy/imap/status_line.h"
#include "routing/identity.h"
#include "routing/profiles.h"

#include <algorithm>
#include <optional>
#include <utility>

namespace imapfront::session {
namespace {

using imap::iequals;

// Literal chunks this big are written from the read buffer itself rather
// than gathered with the small lines around them.
constexpr std::size_t direct_write_min = 4096;

// ENABLE is replayed on every link that becomes active: the set is kept, not
// the commands, and it is bounded (RFC 5161 extensions are few).
constexpr std::size_t max_enabled = 32;
constexpr std::size_t max_extension_name = 64;

constexpr std::string_view local_commands[] = {"CAPABILITY", "LOGOUT",   "LISTA", "SELECTA",
                                               "VHOST",      "STARTTLS", "LOGIN", "AUTHENTICATE"};

bool mentions_capability(std::string_view line) {
    // Cheap pre-check before the exact parse: most lines never mention it.
    const std::size_t head = std::min<std::size_t>(line.size(), 256);
    for (std::size_t i = 0; i + 10 <= head; ++i) {
        if ((line[i] == 'C' || line[i] == 'c') && imap::istarts_with(line.substr(i), "CAPABILITY")) return true;
    }
    return false;
}

}  // namespace

Relay::Relay(SessionCore& core, net::EventLoop& loop, std::unique_ptr<BackendLink> link, std::string client_id)
    : core_(core),
      loop_(loop),
      links_(core, loop, core.context().config.multiaccount.max_links),
      setup_{std::move(client_id), {}} {
    links_.adopt_active(std::move(link), *this);
}

Relay::~Relay() { links_.close_all(false); }

bool Relay::relays(std::string_view command_name) const {
    return std::find(std::begin(local_commands), std::end(local_commands), command_name) == std::end(local_commands);
}

void Relay::begin_command(std::string_view tag, std::string_view name, std::string_view line) {
    InFlight command{std::string(tag), std::string(name), {}, std::chrono::steady_clock::now()};
    if (name == "ID" || name == "ENABLE") {
        command.arguments = std::string(line.substr(std::min(line.size(), tag.size() + 1 + name.size())));
    }
    in_flight_.push_back(std::move(command));
    to_backend_.append(line);
}

void Relay::forward(std::string_view line) { to_backend_.append(line); }

void Relay::forward_literal(std::string_view data) {
    BackendLink* active = links_.active();
    if (data.size() < direct_write_min || !active) {
        to_backend_.append(data);
        return;
    }
    flush_to_backend();
    core_.context().metrics.bytes_from_clients.add(data.size());
    active->write_view(data);
    if (active->above_high_watermark()) core_.update_client_reading();
}

void Relay::await_continuation() {
    // Only the newest command can be waiting: the client sends nothing more until it is answered.
    if (in_flight_.empty()) return;
    in_flight_.back().awaits_continuation = true;
    awaiting_continuation_ = true;
}

void Relay::flush_to_backend() {
    BackendLink* active = links_.active();
    if (to_backend_.empty() || !active) return;
    core_.context().metrics.bytes_from_clients.add(to_backend_.size());
    active->write(std::exchange(to_backend_, {}));
    if (active->above_high_watermark()) core_.update_client_reading();
}

bool Relay::holds_input() const { return waiting_command_ || switch_ || awaiting_continuation_; }

bool Relay::at_command_boundary() const {
    // An IDLE may wait for hours; a BYE ends it as well as any update would.
    return !switch_ && !waiting_command_ &&
           std::all_of(in_flight_.begin(), in_flight_.end(), [](const InFlight& c) { return c.name == "IDLE"; });
}

bool Relay::backend_congested() const {
    const BackendLink* active = links_.active();
    return active && active->above_high_watermark();
}

void Relay::client_congested() { links_.pause_reading(); }

void Relay::client_drained() { links_.resume_reading(); }

void Relay::close_links(bool abort) { links_.close_all(abort); }

const std::string& Relay::capabilities() const {
    static const std::string none;
    const BackendLink* active = links_.active();
    return active ? active->capabilities() : none;
}

// ---- commands imapfront answers after login --------------------------------

void Relay::handle(LocalCommand command) {
    // A local answer must not overtake the answers of commands sent before it.
    if (!in_flight_.empty()) {
        waiting_command_ = std::make_unique<LocalCommand>(std::move(command));
        return;
    }
    core_.execute(run_local(command));
}

Decision Relay::run_local(const LocalCommand& command) {
    const std::string& name = command.name;
    if (name == "CAPABILITY") return cmd_capability(command);
    if (name == "LOGOUT") return Decision{Decision::Kind::Logout, {}, command.tag, {}, {}, false};
    if (name == "LISTA") return cmd_lista(command);
    if (name == "SELECTA") return cmd_selecta(command);
    if (name == "VHOST") return Decision::reply(command.tag + " BAD VHOST is only valid before login\r\n");
    return Decision::reply(command.tag + " BAD Already logged in\r\n");
}

Decision Relay::cmd_capability(const LocalCommand& command) {
    return Decision::reply("* CAPABILITY " + imap::rewrite_capability_list(capabilities()) + "\r\n" + command.tag +
                           " OK CAPABILITY completed\r\n");
}

void Relay::run_waiting_command() {
    if (!waiting_command_ || !in_flight_.empty()) return;
    const LocalCommand command = std::move(*std::exchange(waiting_command_, nullptr));
    core_.execute(run_local(command));
    core_.resume_input();
}

void Relay::command_finished(std::string_view tag, std::string_view status) {
    const auto it =
        std::find_if(in_flight_.begin(), in_flight_.end(), [&](const InFlight& command) { return command.tag == tag; });
    if (it == in_flight_.end()) return;
    const bool ok = iequals(status, "OK");
    const std::string& name = it->name;
    if (name != "IDLE") {
        const std::chrono::duration<double> took = std::chrono::steady_clock::now() - it->sent;
        core_.context().metrics.command_latency.observe(took.count());
    }
    if (name == "SELECT" || name == "EXAMINE") {
        // RFC 3501 6.3.1: a failed SELECT leaves no mailbox selected.
        if (ok || iequals(status, "NO")) mailbox_selected_ = ok;
    } else if ((name == "CLOSE" || name == "UNSELECT") && ok) {
        mailbox_selected_ = false;
    } else if (name == "ENABLE" && ok) {
        remember_enabled(it->arguments);
    } else if (name == "ID") {
        setup_.id_arguments = it->arguments;
    }
    const bool refused_literal = awaiting_continuation_ && it->awaits_continuation;
    in_flight_.erase(it);
    if (refused_literal) {
        awaiting_continuation_ = false;
        core_.literal_refused();
    }
}

void Relay::remember_enabled(std::string_view arguments) {
    std::vector<std::string>* on_link = links_.active() ? links_.enabled_on(*links_.active()) : nullptr;
    std::size_t start = 0;
    while (start < arguments.size()) {
        while (start < arguments.size() &&
               (arguments[start] == ' ' || arguments[start] == '\r' || arguments[start] == '\n')) {
            ++start;
        }
        std::size_t end = start;
        while (end < arguments.size() && arguments[end] != ' ' && arguments[end] != '\r' && arguments[end] != '\n') {
            ++end;
        }
        if (end > start && end - start <= max_extension_name) {
            std::string extension(arguments.substr(start, end - start));
            for (char& c : extension) c = static_cast<char>(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
            const bool valid = std::all_of(extension.begin(), extension.end(), [](char c) {
                return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '=' || c == '+' ||
                       c == '.' || c == '_';
            });
            const auto known = [&](const std::vector<std::string>& set) {
                return std::find(set.begin(), set.end(), extension) != set.end();
            };
            if (valid && !known(setup_.enabled) && setup_.enabled.size() < max_enabled) {
                setup_.enabled.push_back(extension);
            }
            if (valid && on_link && !known(*on_link) && on_link->size() < max_enabled) on_link->push_back(extension);
        }
        start = end;
    }
}

// ---- backend -> client -----------------------------------------------------

void Relay::relay_to_client(std::string_view bytes) {
    if (bytes.size() < direct_write_min || core_.state() == State::Closing) {
        to_client_.append(bytes);
        return;
    }
    flush_to_client();
    if (core_.state() == State::Closing) return;
    core_.context().metrics.bytes_to_clients.add(bytes.size());
    core_.client().write_view(bytes);
    if (core_.client().above_high_watermark()) client_congested();
}

std::string Relay::take_client_output() {
    if (!to_client_.empty()) core_.context().metrics.bytes_to_clients.add(to_client_.size());
    return std::exchange(to_client_, {});
}

void Relay::flush_to_client() {
    if (!to_client_.empty()) core_.write_client({});
}

void Relay::on_link_response(BackendLink& link, const imap::ResponseEvent& event) {
    switch (event.kind) {
    case imap::ResponseEvent::Kind::NeedMore: return;
    case imap::ResponseEvent::Kind::Error:
        core_.log(LogLevel::Warn, "backend_error", {{"reason", "malformed response"}});
        flush_to_client();
        core_.close("* BYE [UNAVAILABLE] Backend protocol error\r\n");
        return;
    case imap::ResponseEvent::Kind::LiteralData:
        if (!swallowing_) relay_to_client(event.data);
        return;
    case imap::ResponseEvent::Kind::Line: break;
    }
    const bool tagged = event.type == imap::ResponseType::Tagged;
    if (event.first_line) {
        const auto is_client_tag = [&](const InFlight& command) { return command.tag == event.tag; };
        swallowing_ = tagged && std::none_of(in_flight_.begin(), in_flight_.end(), is_client_tag);
        if (event.type == imap::ResponseType::Untagged && event.status == "BYE") backend_said_bye_ = true;
        if (event.type == imap::ResponseType::Continuation && awaiting_continuation_) {
            // The client may send its literal now; it reads this "+" first.
            awaiting_continuation_ = false;
            for (InFlight& command : in_flight_) command.awaits_continuation = false;
            to_client_.append(event.data);
            flush_to_client();
            core_.resume_input();
            return;
        }
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
            links_.complete_internal(link, event.tag, event.status);
        } else {
            command_finished(event.tag, event.status);
        }
    }
}

void Relay::on_link_input_done(BackendLink&) {
    flush_to_client();
    run_waiting_command();
    core_.command_boundary();
}

void Relay::on_link_closed(BackendLink& link, std::string_view reason) {
    core_.log(LogLevel::Warn, "backend_closed", {{"reason", reason}});
    flush_to_client();
    links_.retire(link);
    core_.close(backend_said_bye_ ? "" : "* BYE [UNAVAILABLE] Backend connection lost\r\n");
}

void Relay::on_link_drained(BackendLink&) { core_.update_client_reading(); }

// ---- multi-account (draft-lu-imap-multi-account) ---------------------------

std::string Relay::authenticated_identity(std::string_view requested) const {
    const config::Config& config = core_.context().config;
    return routing::find_authenticated(routing::authenticated_identities(config, core_.context().identity), requested);
}

void Relay::on_switch_deselected() {
    mailbox_selected_ = false;
    core_.write_client("* OK [CLOSED] Previous mailbox closed\r\n");
}

void Relay::on_switch_done(BackendLink& target) {
    links_.activate(target, *this);
    if (!core_.client().above_high_watermark()) target.resume_reading();
    swallowing_ = false;
    backend_said_bye_ = false;
    core_.log(LogLevel::Info, "selecta", {{"result", "ok"}});
    core_.context().metrics.selecta(admin::MultiResult::Ok).add();
    const std::string tag = switch_->tag();
    end_switch();
    core_.write_client(tag + " OK [CAPABILITY " + imap::rewrite_capability_list(target.capabilities()) +
                       "] SELECTA completed\r\n");
    core_.resume_input();
    core_.command_boundary();
}

void Relay::on_switch_failed(std::string answer) {
    core_.context().metrics.selecta(admin::MultiResult::Unavailable).add();
    const std::string tag = switch_->tag();
    end_switch();
    core_.write_client(tag + " " + answer + "\r\n");
    core_.resume_input();
    core_.command_boundary();
}

void Relay::end_switch() {
    core_.enter(State::Authenticated);
    // The switch is inside one of its own callbacks: free it once the stack unwinds.
    loop_.defer([finished = std::shared_ptr<AccountSwitch>(std::move(switch_))] {});
}

}  // namespace imapfront::session
