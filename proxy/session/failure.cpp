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

}  // namespace imapfront::session
