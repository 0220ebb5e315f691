// Commands of the not-authenticated state: imapfront answers all of them.
#include "proxy/session/client_session.h"

#include "proxy/admin/metrics.h"
#include "proxy/imap/arguments.h"
#include "proxy/imap/capabilities.h"
#include "proxy/imap/sasl.h"
#include "proxy/imap/status_line.h"
#include "proxy/session/log.h"
#include "routing/identity.h"
#include "routing/route.h"

#include <utility>

namespace imapfront::session {
namespace {

std::string_view strip_line_end(std::string_view line) {
    if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    return line;
}

bool valid_host_name(std::string_view name) {
    if (name.empty() || name.size() > 253) return false;
    for (const char c : name) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                        c == '.' || c == '_';
        if (!ok) return false;
    }
    return true;
}

constexpr std::string_view auth_failed = "NO [AUTHENTICATIONFAILED] Authentication failed.";

}  // namespace

bool ClientSession::plaintext_forbidden() const { return !client_->tls_active() && !listener_.allow_plaintext_auth; }

std::string ClientSession::preauth_capabilities() const {
    std::string caps = "IMAP4rev1 LITERAL+ SASL-IR ID VHOST MULTIACCOUNT";
    if (listener_.tls == config::TlsMode::StartTls && !client_->tls_active()) caps += " STARTTLS";
    caps += plaintext_forbidden() ? " LOGINDISABLED" : " AUTH=PLAIN AUTH=LOGIN";
    return caps;
}

void ClientSession::handle_preauth(const LocalCommand& command) {
    const std::string& name = command.name;
    if (name == "CAPABILITY") return cmd_capability(command);
    if (name == "NOOP") return write_client(command.tag + " OK NOOP completed\r\n");
    if (name == "LOGOUT") return cmd_logout(command);
    if (name == "ID") return cmd_id(command);
    if (name == "STARTTLS") return cmd_starttls(command);
    if (name == "VHOST") return cmd_vhost(command);
    if (name == "LOGIN") return cmd_login(command);
    if (name == "AUTHENTICATE") return cmd_authenticate(command);
    write_client(command.tag + " BAD Command not valid before login\r\n");
}

void ClientSession::cmd_capability(const LocalCommand& command) {
    const std::string caps = active_ && state_ != State::NotAuthenticated
                                 ? imap::rewrite_capability_list(active_->capabilities())
                                 : preauth_capabilities();
    write_client("* CAPABILITY " + caps + "\r\n" + command.tag + " OK CAPABILITY completed\r\n");
}

void ClientSession::cmd_logout(const LocalCommand& command) {
    write_client("* BYE imapfront logging out\r\n" + command.tag + " OK LOGOUT completed\r\n");
    enter(State::Closing);
    login_timer_.stop();
    idle_timer_.stop();
    keepalive_timer_.stop();
    for (const auto& link : links_) link->logout();
    client_->close();
}

void ClientSession::cmd_id(const LocalCommand& command) {
    client_id_args_ = command.wire;
    write_client("* ID (\"name\" \"imapfront\")\r\n" + command.tag + " OK ID completed\r\n");
}

void ClientSession::cmd_starttls(const LocalCommand& command) {
    if (listener_.tls != config::TlsMode::StartTls || client_->tls_active() || !snapshot_->server_tls) {
        write_client(command.tag + " BAD STARTTLS not available\r\n");
        return;
    }
    write_client(command.tag + " OK Begin TLS negotiation now\r\n");
    enter(State::TlsHandshake);
    framer_ = imap::CommandFramer(imap::preauth_limits());
    held_.clear();
    client_->start_tls_server(snapshot_->server_tls);
}

void ClientSession::cmd_vhost(const LocalCommand& command) {
    const imap::ParsedArguments args = imap::parse_astrings(command.wire);
    if (!args.ok || args.values.size() != 1) {
        write_client(command.tag + " BAD VHOST needs exactly one host name\r\n");
        return;
    }
    const std::string& name = args.values.front();
    if (!valid_host_name(name)) {
        write_client(command.tag + " BAD Invalid host name\r\n");
        return;
    }
    const auto is_up = [this](const std::string& backend) { return host_.backend_up(backend); };
    switch (routing::check_vhost(config_, name, is_up)) {
    case routing::VhostCheck::Ok: {
        vhost_command_ = routing::find_vhost(config_, name)->name;
        write_client(command.tag + " OK VHOST completed\r\n");
        return;
    }
    case routing::VhostCheck::Unknown: write_client(command.tag + " NO Unknown virtual host\r\n"); return;
    case routing::VhostCheck::Maintenance:
        write_client(command.tag + " NO [UNAVAILABLE] " + routing::find_vhost(config_, name)->maintenance_text +
                     "\r\n");
        return;
    case routing::VhostCheck::Unavailable:
        write_client(command.tag + " NO [UNAVAILABLE] Virtual host has no server available\r\n");
        return;
    }
}

void ClientSession::cmd_login(const LocalCommand& command) {
    if (plaintext_forbidden()) {
        admin::Metrics::global().logins(admin::LoginResult::Refused).add();
        write_client(command.tag + " NO [PRIVACYREQUIRED] Plaintext authentication disallowed without TLS\r\n");
        return;
    }
    imap::ParsedArguments args = imap::parse_astrings(command.wire);
    if (!args.ok || args.values.size() != 2) {
        write_client(command.tag + " BAD LOGIN needs a user name and a password\r\n");
        return;
    }
    begin_login(command.tag, args.values[0], std::move(args.values[1]));
}

void ClientSession::cmd_authenticate(const LocalCommand& command) {
    if (plaintext_forbidden()) {
        admin::Metrics::global().logins(admin::LoginResult::Refused).add();
        write_client(command.tag + " NO [PRIVACYREQUIRED] Plaintext authentication disallowed without TLS\r\n");
        return;
    }
    const imap::ParsedArguments args = imap::parse_astrings(command.wire);
    if (!args.ok) {
        write_client(command.tag + " BAD Invalid AUTHENTICATE arguments\r\n");
        return;
    }
    if (args.values.empty()) {
        write_client(command.tag + " BAD AUTHENTICATE needs a mechanism\r\n");
        return;
    }
    if (args.values.size() > 2) {
        write_client(command.tag + " BAD AUTHENTICATE takes a mechanism and at most an initial response\r\n");
        return;
    }
    std::string mechanism = args.values[0];
    for (char& c : mechanism) c = static_cast<char>(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
    if (mechanism != "PLAIN" && mechanism != "LOGIN") {
        write_client(command.tag + " NO Unsupported authentication mechanism\r\n");
        return;
    }
    sasl_ = std::make_unique<SaslExchange>(SaslExchange{command.tag, mechanism, {}});
    if (args.values.size() == 2) {
        // SASL-IR: "=" stands for an empty initial response (RFC 4959).
        const std::string& initial = args.values[1];
        handle_sasl_line(initial == "=" ? std::string_view{} : std::string_view{initial});
        return;
    }
    write_client(mechanism == "PLAIN" ? "+ \r\n" : "+ VXNlcm5hbWU6\r\n");
    framer_.expect_raw_line();
}

void ClientSession::handle_sasl_line(std::string_view line) {
    if (!sasl_) {
        write_client("* BAD Unexpected continuation\r\n");
        return;
    }
    line = strip_line_end(line);
    if (line == "*") {
        write_client(sasl_->tag + " BAD AUTHENTICATE cancelled\r\n");
        sasl_.reset();
        return;
    }
    const auto decoded = imap::base64_decode(line);
    if (!decoded) {
        write_client(sasl_->tag + " BAD Invalid base64 data\r\n");
        sasl_.reset();
        return;
    }
    if (sasl_->mechanism == "LOGIN") {
        if (sasl_->login_user.empty()) {
            if (decoded->empty()) {
                write_client(sasl_->tag + " BAD Empty user name\r\n");
                sasl_.reset();
                return;
            }
            sasl_->login_user = *decoded;
            write_client("+ UGFzc3dvcmQ6\r\n");
            framer_.expect_raw_line();
            return;
        }
        const SaslExchange exchange = std::move(*std::exchange(sasl_, nullptr));
        begin_login(exchange.tag, exchange.login_user, *decoded);
        return;
    }
    const SaslExchange exchange = std::move(*std::exchange(sasl_, nullptr));
    auto plain = imap::decode_sasl_plain(*decoded);
    if (!plain) {
        write_client(exchange.tag + " BAD Malformed PLAIN message\r\n");
        return;
    }
    // Logging in as one user on behalf of another is for imapfront's master
    // credentials only; a client's authzid must name itself.
    if (!plain->authzid.empty() && routing::identity_key(plain->authzid) != routing::identity_key(plain->authcid)) {
        login_refused(exchange.tag, std::string(auth_failed), true);
        return;
    }
    begin_login(exchange.tag, plain->authcid, std::move(plain->password));
}

void ClientSession::begin_login(const std::string& tag, const std::string& user, std::string password) {
    if (!host_.allow_login_attempt(client_address_.ip)) {
        log("login", {{"result", "refused"}, {"reason", "login rate limit"}});
        admin::Metrics::global().logins(admin::LoginResult::Refused).add();
        login_refused(tag, "NO [LIMIT] Too many login attempts from your address, try again later.", false);
        return;
    }
    const auto is_up = [this](const std::string& backend) { return host_.backend_up(backend); };
    const routing::VhostSources sources{vhost_command_, client_->sni(), listener_.default_vhost};
    const routing::Route route = routing::route_login(config_, sources, user, is_up);
    switch (route.error) {
    case routing::RouteError::None: break;
    case routing::RouteError::NoDomain:
    case routing::RouteError::UnknownDomain:
    case routing::RouteError::DomainMismatch:
        log("login", {{"result", "refused"}, {"reason", "no route for user"}});
        admin::Metrics::global().logins(admin::LoginResult::AuthFailed).add();
        login_refused(tag, std::string(auth_failed), true);
        return;
    case routing::RouteError::Maintenance:
        admin::Metrics::global().logins(admin::LoginResult::Unavailable).add();
        login_refused(tag, "NO [UNAVAILABLE] " + route.vhost->maintenance_text, false);
        return;
    case routing::RouteError::NoServer:
        admin::Metrics::global().logins(admin::LoginResult::Unavailable).add();
        login_refused(tag, "NO [UNAVAILABLE] No backend server available, try again later.", false);
        return;
    }

    LinkTarget target = link_target(route, {{}, route.backend_user, std::move(password)});
    login_tag_ = tag;
    identity_ = route.identity;
    vhost_name_ = route.vhost ? route.vhost->name : std::string{};
    enter(State::LoggingIn);
    links_.push_back(
        std::make_unique<BackendLink>(host_.loop(), static_cast<BackendLinkOwner&>(*this), std::move(target)));
    active_ = links_.back().get();
    active_->start();
}

void ClientSession::login_refused(const std::string& tag, std::string answer, bool count_failure) {
    if (!count_failure) {
        write_client(tag + " " + answer + "\r\n");
        enter(State::NotAuthenticated);
        return;
    }
    ++auth_failures_;
    enter(State::LoginDelay);
    delay_timer_.start(config_.limits.auth_failure_delay, [this, tag, answer = std::move(answer)] {
        write_client(tag + " " + answer + "\r\n");
        if (auth_failures_ >= config_.limits.auth_failures) {
            close_with("* BYE Too many authentication failures\r\n");
            return;
        }
        enter(State::NotAuthenticated);
        resume_held_input();
    });
}

}  // namespace imapfront::session
