#include "proxy/session/client_session.h"

#include "proxy/admin/metrics.h"
#include "proxy/imap/capabilities.h"
#include "proxy/net/proxy_protocol.h"
#include "proxy/session/failure.h"
#include "proxy/session/link_target.h"
#include "routing/route.h"

#include <algorithm>
#include <utility>

namespace imapfront::session {
namespace {

// Client bytes held while a command waits (login, SELECTA, a literal waiting
// for the backend's "+"): beyond this the session stops reading the client
// until it catches up.
constexpr std::size_t held_input_limit = 64 * 1024;
// A command imapfront handles itself (LISTA, SELECTA...) is small.
constexpr std::size_t local_command_limit = 64 * 1024;
// Invalid commands a client may send before login (Dovecot and nginx close
// such a connection after about as many).
constexpr int bad_commands_limit = 10;
// After BYE the client has this long to read it; then the connection is
// closed whether or not it did.
constexpr std::chrono::seconds bye_send_deadline{10};

imap::Limits relay_limits(const config::Config& config) {
    imap::Limits limits;
    limits.max_line = config.limits.max_line;
    return limits;
}

// Frees a part of the session once the callback it may be inside has unwound.
template <typename Part>
void retire_later(net::EventLoop& loop, std::unique_ptr<Part>& part) {
    if (part) loop.defer([retired = std::shared_ptr<Part>(std::move(part))] {});
}

}  // namespace

ClientSession::ClientSession(SessionHost& host, std::shared_ptr<const Snapshot> snapshot,
                             const config::Listener& listener, std::unique_ptr<net::Stream> client, net::Endpoint peer,
                             std::uint64_t id)
    : context_{host, host.metrics(), snapshot, *snapshot->config, listener, std::to_string(id), std::move(peer), {},
               {}},
      client_(std::move(client)),
      framer_(imap::preauth_limits()),
      preauth_(std::make_unique<PreAuth>(static_cast<SessionCore&>(*this), host.loop())),
      login_timer_(host.loop()),
      idle_timer_(host.loop()),
      bye_timer_(host.loop()) {
    client_->set_handler(this);
    context_.metrics.active_sessions.add(1);
}

ClientSession::~ClientSession() {
    if (client_) client_->set_handler(nullptr);
    context_.metrics.active_sessions.add(-1);
}

// ---- life: start, states, the one close path -------------------------------

void ClientSession::start() {
    login_timer_.start(context_.config.limits.login_timeout,
                       [this] { close("* BYE Login timeout, closing connection\r\n"); });
    if (context_.listener.proxy_protocol) {
        state_ = State::ProxyHeader;
        return;
    }
    greet();
}

void ClientSession::greet(std::string_view received) {
    log(LogLevel::Info, "connect",
        {{"listener", context_.listener.name}, {"client_port", std::to_string(context_.client_address.port)}});
    if (context_.listener.tls == config::TlsMode::Implicit) {
        enter(State::TlsHandshake);
        client_->start_tls_server(context_.snapshot->server_tls, received);
        return;
    }
    enter(State::NotAuthenticated);
    write_greeting();
    if (!received.empty()) on_data(received);
}

void ClientSession::write_greeting() {
    write_client("* OK [CAPABILITY " + preauth_->capabilities() + "] imapfront ready\r\n");
}

void ClientSession::on_tls_ready() {
    if (state_ != State::TlsHandshake) return;
    enter(State::NotAuthenticated);
    // After STARTTLS the client speaks first; after implicit TLS it waits for the greeting.
    if (context_.listener.tls == config::TlsMode::Implicit) {
        write_greeting();
    }
}

void ClientSession::on_proxy_header(std::string_view bytes) {
    if (!proxy_header_) proxy_header_ = std::make_unique<std::string>();
    proxy_header_->append(bytes);
    const net::ProxyParse parsed = net::parse_proxy_header(*proxy_header_);
    switch (parsed.status) {
    case net::ProxyParse::Status::NeedMore: return;
    case net::ProxyParse::Status::Invalid:
        log(LogLevel::Info, "proxy_header_invalid", {{"reason", parsed.error}});
        close("");
        return;
    case net::ProxyParse::Status::Done: break;
    }
    if (!parsed.addresses.local) context_.client_address = {parsed.addresses.source_ip, parsed.addresses.source_port};
    // Bytes after the header are the client's: TLS records or commands.
    const std::string rest = std::exchange(proxy_header_, nullptr)->substr(parsed.consumed);
    greet(rest);
}

bool ClientSession::enter(State next) {
    if (next == state_) return true;
    if (!transition_allowed(state_, next)) {
        log(LogLevel::Error, "state_refused", {{"to", state_name(next)}});
        return false;
    }
    if (log_enabled(LogLevel::Debug)) log(LogLevel::Debug, "state", {{"to", state_name(next)}});
    state_ = next;
    return true;
}

void ClientSession::drain() {
    draining_ = true;
    if (state_ == State::Authenticated || state_ == State::Switching) {
        command_boundary();
        return;
    }
    force_close();
}

void ClientSession::force_close() { close("* BYE [UNAVAILABLE] Server shutting down\r\n"); }

void ClientSession::command_boundary() {
    if (!draining_ || state_ != State::Authenticated || forwarding_ || collected_ || !relay_) return;
    if (relay_->at_command_boundary()) force_close();
}

void ClientSession::close(std::string_view bye_line) {
    if (state_ == State::Closing) return;
    write_client(std::string(bye_line));
    enter(State::Closing);
    login_timer_.stop();
    idle_timer_.stop();
    stop_parts();
    held_.clear();
    client_->close();
    // A client that does not read would keep the connection (and its
    // buffers) forever: the BYE gets a deadline.
    bye_timer_.start(bye_send_deadline, [this] { client_->abort(); });
}

void ClientSession::stop_parts() {
    if (preauth_) preauth_->stop();
    if (login_) login_->abandon();
    retire_later(context_.host.loop(), preauth_);
    retire_later(context_.host.loop(), login_);
    if (relay_) relay_->close_links(false);
}

void ClientSession::finish() {
    if (finished_) return;
    finished_ = true;
    login_timer_.stop();
    idle_timer_.stop();
    bye_timer_.stop();
    stop_parts();
    context_.host.session_finished(*this);
}

void ClientSession::on_closed(std::string_view reason) {
    log(LogLevel::Info, "disconnect", {{"reason", reason}});
    finish();
}

// ---- client input ----------------------------------------------------------

bool ClientSession::accepting_commands() const {
    // Switching and LoggingIn are left out on purpose: commands after them wait.
    if (state_ == State::NotAuthenticated) return true;
    return state_ == State::Authenticated && !relay_->holds_input();
}

void ClientSession::on_data(std::string_view bytes) {
    if (state_ == State::ProxyHeader) {
        on_proxy_header(bytes);
        return;
    }
    if (state_ == State::Closing || state_ == State::TlsHandshake) return;
    // A TLS handshake record (0x16) as a client's first byte: it expected implicit TLS here.
    if (!client_spoke_ && !bytes.empty() && bytes.front() == '\x16' && !client_->tls_active()) {
        close("* BYE This port does not start with TLS; use STARTTLS or the TLS port\r\n");
        return;
    }
    client_spoke_ = true;
    if (state_ == State::Authenticated || state_ == State::Switching) restart_idle_timer();
    if (accepting_commands() && held_.empty()) {
        process(bytes);
        return;
    }
    held_.append(bytes);
    if (accepting_commands()) {
        resume_input();
    } else if (held_.size() > held_input_limit) {
        update_client_reading();
    }
}

void ClientSession::resume_input() {
    if (accepting_commands() && !held_.empty()) {
        const std::string pending = std::exchange(held_, {});
        process(pending);
    }
    update_client_reading();
}

void ClientSession::update_client_reading() {
    if (state_ == State::Closing) return;
    const bool output_congested = client_->above_high_watermark();
    if (output_congested && relay_) relay_->client_congested();
    const bool backend_congested = relay_ && relay_->backend_congested();
    if (output_congested || backend_congested || held_.size() > held_input_limit) {
        client_->pause_reading();
    } else {
        client_->resume_reading();
    }
}

void ClientSession::on_drained() {
    if (relay_) relay_->client_drained();
    update_client_reading();
}

void ClientSession::process(std::string_view input) {
    while (!input.empty() && accepting_commands()) {
        if (draining_ && state_ == State::Authenticated && !forwarding_ && !collected_) {
            // A command boundary while draining: nothing new starts.
            input = {};
            command_boundary();
            break;
        }
        const imap::CommandEvent event = framer_.next(input);
        input.remove_prefix(event.consumed);
        switch (event.kind) {
        case imap::CommandEvent::Kind::NeedMore: break;
        case imap::CommandEvent::Kind::Line: on_command_line(event, input); break;
        case imap::CommandEvent::Kind::LiteralData:
            if (forwarding_) {
                relay_->forward_literal(event.data);
            } else if (collected_) {
                collected_->wire.append(event.data);
            }
            break;
        case imap::CommandEvent::Kind::Error: on_framer_error(event); break;
        }
    }
    if (relay_ && state_ != State::Closing) relay_->flush_to_backend();
    // After STARTTLS the rest is plaintext sent before the handshake: dropped, never executed.
    if (!input.empty() && state_ != State::Closing && state_ != State::TlsHandshake) {
        held_.append(input);
        if (held_.size() > held_input_limit) update_client_reading();
    }
}

void ClientSession::on_command_line(const imap::CommandEvent& event, std::string_view& rest) {
    if (event.line_kind == imap::LineKind::Raw) {
        execute(preauth_ ? preauth_->sasl_line(event.data) : Decision::reply("* BAD Unexpected continuation\r\n"));
        if (state_ == State::TlsHandshake) rest = {};
        return;
    }
    if (event.line_kind == imap::LineKind::IdleDone) {
        if (state_ == State::Authenticated) {
            relay_->forward(event.data);
        } else {
            write_client("* BAD Unexpected DONE\r\n");
        }
        return;
    }
    if (event.first_line) {
        const std::string_view tag = framer_.tag();
        const std::string_view name = framer_.name();
        if (state_ == State::Authenticated && relay_->relays(name)) {
            forwarding_ = true;
            collected_.reset();
            relay_->begin_command(tag, name, event.data);
        } else {
            forwarding_ = false;
            collected_ = std::make_unique<LocalCommand>(LocalCommand{
                std::string(tag), std::string(name),
                std::string(event.data.substr(std::min(event.data.size(), tag.size() + 1 + name.size())))});
        }
    } else if (forwarding_) {
        relay_->forward(event.data);
    } else if (collected_) {
        collected_->wire.append(event.data);
    }

    if (collected_ && collected_->wire.size() > local_command_limit) {
        close("* BYE Command too long\r\n");
        return;
    }
    if (event.command_complete) {
        forwarding_ = false;
        if (collected_) {
            dispatch(std::move(*std::exchange(collected_, nullptr)));
            if (state_ == State::TlsHandshake) rest = {};
        }
        return;
    }
    if (event.literal && event.literal->synchronizing) {
        if (forwarding_) {
            // The backend may refuse the command instead of sending "+"; the
            // client then never sends the data, so none is read until it answers.
            relay_->await_continuation();
        } else if (collected_) {
            write_client("+ Ready for literal data\r\n");
        }
    }
}

void ClientSession::literal_refused() {
    framer_.cancel_literal();
    forwarding_ = false;
    resume_input();
}

void ClientSession::on_framer_error(const imap::CommandEvent& event) {
    const std::string tag = event.error == imap::FramerError::BadTag ? "*" : std::string(framer_.tag());
    const bool preauth = state_ != State::Authenticated;
    // Part of the command already went to the backend, which now waits for
    // the rest: no answer of ours can put that stream back in step.
    const bool mid_command = forwarding_;
    forwarding_ = false;
    collected_.reset();
    switch (event.error) {
    case imap::FramerError::LineTooLong:
        write_client("* BAD Line too long\r\n");
        close("* BYE Line too long, closing connection\r\n");
        return;
    case imap::FramerError::LiteralTooLarge:
        if (event.fatal || preauth || mid_command) {
            if (relay_) relay_->close_links(mid_command);
            close("* BYE Literal too large, closing connection\r\n");
        } else {
            write_client(tag + " NO [TOOBIG] Literal too large\r\n");
        }
        return;
    case imap::FramerError::BadTag: write_client("* BAD Invalid tag\r\n"); break;
    case imap::FramerError::BadCommand: write_client(tag + " BAD Invalid command syntax\r\n"); break;
    case imap::FramerError::BadLiteral: write_client(tag + " BAD Invalid literal\r\n"); break;
    case imap::FramerError::None: break;
    }
    if (mid_command) {
        relay_->close_links(true);
        close("* BYE Protocol error, closing connection\r\n");
        return;
    }
    if (event.fatal) {
        close("* BYE Protocol error, closing connection\r\n");
        return;
    }
    if (preauth) count_bad_command();
}

void ClientSession::count_bad_command() {
    if (++bad_commands_ >= bad_commands_limit) close("* BYE Too many invalid commands\r\n");
}

// ---- commands --------------------------------------------------------------

void ClientSession::dispatch(LocalCommand command) {
    if (state_ == State::NotAuthenticated) {
        execute(preauth_->handle(command));
        return;
    }
    relay_->handle(std::move(command));
}

void ClientSession::execute(Decision decision) {
    switch (decision.kind) {
    case Decision::Kind::None: break;
    case Decision::Kind::Reply: write_client(std::move(decision.text)); break;
    case Decision::Kind::Continue:
        write_client(std::move(decision.text));
        framer_.expect_raw_line();
        break;
    case Decision::Kind::StartTls: start_tls(std::move(decision.text)); break;
    case Decision::Kind::Login: begin_login(std::move(decision)); break;
    case Decision::Kind::Refuse:
        if (preauth_) preauth_->refuse(decision.tag, std::move(decision.text), decision.count_failure);
        break;
    case Decision::Kind::Logout:
        close("* BYE imapfront logging out\r\n" + decision.tag + " OK LOGOUT completed\r\n");
        break;
    }
    if (decision.invalid && state_ == State::NotAuthenticated) count_bad_command();
}

void ClientSession::start_tls(std::string ok_line) {
    write_client(std::move(ok_line));
    enter(State::TlsHandshake);
    framer_ = imap::CommandFramer(imap::preauth_limits());
    held_.clear();
    // Nothing learned before TLS survives it (VHOST, ID, failed logins): an
    // attacker on the path may have injected it (CVE-2011-0411).
    preauth_ = std::make_unique<PreAuth>(static_cast<SessionCore&>(*this), context_.host.loop());
    client_->start_tls_server(context_.snapshot->server_tls);
}

void ClientSession::begin_login(Decision login) {
    SessionHost& host = context_.host;
    admin::Metrics& metrics = context_.metrics;
    if (!host.allow_login_attempt(context_.client_address.ip)) {
        log(LogLevel::Info, "login", {{"result", "refused"}, {"reason", "login rate limit"}});
        metrics.logins(admin::LoginResult::Refused).add();
        preauth_->refuse(login.tag, "NO [LIMIT] Too many login attempts from your address, try again later.", false);
        return;
    }
    const auto is_up = [&host](const std::string& backend) { return host.backend_up(backend); };
    const routing::VhostSources sources{preauth_->vhost(), client_->sni(), context_.listener.default_vhost};
    const routing::Route route = routing::route_login(context_.config, sources, login.user, is_up);
    switch (route.error) {
    case routing::RouteError::None: break;
    case routing::RouteError::NoDomain:
    case routing::RouteError::UnknownDomain:
    case routing::RouteError::DomainMismatch:
        log(LogLevel::Info, "login", {{"result", "refused"}, {"reason", "no route for user"}});
        metrics.logins(admin::LoginResult::AuthFailed).add();
        preauth_->refuse(login.tag, "NO [AUTHENTICATIONFAILED] Authentication failed.", true);
        return;
    case routing::RouteError::Maintenance:
        metrics.logins(admin::LoginResult::Unavailable).add();
        preauth_->refuse(login.tag, "NO [UNAVAILABLE] " + route.vhost->maintenance_text, false);
        return;
    case routing::RouteError::NoServer:
        metrics.logins(admin::LoginResult::Unavailable).add();
        preauth_->refuse(login.tag, "NO [UNAVAILABLE] No backend server available, try again later.", false);
        return;
    }
    LinkTarget target =
        make_link_target(context_, client_->local(), route, {{}, route.backend_user, std::move(login.password)});
    context_.identity = route.identity;
    context_.vhost = route.vhost ? route.vhost->name : std::string{};
    enter(State::LoggingIn);
    login_ = std::make_unique<LoginAttempt>(host.loop(), metrics, static_cast<LoginAttemptOwner&>(*this), login.tag,
                                            std::move(target));
    login_->start();
}

void ClientSession::on_login_succeeded(std::unique_ptr<BackendLink> link) {
    const std::string tag = login_->tag();
    retire_later(context_.host.loop(), login_);
    enter(State::Authenticated);
    framer_.set_limits(relay_limits(context_.config));
    login_timer_.stop();
    restart_idle_timer();
    relay_ = std::make_unique<Relay>(static_cast<SessionCore&>(*this), context_.host.loop(), std::move(link),
                                     preauth_->client_id());
    preauth_.reset();
    log(LogLevel::Info, "login", {{"result", "ok"}});
    context_.metrics.logins(admin::LoginResult::Ok).add();
    write_client(tag + " OK [CAPABILITY " + imap::rewrite_capability_list(relay_->capabilities()) + "] Logged in\r\n");
    resume_input();
}

void ClientSession::on_login_failed(const std::string& backend_name, const Failure& failure) {
    const std::string tag = login_->tag();
    // The attempt's link is inside its own callback.
    retire_later(context_.host.loop(), login_);
    const FailureOutcome outcome = login_outcome(failure);
    if (outcome.blames_backend) {
        context_.host.backend_failed(backend_name);
        context_.metrics.backend(backend_name).connect_failures.add();
    }
    log(outcome.level, "login", {{"result", failure_name(failure.kind)}, {"reason", failure.detail}});
    context_.metrics.logins(outcome.result).add();
    preauth_->refuse(tag, outcome.answer, outcome.counts_as_auth_failure);
    resume_input();
}

// ---- output, timers, log ---------------------------------------------------

void ClientSession::write_client(std::string bytes) {
    // Responses relayed in this read go first: nothing overtakes them.
    if (relay_) {
        if (bytes.empty()) {
            bytes = relay_->take_client_output();
        } else {
            bytes.insert(0, relay_->take_client_output());
        }
    }
    if (state_ == State::Closing || bytes.empty()) return;
    client_->write(std::move(bytes));
    if (client_->above_high_watermark()) update_client_reading();
}

void ClientSession::restart_idle_timer() {
    idle_timer_.start(context_.config.limits.idle_timeout,
                      [this] { close("* BYE Idle timeout, closing connection\r\n"); });
}

void ClientSession::log(LogLevel level, std::string_view event, std::initializer_list<LogField> extra) {
    if (!log_enabled(level)) return;
    std::vector<LogField> fields{
        {"session", context_.id}, {"client", context_.client_address.ip}, {"state", state_name(state_)}};
    if (!context_.vhost.empty()) fields.emplace_back("vhost", context_.vhost);
    if (!context_.identity.empty()) fields.emplace_back("identity", context_.identity);
    if (const BackendLink* active = relay_ ? relay_->active() : nullptr) {
        fields.emplace_back("backend", active->backend_name());
        fields.emplace_back("active_identity", active->identity());
    }
    fields.insert(fields.end(), extra.begin(), extra.end());
    log_fields(level, event, fields);
}

}  // namespace imapfront::session
