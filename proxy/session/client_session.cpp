#include "proxy/session/client_session.h"

#include "proxy/admin/metrics.h"
#include "proxy/imap/capabilities.h"
#include "proxy/imap/status_line.h"
#include "proxy/net/proxy_protocol.h"
#include "proxy/session/log.h"

#include <algorithm>
#include <utility>

namespace imapfront::session {
namespace {

// Literal chunks this big are written from the read buffer itself rather
// than gathered with the small lines around them.
constexpr std::size_t direct_write_min = 4096;

// Client bytes held while a command waits (login, SELECTA): beyond this the
// session stops reading the client until it catches up.
constexpr std::size_t held_input_limit = 64 * 1024;
// A command imapfront handles itself (LISTA, SELECTA...) is small.
constexpr std::size_t local_command_limit = 64 * 1024;

}  // namespace

std::string_view state_name(State state) {
    switch (state) {
    case State::ProxyHeader: return "proxy_header";
    case State::TlsHandshake: return "tls_handshake";
    case State::NotAuthenticated: return "not_authenticated";
    case State::LoggingIn: return "logging_in";
    case State::LoginDelay: return "login_delay";
    case State::Authenticated: return "authenticated";
    case State::Switching: return "switching";
    case State::Closing: return "closing";
    }
    return "unknown";
}

ClientSession::ClientSession(SessionHost& host, std::shared_ptr<const Snapshot> snapshot,
                             const config::Listener& listener, std::unique_ptr<net::Stream> client, net::Endpoint peer,
                             std::uint64_t id)
    : host_(host),
      snapshot_(std::move(snapshot)),
      config_(*snapshot_->config),
      listener_(listener),
      client_(std::move(client)),
      id_(std::to_string(id)),
      client_address_(std::move(peer)),
      framer_(imap::preauth_limits()),
      login_timer_(host.loop()),
      idle_timer_(host.loop()),
      delay_timer_(host.loop()),
      keepalive_timer_(host.loop()) {
    client_->set_handler(this);
    admin::Metrics::global().active_sessions.add(1);
}

ClientSession::~ClientSession() {
    if (client_) client_->set_handler(nullptr);
    admin::Metrics::global().active_sessions.add(-1);
}

void ClientSession::start() {
    login_timer_.start(config_.limits.login_timeout,
                       [this] { close_with("* BYE Login timeout, closing connection\r\n"); });
    if (listener_.proxy_protocol) {
        enter(State::ProxyHeader);
        return;
    }
    greet();
}

void ClientSession::greet(std::string_view received) {
    log("connect", {{"listener", listener_.name}, {"client_port", std::to_string(client_address_.port)}});
    if (listener_.tls == config::TlsMode::Implicit) {
        enter(State::TlsHandshake);
        client_->start_tls_server(snapshot_->server_tls, received);
        return;
    }
    enter(State::NotAuthenticated);
    write_client("* OK [CAPABILITY " + preauth_capabilities() + "] imapfront ready\r\n");
    if (!received.empty()) on_data(received);
}

void ClientSession::on_proxy_header(std::string_view bytes) {
    proxy_header_.append(bytes);
    const net::ProxyParse parsed = net::parse_proxy_header(proxy_header_);
    switch (parsed.status) {
    case net::ProxyParse::Status::NeedMore: return;
    case net::ProxyParse::Status::Invalid:
        log("proxy_header_invalid", {{"reason", parsed.error}});
        enter(State::Closing);
        client_->close();
        return;
    case net::ProxyParse::Status::Done: break;
    }
    if (!parsed.addresses.local) client_address_ = {parsed.addresses.source_ip, parsed.addresses.source_port};
    // Bytes after the header are the client's: TLS records or commands.
    const std::string rest = std::exchange(proxy_header_, {}).substr(parsed.consumed);
    greet(rest);
}

void ClientSession::drain() {
    draining_ = true;
    if (state_ == State::Authenticated || state_ == State::Switching) {
        close_if_drained();
        return;
    }
    force_close();
}

void ClientSession::force_close() { close_with("* BYE [UNAVAILABLE] Server shutting down\r\n"); }

void ClientSession::close_if_drained() {
    if (!draining_ || state_ != State::Authenticated || forwarding_ || collecting_) return;
    // An IDLE may wait for hours; a BYE ends it as well as any update would.
    const bool only_idle = std::all_of(in_flight_.begin(), in_flight_.end(),
                                       [](const InFlight& command) { return command.name == "IDLE"; });
    if (only_idle) force_close();
}

void ClientSession::enter(State next) {
    if (log_enabled(LogLevel::Debug)) {
        log("state", {{"from", state_name(state_)}, {"to", state_name(next)}});
    }
    state_ = next;
}

void ClientSession::close_with(std::string_view bye_line) {
    if (state_ == State::Closing) return;
    write_client(std::string(bye_line));
    enter(State::Closing);
    login_timer_.stop();
    idle_timer_.stop();
    delay_timer_.stop();
    keepalive_timer_.stop();
    for (const auto& link : links_) link->logout();
    held_.clear();
    client_->close();
}

void ClientSession::finish() {
    if (finished_) return;
    finished_ = true;
    login_timer_.stop();
    idle_timer_.stop();
    delay_timer_.stop();
    keepalive_timer_.stop();
    for (const auto& link : links_) link->logout();
    host_.session_finished(*this);
}

// ---- client side I/O -------------------------------------------------------

bool ClientSession::accepting_commands() const {
    // Switching is left out on purpose: commands after SELECTA wait for it.
    return (state_ == State::NotAuthenticated || state_ == State::Authenticated) && !waiting_command_;
}

void ClientSession::on_data(std::string_view bytes) {
    if (state_ == State::ProxyHeader) {
        on_proxy_header(bytes);
        return;
    }
    if (state_ == State::Closing || state_ == State::TlsHandshake) return;
    // A TLS handshake record (0x16) as a client's first byte: it expected implicit TLS here.
    if (!client_spoke_ && !bytes.empty() && bytes.front() == '\x16' && !client_->tls_active()) {
        close_with("* BYE This port does not start with TLS; use STARTTLS or the TLS port\r\n");
        return;
    }
    client_spoke_ = true;
    if (state_ == State::Authenticated || state_ == State::Switching) restart_idle_timer();
    if (!accepting_commands() || !held_.empty()) {
        held_.append(bytes);
        if (held_.size() > held_input_limit) client_->pause_reading();
        return;
    }
    process(bytes);
}

void ClientSession::resume_held_input() {
    if (!accepting_commands() || held_.empty()) return;
    const std::string pending = std::exchange(held_, {});
    process(pending);
    if (accepting_commands()) client_->resume_reading();
}

void ClientSession::process(std::string_view input) {
    while (!input.empty() && accepting_commands()) {
        if (draining_ && state_ == State::Authenticated && !forwarding_ && !collecting_) {
            // A command boundary while draining: nothing new starts.
            input = {};
            close_if_drained();
            break;
        }
        const imap::CommandEvent event = framer_.next(input);
        input.remove_prefix(event.consumed);
        switch (event.kind) {
        case imap::CommandEvent::Kind::NeedMore: break;
        case imap::CommandEvent::Kind::Line: on_command_line(event, input); break;
        case imap::CommandEvent::Kind::LiteralData: on_literal_data(event); break;
        case imap::CommandEvent::Kind::Error: on_framer_error(event); break;
        }
    }
    flush_backend();
    // After STARTTLS the rest is plaintext sent before the handshake: dropped, never executed.
    if (!input.empty() && state_ != State::Closing && state_ != State::TlsHandshake) held_.append(input);
}

void ClientSession::write_client(std::string bytes) {
    // Responses relayed in this read go first: nothing overtakes them.
    if (!to_client_.empty()) bytes.insert(0, std::exchange(to_client_, {}));
    if (state_ == State::Closing || bytes.empty()) return;
    client_->write(std::move(bytes));
    if (active_ && client_->above_high_watermark()) active_->pause_reading();
}

void ClientSession::relay_to_backend(std::string_view bytes) {
    if (bytes.size() < direct_write_min || !active_) {
        to_backend_.append(bytes);
        return;
    }
    flush_backend();
    admin::Metrics::global().bytes_from_clients.add(bytes.size());
    active_->write_view(bytes);
    if (active_->above_high_watermark()) client_->pause_reading();
}

void ClientSession::relay_to_client(std::string_view bytes) {
    if (bytes.size() < direct_write_min || state_ == State::Closing) {
        to_client_.append(bytes);
        return;
    }
    if (!to_client_.empty()) {
        admin::Metrics::global().bytes_to_clients.add(to_client_.size());
        client_->write(std::exchange(to_client_, {}));
    }
    admin::Metrics::global().bytes_to_clients.add(bytes.size());
    client_->write_view(bytes);
    if (active_ && client_->above_high_watermark()) active_->pause_reading();
}

void ClientSession::flush_backend() {
    if (to_backend_.empty() || !active_) return;
    admin::Metrics::global().bytes_from_clients.add(to_backend_.size());
    active_->write(std::exchange(to_backend_, {}));
    if (active_->above_high_watermark()) client_->pause_reading();
}

void ClientSession::on_closed(std::string_view reason) {
    log("disconnect", {{"reason", reason}});
    finish();
}

void ClientSession::on_tls_ready() {
    if (state_ != State::TlsHandshake) return;
    const bool implicit = listener_.tls == config::TlsMode::Implicit;
    enter(State::NotAuthenticated);
    if (implicit) write_client("* OK [CAPABILITY " + preauth_capabilities() + "] imapfront ready\r\n");
}

void ClientSession::on_drained() {
    if (active_) active_->resume_reading();
}

// ---- framing ---------------------------------------------------------------

bool ClientSession::intercepted(std::string_view name) const {
    static constexpr std::string_view local_commands[] = {"CAPABILITY", "LOGOUT",   "LISTA", "SELECTA",
                                                          "VHOST",      "STARTTLS", "LOGIN", "AUTHENTICATE"};
    for (const auto local : local_commands) {
        if (name == local) return true;
    }
    return false;
}

void ClientSession::on_command_line(const imap::CommandEvent& event, std::string_view& rest) {
    if (event.line_kind == imap::LineKind::Raw) {
        handle_sasl_line(event.data);
        if (state_ == State::TlsHandshake) rest = {};
        return;
    }
    if (event.line_kind == imap::LineKind::IdleDone) {
        if (state_ == State::Authenticated) {
            to_backend_.append(event.data);
        } else {
            write_client("* BAD Unexpected DONE\r\n");
        }
        return;
    }
    if (event.first_line) {
        const std::string_view tag = framer_.tag();
        const std::string_view name = framer_.name();
        if (state_ == State::Authenticated && !intercepted(name)) {
            forwarding_ = true;
            collecting_ = false;
            InFlight command{std::string(tag), std::string(name), {}, std::chrono::steady_clock::now()};
            if (name == "ID" || name == "ENABLE") {
                command.arguments =
                    std::string(event.data.substr(std::min(event.data.size(), tag.size() + 1 + name.size())));
            }
            in_flight_.push_back(std::move(command));
            to_backend_.append(event.data);
        } else {
            forwarding_ = false;
            collecting_ = true;
            collected_ = {std::string(tag), std::string(name),
                          std::string(event.data.substr(std::min(event.data.size(), tag.size() + 1 + name.size())))};
        }
    } else if (forwarding_) {
        to_backend_.append(event.data);
    } else if (collecting_) {
        collected_.wire.append(event.data);
    }

    if (collecting_ && collected_.wire.size() > local_command_limit) {
        close_with("* BYE Command too long\r\n");
        return;
    }
    if (event.command_complete) {
        forwarding_ = false;
        if (collecting_) {
            collecting_ = false;
            dispatch(std::move(collected_));
            if (state_ == State::TlsHandshake) rest = {};
        }
        return;
    }
    if (collecting_ && event.literal && event.literal->synchronizing) {
        write_client("+ Ready for literal data\r\n");
    }
}

void ClientSession::on_literal_data(const imap::CommandEvent& event) {
    if (forwarding_) {
        relay_to_backend(event.data);
    } else if (collecting_) {
        collected_.wire.append(event.data);
    }
}

void ClientSession::on_framer_error(const imap::CommandEvent& event) {
    const std::string tag = event.error == imap::FramerError::BadTag ? "*" : std::string(framer_.tag());
    const bool preauth = state_ != State::Authenticated;
    forwarding_ = false;
    collecting_ = false;
    switch (event.error) {
    case imap::FramerError::LineTooLong:
        write_client("* BAD Line too long\r\n");
        close_with("* BYE Line too long, closing connection\r\n");
        return;
    case imap::FramerError::LiteralTooLarge:
        if (event.fatal || preauth) {
            close_with("* BYE Literal too large, closing connection\r\n");
        } else {
            write_client(tag + " NO [TOOBIG] Literal too large\r\n");
        }
        return;
    case imap::FramerError::BadTag: write_client("* BAD Invalid tag\r\n"); break;
    case imap::FramerError::BadCommand: write_client(tag + " BAD Invalid command syntax\r\n"); break;
    case imap::FramerError::BadLiteral: write_client(tag + " BAD Invalid literal\r\n"); break;
    case imap::FramerError::None: break;
    }
    if (event.fatal) close_with("* BYE Protocol error, closing connection\r\n");
}

void ClientSession::dispatch(LocalCommand command) {
    if (state_ == State::NotAuthenticated) {
        handle_preauth(command);
        return;
    }
    // A local answer must not overtake the answers of commands sent before it.
    if (!in_flight_.empty()) {
        waiting_command_ = std::make_unique<LocalCommand>(std::move(command));
        return;
    }
    handle_authenticated(command);
}

LinkTarget ClientSession::link_target(const routing::Route& route, LoginCredentials credentials) const {
    LinkTarget target;
    target.identity = route.identity;
    target.backend = route.server;
    target.tls = snapshot_->tls_for(*route.server);
    target.timeout = config_.limits.backend_timeout;
    target.plan.starttls = route.server->tls == config::TlsMode::StartTls;
    target.plan.credentials = std::move(credentials);
    const net::Endpoint local = client_->local();
    switch (route.pool->forward_client_ip) {
    case config::ForwardClientIp::None: break;
    case config::ForwardClientIp::Id:
        target.plan.id_fields = {{"x-originating-ip", client_address_.ip},
                                 {"x-originating-port", std::to_string(client_address_.port)},
                                 {"x-connected-ip", local.ip},
                                 {"x-connected-port", std::to_string(local.port)},
                                 {"x-session-id", id_}};
        break;
    case config::ForwardClientIp::ProxyV2:
        target.proxy_header =
            net::build_proxy_v2(client_address_.ip, client_address_.port, local.ip, local.port).value_or("");
        break;
    }
    return target;
}

void ClientSession::log(std::string_view event,
                        std::initializer_list<std::pair<std::string_view, std::string_view>> extra) {
    if (!log_enabled(LogLevel::Info)) return;
    std::vector<LogField> fields{{"session", id_}, {"client", client_address_.ip}, {"state", state_name(state_)}};
    if (!vhost_name_.empty()) fields.emplace_back("vhost", vhost_name_);
    if (!identity_.empty()) fields.emplace_back("identity", identity_);
    if (active_) {
        fields.emplace_back("backend", active_->backend_name());
        fields.emplace_back("active_identity", active_->identity());
    }
    fields.insert(fields.end(), extra.begin(), extra.end());
    log_fields(LogLevel::Info, event, fields);
}

}  // namespace imapfront::session
