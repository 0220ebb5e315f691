// The closed set of ways a backend link can fail, and what each one means to
// the client. One place maps a failure to the client's answer, so every code
// path that fails a link answers the same way.
#pragma once

#include "proxy/admin/metrics.h"
#include "proxy/session/log.h"

#include <string>
#include <string_view>

namespace imapfront::session {

enum class FailureKind {
    Connect,      // TCP connect or DNS failed, or timed out
    Tls,          // TLS handshake or certificate verification failed
    Protocol,     // the backend said something we did not expect
    AuthRefused,  // the backend refused the credentials (its NO is relayed)
    Temporary,    // the backend said NO [UNAVAILABLE] or BYE
    Internal,
};

struct Failure {
    FailureKind kind = FailureKind::Internal;
    std::string detail;         // for the log: never carries credentials
    std::string client_answer;  // "NO [CODE] text" without tag, for AuthRefused/Temporary
};

std::string_view failure_name(FailureKind kind);

// The tagless answer for a failed login: the backend's own NO for refused
// credentials, NO [UNAVAILABLE] for everything else (the client may retry).
std::string login_failure_answer(const Failure& failure);

// Whether the failure counts as a failed authentication attempt.
bool counts_as_auth_failure(const Failure& failure);

// Whether the failure says something about the backend's health (as opposed
// to the user's credentials).
bool blames_backend(const Failure& failure);

// Everything a failed login means, decided in one place: the client's
// answer, the metric, how loud the log line is, and whether it counts
// against the user or against the backend.
struct FailureOutcome {
    std::string answer;  // tagless: "NO [CODE] text"
    admin::LoginResult result = admin::LoginResult::Error;
    LogLevel level = LogLevel::Info;  // the user's own refusal is info; a backend at fault warns
    bool counts_as_auth_failure = false;
    bool blames_backend = false;
};

FailureOutcome login_outcome(const Failure& failure);

}  // namespace imapfront::session
