#include "proxy/session/preauth.h"

#include "proxy/admin/metrics.h"
#include "proxy/imap/arguments.h"
#include "proxy/imap/sasl.h"
#include "proxy/session/session_host.h"
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

Decision continue_with(std::string challenge) {
    Decision decision;
    decision.kind = Decision::Kind::Continue;
    decision.text = std::move(challenge);
    return decision;
}

}  // namespace

const PreAuth::Entry PreAuth::commands[] = {
    {"CAPABILITY", &PreAuth::cmd_capability}, {"NOOP", &PreAuth::cmd_noop},
    {"LOGOUT", &PreAuth::cmd_logout},         {"ID", &PreAuth::cmd_id},
    {"STARTTLS", &PreAuth::cmd_starttls},     {"VHOST", &PreAuth::cmd_vhost},
    {"LOGIN", &PreAuth::cmd_login},           {"AUTHENTICATE", &PreAuth::cmd_authenticate},
};

PreAuth::PreAuth(SessionCore& core, net::EventLoop& loop) : core_(core), delay_timer_(loop) {}

Decision PreAuth::handle(const LocalCommand& command) {
    for (const Entry& entry : commands) {
        if (entry.name == command.name) return (this->*entry.handler)(command);
    }
    Decision refused = Decision::reply(command.tag + " BAD Command not valid before login\r\n");
    refused.invalid = true;
    return refused;
}

bool PreAuth::plaintext_forbidden() const {
    return !core_.client().tls_active() && !core_.context().listener.allow_plaintext_auth;
}

std::string PreAuth::capabilities() const {
    std::string caps = "IMAP4rev1 LITERAL+ SASL-IR ID VHOST MULTIACCOUNT";
    if (core_.context().listener.tls == config::TlsMode::StartTls && !core_.client().tls_active()) caps += " STARTTLS";
    caps += plaintext_forbidden() ? " LOGINDISABLED" : " AUTH=PLAIN AUTH=LOGIN";
    return caps;
}

Decision PreAuth::cmd_capability(const LocalCommand& command) {
    return Decision::reply("* CAPABILITY " + capabilities() + "\r\n" + command.tag + " OK CAPABILITY completed\r\n");
}

Decision PreAuth::cmd_noop(const LocalCommand& command) {
    return Decision::reply(command.tag + " OK NOOP completed\r\n");
}

Decision PreAuth::cmd_logout(const LocalCommand& command) {
    Decision decision;
    decision.kind = Decision::Kind::Logout;
    decision.tag = command.tag;
    return decision;
}

Decision PreAuth::cmd_id(const LocalCommand& command) {
    client_id_ = command.wire;
    return Decision::reply("* ID (\"name\" \"imapfront\")\r\n" + command.tag + " OK ID completed\r\n");
}

Decision PreAuth::cmd_starttls(const LocalCommand& command) {
    const SessionContext& context = core_.context();
    if (context.listener.tls != config::TlsMode::StartTls || core_.client().tls_active() ||
        !context.snapshot->server_tls) {
        return Decision::reply(command.tag + " BAD STARTTLS not available\r\n");
    }
    Decision decision;
    decision.kind = Decision::Kind::StartTls;
    decision.text = command.tag + " OK Begin TLS negotiation now\r\n";
    return decision;
}

Decision PreAuth::cmd_vhost(const LocalCommand& command) {
    const imap::ParsedArguments args = imap::parse_astrings(command.wire);
    if (!args.ok || args.values.size() != 1) {
        return Decision::reply(command.tag + " BAD VHOST needs exactly one host name\r\n");
    }
    const std::string& name = args.values.front();
    if (!valid_host_name(name)) return Decision::reply(command.tag + " BAD Invalid host name\r\n");
    const config::Config& config = core_.context().config;
    SessionHost& host = core_.context().host;
    const auto is_up = [&host](const std::string& backend) { return host.backend_up(backend); };
    switch (routing::check_vhost(config, name, is_up)) {
    case routing::VhostCheck::Ok:
        vhost_ = routing::find_vhost(config, name)->name;
        return Decision::reply(command.tag + " OK VHOST completed\r\n");
    case routing::VhostCheck::Unknown: return Decision::reply(command.tag + " NO Unknown virtual host\r\n");
    case routing::VhostCheck::Maintenance:
        return Decision::reply(command.tag + " NO [UNAVAILABLE] " +
                               routing::find_vhost(config, name)->maintenance_text + "\r\n");
    case routing::VhostCheck::Unavailable:
        return Decision::reply(command.tag + " NO [UNAVAILABLE] Virtual host has no server available\r\n");
    }
    return Decision::reply(command.tag + " NO Unknown virtual host\r\n");
}

Decision PreAuth::cmd_login(const LocalCommand& command) {
    if (plaintext_forbidden()) {
        core_.context().metrics.logins(admin::LoginResult::Refused).add();
        return Decision::reply(command.tag +
                               " NO [PRIVACYREQUIRED] Plaintext authentication disallowed without TLS\r\n");
    }
    imap::ParsedArguments args = imap::parse_astrings(command.wire);
    if (!args.ok || args.values.size() != 2) {
        return Decision::reply(command.tag + " BAD LOGIN needs a user name and a password\r\n");
    }
    return login(command.tag, std::move(args.values[0]), std::move(args.values[1]));
}

Decision PreAuth::cmd_authenticate(const LocalCommand& command) {
    if (plaintext_forbidden()) {
        core_.context().metrics.logins(admin::LoginResult::Refused).add();
        return Decision::reply(command.tag +
                               " NO [PRIVACYREQUIRED] Plaintext authentication disallowed without TLS\r\n");
    }
    const imap::ParsedArguments args = imap::parse_astrings(command.wire);
    if (!args.ok) return Decision::reply(command.tag + " BAD Invalid AUTHENTICATE arguments\r\n");
    if (args.values.empty()) return Decision::reply(command.tag + " BAD AUTHENTICATE needs a mechanism\r\n");
    if (args.values.size() > 2) {
        return Decision::reply(command.tag + " BAD AUTHENTICATE takes a mechanism and at most an initial response\r\n");
    }
    std::string mechanism = args.values[0];
    for (char& c : mechanism) c = static_cast<char>(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
    if (mechanism != "PLAIN" && mechanism != "LOGIN") {
        return Decision::reply(command.tag + " NO Unsupported authentication mechanism\r\n");
    }
    sasl_ = std::make_unique<SaslExchange>(SaslExchange{command.tag, mechanism, {}});
    if (args.values.size() == 2) {
        // SASL-IR: "=" stands for an empty initial response (RFC 4959).
        const std::string& initial = args.values[1];
        return sasl_line(initial == "=" ? std::string_view{} : std::string_view{initial});
    }
    return continue_with(mechanism == "PLAIN" ? "+ \r\n" : "+ VXNlcm5hbWU6\r\n");
}

Decision PreAuth::sasl_line(std::string_view line) {
    if (!sasl_) return Decision::reply("* BAD Unexpected continuation\r\n");
    line = strip_line_end(line);
    if (line == "*") {
        const std::string tag = std::exchange(sasl_, nullptr)->tag;
        return Decision::reply(tag + " BAD AUTHENTICATE cancelled\r\n");
    }
    const auto decoded = imap::base64_decode(line);
    if (!decoded) {
        const std::string tag = std::exchange(sasl_, nullptr)->tag;
        return Decision::reply(tag + " BAD Invalid base64 data\r\n");
    }
    if (sasl_->mechanism == "LOGIN") {
        if (sasl_->login_user.empty()) {
            if (decoded->empty()) {
                const std::string tag = std::exchange(sasl_, nullptr)->tag;
                return Decision::reply(tag + " BAD Empty user name\r\n");
            }
            sasl_->login_user = *decoded;
            return continue_with("+ UGFzc3dvcmQ6\r\n");
        }
        const SaslExchange exchange = std::move(*std::exchange(sasl_, nullptr));
        return login(exchange.tag, exchange.login_user, *decoded);
    }
    const SaslExchange exchange = std::move(*std::exchange(sasl_, nullptr));
    auto plain = imap::decode_sasl_plain(*decoded);
    if (!plain) return Decision::reply(exchange.tag + " BAD Malformed PLAIN message\r\n");
    // Logging in as one user on behalf of another is for imapfront's master
    // credentials only; a client's authzid must name itself.
    if (!plain->authzid.empty() && routing::identity_key(plain->authzid) != routing::identity_key(plain->authcid)) {
        return Decision::refuse(exchange.tag, std::string(auth_failed), true);
    }
    return login(exchange.tag, std::move(plain->authcid), std::move(plain->password));
}

Decision PreAuth::login(std::string tag, std::string user, std::string password) {
    Decision decision;
    decision.kind = Decision::Kind::Login;
    decision.tag = std::move(tag);
    decision.user = std::move(user);
    decision.password = std::move(password);
    return decision;
}

void PreAuth::refuse(const std::string& tag, std::string answer, bool count_failure) {
    if (!count_failure) {
        core_.write_client(tag + " " + answer + "\r\n");
        core_.enter(State::NotAuthenticated);
        return;
    }
    ++auth_failures_;
    core_.enter(State::LoginDelay);
    delay_timer_.start(core_.context().config.limits.auth_failure_delay, [this, tag, answer = std::move(answer)] {
        core_.write_client(tag + " " + answer + "\r\n");
        if (auth_failures_ >= core_.context().config.limits.auth_failures) {
            core_.close("* BYE Too many authentication failures\r\n");
            return;
        }
        core_.enter(State::NotAuthenticated);
        core_.resume_input();
    });
}

}  // namespace imapfront::session
