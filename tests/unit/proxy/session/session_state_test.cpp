#include "proxy/session/session_state.h"

#include <catch2/catch.hpp>

using imapfront::session::State;
using imapfront::session::transition_allowed;

TEST_CASE("every state but Closing may close", "[session][state]") {
    for (const State from : {State::ProxyHeader, State::TlsHandshake, State::NotAuthenticated, State::LoggingIn,
                             State::LoginDelay, State::Authenticated, State::Switching}) {
        CHECK(transition_allowed(from, State::Closing));
    }
    CHECK_FALSE(transition_allowed(State::Closing, State::Closing));
}

TEST_CASE("Closing is final", "[session][state]") {
    for (const State to : {State::ProxyHeader, State::TlsHandshake, State::NotAuthenticated, State::LoggingIn,
                           State::LoginDelay, State::Authenticated, State::Switching}) {
        CHECK_FALSE(transition_allowed(State::Closing, to));
    }
}

TEST_CASE("a session is authenticated only through a login", "[session][state]") {
    CHECK(transition_allowed(State::LoggingIn, State::Authenticated));
    CHECK(transition_allowed(State::Switching, State::Authenticated));
    CHECK_FALSE(transition_allowed(State::NotAuthenticated, State::Authenticated));
    CHECK_FALSE(transition_allowed(State::TlsHandshake, State::Authenticated));
    CHECK_FALSE(transition_allowed(State::LoginDelay, State::Authenticated));
    CHECK_FALSE(transition_allowed(State::ProxyHeader, State::Authenticated));
}

TEST_CASE("no way back to the pre-login states after login", "[session][state]") {
    for (const State to :
         {State::ProxyHeader, State::TlsHandshake, State::NotAuthenticated, State::LoggingIn, State::LoginDelay}) {
        CHECK_FALSE(transition_allowed(State::Authenticated, to));
        CHECK_FALSE(transition_allowed(State::Switching, to));
    }
}

TEST_CASE("STARTTLS and login failures move between the pre-login states", "[session][state]") {
    CHECK(transition_allowed(State::NotAuthenticated, State::TlsHandshake));
    CHECK(transition_allowed(State::TlsHandshake, State::NotAuthenticated));
    CHECK(transition_allowed(State::NotAuthenticated, State::LoggingIn));
    CHECK(transition_allowed(State::LoggingIn, State::LoginDelay));
    CHECK(transition_allowed(State::LoggingIn, State::NotAuthenticated));
    CHECK(transition_allowed(State::LoginDelay, State::NotAuthenticated));
    CHECK_FALSE(transition_allowed(State::LoggingIn, State::TlsHandshake));
    CHECK_FALSE(transition_allowed(State::LoginDelay, State::LoggingIn));
}
