#include "proxy/session/backend_login.h"

#include "proxy/imap/arguments.h"
#include "proxy/imap/capabilities.h"
#include "proxy/imap/sasl.h"
#include "proxy/imap/status_line.h"
#include "proxy/session/internal_tags.h"

#include <utility>

namespace imapfront::session {
namespace {

using imap::iequals;
using imap::istarts_with;

std::string_view trim_code_capability(std::string_view code) {
    // "CAPABILITY IMAP4rev1 ..." -> "IMAP4rev1 ..."
    constexpr std::string_view prefix = "CAPABILITY ";
    return istarts_with(code, prefix) ? code.substr(prefix.size()) : std::string_view{};
}

// RFC 2971 wants strings (quoted), not atoms. The values are addresses and
// numbers imapfront produced, so quoting never needs a literal.
std::string quoted(std::string_view value) {
    std::string out = "\"";
    for (const char c : value) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    return out + "\"";
}

std::string id_command(std::string_view tag, const std::vector<std::pair<std::string, std::string>>& fields) {
    std::string bytes = std::string(tag) + " ID (";
    bool first = true;
    for (const auto& [key, value] : fields) {
        if (!first) bytes += ' ';
        first = false;
        bytes += quoted(key) + " " + quoted(value);
    }
    return bytes + ")\r\n";
}

}  // namespace

BackendLogin::BackendLogin(LoginPlan plan) : plan_(std::move(plan)) {}

std::string BackendLogin::next_tag() {
    tag_ = std::string(login_tag_prefix) + std::to_string(++tag_counter_);
    return tag_;
}

LoginStep BackendLogin::send(State next, std::string bytes) {
    state_ = next;
    LoginStep step;
    step.kind = LoginStep::Kind::Send;
    step.bytes = std::move(bytes);
    return step;
}

LoginStep BackendLogin::fail(FailureKind kind, std::string detail, std::string client_answer) {
    state_ = State::Done;
    LoginStep step;
    step.kind = LoginStep::Kind::Failed;
    step.failure = Failure{kind, std::move(detail), std::move(client_answer)};
    return step;
}

LoginStep BackendLogin::on_line(std::string_view line) {
    const imap::StatusLine parsed = imap::parse_status_line(line);
    const bool untagged = parsed.tag == "*";
    const bool continuation = parsed.tag == "+";
    const bool ours = !untagged && !continuation && parsed.tag == tag_;

    if (untagged && iequals(parsed.status, "CAPABILITY")) {
        capabilities_ = std::string(parsed.text);
        capabilities_known_ = true;
        return {};
    }
    if (untagged && iequals(parsed.status, "BYE")) {
        return fail(FailureKind::Temporary, "backend said BYE: " + std::string(parsed.text));
    }

    switch (state_) {
    case State::Greeting:
        if (!untagged) return fail(FailureKind::Protocol, "greeting expected");
        if (iequals(parsed.status, "PREAUTH")) return fail(FailureKind::Protocol, "backend greeted with PREAUTH");
        if (!iequals(parsed.status, "OK")) return fail(FailureKind::Protocol, "unexpected greeting");
        if (const auto caps = trim_code_capability(parsed.code); !caps.empty()) {
            capabilities_ = std::string(caps);
            capabilities_known_ = true;
        }
        return after_greeting();
    case State::StartTls:
        if (!ours) return {};
        if (!iequals(parsed.status, "OK")) return fail(FailureKind::Tls, "backend refused STARTTLS");
        capabilities_known_ = false;  // RFC 3501 6.2.1: capabilities may change after TLS
        capabilities_.clear();
        state_ = State::Capability;
        {
            LoginStep step;
            step.kind = LoginStep::Kind::StartTls;
            return step;
        }
    case State::Capability:
        if (!ours) return {};
        if (!iequals(parsed.status, "OK")) return fail(FailureKind::Protocol, "CAPABILITY failed");
        capabilities_known_ = true;
        return next_after_capability();
    case State::Id:
        if (!ours) return {};
        return authenticate();
    case State::AuthContinue:
        if (continuation) {
            const auto& c = plan_.credentials;
            return send(State::Authenticate,
                        imap::base64_encode(imap::encode_sasl_plain({c.authzid, c.authcid, c.password})) + "\r\n");
        }
        break;
    case State::LoginPiece:
        if (continuation) {
            std::string piece = std::move(pending_pieces_.front());
            pending_pieces_.erase(pending_pieces_.begin());
            return send(pending_pieces_.empty() ? State::Authenticate : State::LoginPiece, std::move(piece));
        }
        break;
    case State::Authenticate:
        if (continuation) return fail(FailureKind::Protocol, "unexpected continuation during login");
        break;
    case State::PostCapability:
        if (!ours) return {};
        if (!iequals(parsed.status, "OK")) return fail(FailureKind::Protocol, "CAPABILITY after login failed");
        state_ = State::Done;
        {
            LoginStep step;
            step.kind = LoginStep::Kind::Done;
            step.capabilities = capabilities_;
            return step;
        }
    case State::Done: return {};
    }

    // AuthContinue, LoginPiece and Authenticate: the login's tagged result.
    if (!ours) return {};
    if (iequals(parsed.status, "OK")) {
        capabilities_known_ = false;
        if (const auto caps = trim_code_capability(parsed.code); !caps.empty()) {
            state_ = State::Done;
            LoginStep step;
            step.kind = LoginStep::Kind::Done;
            step.capabilities = std::string(caps);
            return step;
        }
        return send(State::PostCapability, next_tag() + " CAPABILITY\r\n");
    }
    if (iequals(parsed.status, "NO")) {
        const bool temporary = istarts_with(parsed.code, "UNAVAILABLE");
        return fail(temporary ? FailureKind::Temporary : FailureKind::AuthRefused,
                    "backend refused login: " + std::string(parsed.code), "NO " + std::string(parsed.text));
    }
    return fail(FailureKind::Protocol, "backend answered login with " + std::string(parsed.status));
}

LoginStep BackendLogin::on_tls_ready() { return next_after_capability(); }

LoginStep BackendLogin::after_greeting() {
    if (plan_.starttls) return send(State::StartTls, next_tag() + " STARTTLS\r\n");
    return next_after_capability();
}

LoginStep BackendLogin::next_after_capability() {
    if (!capabilities_known_) return send(State::Capability, next_tag() + " CAPABILITY\r\n");
    if (!plan_.id_fields.empty() && imap::has_capability(capabilities_, "ID")) {
        return send(State::Id, id_command(next_tag(), plan_.id_fields));
    }
    return authenticate();
}

LoginStep BackendLogin::authenticate() {
    const auto& c = plan_.credentials;
    if (imap::has_capability(capabilities_, "AUTH=PLAIN")) {
        const std::string tag = next_tag();
        if (imap::has_capability(capabilities_, "SASL-IR")) {
            return send(State::Authenticate,
                        tag + " AUTHENTICATE PLAIN " +
                            imap::base64_encode(imap::encode_sasl_plain({c.authzid, c.authcid, c.password})) + "\r\n");
        }
        return send(State::AuthContinue, tag + " AUTHENTICATE PLAIN\r\n");
    }
    if (!c.authzid.empty()) return fail(FailureKind::Protocol, "backend offers no AUTH=PLAIN for a master login");
    if (imap::has_capability(capabilities_, "LOGINDISABLED")) {
        return fail(FailureKind::Protocol, "backend has LOGINDISABLED and no AUTH=PLAIN");
    }
    imap::EncodedCommand pieces = imap::encode_command(next_tag(), "LOGIN", {c.authcid, c.password},
                                                       imap::has_capability(capabilities_, "LITERAL+"));
    std::string first = std::move(pieces.front());
    pending_pieces_.assign(std::make_move_iterator(pieces.begin() + 1), std::make_move_iterator(pieces.end()));
    return send(pending_pieces_.empty() ? State::Authenticate : State::LoginPiece, std::move(first));
}

}  // namespace imapfront::session
