// BackendLogin: the conversation that turns a fresh backend connection into a
// logged-in one, as a small machine without sockets. It is fed whole response
// lines and answers with what to do next; BackendLink does the I/O.
//
// Steps: greeting -> [STARTTLS -> TLS] -> [CAPABILITY] -> [ID with the client
// address] -> AUTHENTICATE PLAIN (SASL-IR when offered) or LOGIN -> done.
// Every command uses a private tag ("ifl1", "ifl2", ...); untagged CAPABILITY
// lines are taken whenever they come.
#pragma once

#include "proxy/session/failure.h"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace imapfront::session {

struct LoginCredentials {
    std::string authzid;  // empty for a pass-through login
    std::string authcid;
    std::string password;
};

struct LoginPlan {
    bool starttls = false;  // send STARTTLS after the greeting
    LoginCredentials credentials;
    // ID parameters announcing the client address (x-originating-ip ...);
    // empty when the pool does not forward it this way.
    std::vector<std::pair<std::string, std::string>> id_fields;
};

struct LoginStep {
    enum class Kind { Wait, Send, StartTls, Done, Failed };
    Kind kind = Kind::Wait;
    std::string bytes;         // Send: bytes to write
    std::string capabilities;  // Done: the backend's capability list after login
    Failure failure;           // Failed
};

class BackendLogin {
public:
    explicit BackendLogin(LoginPlan plan);

    // Feeds one whole response line (CRLF included).
    LoginStep on_line(std::string_view line);
    // The TLS handshake asked for by StartTls has finished.
    LoginStep on_tls_ready();

private:
    enum class State {
        Greeting,
        StartTls,
        Capability,
        Id,
        AuthContinue,
        LoginPiece,
        Authenticate,
        PostCapability,
        Done
    };

    LoginStep after_greeting();
    LoginStep next_after_capability();
    LoginStep authenticate();
    LoginStep send(State next, std::string bytes);
    LoginStep fail(FailureKind kind, std::string detail, std::string client_answer = {});
    std::string next_tag();

    LoginPlan plan_;
    State state_ = State::Greeting;
    std::string capabilities_;
    bool capabilities_known_ = false;
    std::string tag_;
    unsigned tag_counter_ = 0;
    std::vector<std::string> pending_pieces_;  // LOGIN with synchronizing literals
};

}  // namespace imapfront::session
