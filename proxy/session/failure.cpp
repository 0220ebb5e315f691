#include "proxy/session/failure.h"

namespace imapfront::session {

std::string_view failure_name(FailureKind kind) {
    switch (kind) {
    case FailureKind::Connect: return "connect";
    case FailureKind::Tls: return "tls";
    case FailureKind::Protocol: return "protocol";
    case FailureKind::AuthRefused: return "auth_refused";
    case FailureKind::Temporary: return "temporary";
    case FailureKind::Internal: return "internal";
    }
    return "internal";
}

std::string login_failure_answer(const Failure& failure) {
    if ((failure.kind == FailureKind::AuthRefused || failure.kind == FailureKind::Temporary) &&
        !failure.client_answer.empty()) {
        return failure.client_answer;
    }
    if (failure.kind == FailureKind::AuthRefused) return "NO [AUTHENTICATIONFAILED] Authentication failed.";
    return "NO [UNAVAILABLE] Backend server unavailable, try again later.";
}

bool counts_as_auth_failure(const Failure& failure) { return failure.kind == FailureKind::AuthRefused; }

bool blames_backend(const Failure& failure) {
    return failure.kind == FailureKind::Connect || failure.kind == FailureKind::Tls ||
           failure.kind == FailureKind::Protocol;
}

FailureOutcome login_outcome(const Failure& failure) {
    FailureOutcome outcome;
    outcome.answer = login_failure_answer(failure);
    outcome.counts_as_auth_failure = counts_as_auth_failure(failure);
    outcome.blames_backend = blames_backend(failure);
    if (outcome.counts_as_auth_failure) {
        outcome.result = admin::LoginResult::AuthFailed;
    } else if (failure.kind == FailureKind::Temporary || outcome.blames_backend) {
        outcome.result = admin::LoginResult::Unavailable;
    }
    outcome.level = failure.kind == FailureKind::AuthRefused ? LogLevel::Info : LogLevel::Warn;
    return outcome;
}

}  // namespace imapfront::session
