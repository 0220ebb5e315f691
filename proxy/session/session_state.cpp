#include "proxy/session/session_state.h"

#include <initializer_list>

namespace imapfront::session {

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

namespace {

bool one_of(State state, std::initializer_list<State> allowed) {
    for (const State candidate : allowed) {
        if (candidate == state) return true;
    }
    return false;
}

}  // namespace

bool transition_allowed(State from, State to) {
    if (to == State::Closing) return from != State::Closing;
    switch (from) {
    case State::ProxyHeader: return one_of(to, {State::TlsHandshake, State::NotAuthenticated});
    case State::TlsHandshake: return to == State::NotAuthenticated;
    case State::NotAuthenticated: return one_of(to, {State::TlsHandshake, State::LoggingIn, State::LoginDelay});
    case State::LoggingIn: return one_of(to, {State::Authenticated, State::LoginDelay, State::NotAuthenticated});
    case State::LoginDelay: return to == State::NotAuthenticated;
    case State::Authenticated: return to == State::Switching;
    case State::Switching: return to == State::Authenticated;
    case State::Closing: return false;
    }
    return false;
}

}  // namespace imapfront::session
