// The states of a client session and the transitions between them. The
// table is the only place that says which state may follow which;
// ClientSession::enter() refuses anything else.
#pragma once

#include <string_view>

namespace imapfront::session {

enum class State {
    ProxyHeader,       // reading the PROXY protocol header of a load balancer
    TlsHandshake,      // implicit TLS or after STARTTLS; no commands yet
    NotAuthenticated,  // imapfront answers every command
    LoggingIn,         // a backend link is being set up for LOGIN/AUTHENTICATE
    LoginDelay,        // waiting out the delay after a failed login
    Authenticated,     // relaying to the active backend link
    Switching,         // SELECTA: moving to another identity's link; later commands are held
    Closing,
};

std::string_view state_name(State state);

bool transition_allowed(State from, State to);

}  // namespace imapfront::session
