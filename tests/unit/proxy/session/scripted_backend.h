// A scripted IMAP backend on 127.0.0.1 port 0: enough IMAP (greeting,
// CAPABILITY, LOGIN, AUTHENTICATE PLAIN, SELECT, APPEND with literals, ...)
// for a session to log in to and relay through. Used by the session unit
// tests and the session fuzz target, so it does not depend on Catch.
#pragma once

#include "proxy/net/event_loop.h"
#include "proxy/net/stream.h"
#include "proxy/net/tcp.h"

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace imapfront::session::testing {

// An IMAP server good enough for a session to log in to and relay through.
class ScriptedBackend {
public:
    struct Script {
        std::string capabilities = "IMAP4rev1 SASL-IR AUTH=PLAIN LITERAL+ UNSELECT IDLE ID ENABLE";
        // authcid -> password; "proxy" is the pool's master user (for SELECTA).
        std::map<std::string, std::string> passwords{{"alice@example.com", "secret"}, {"proxy", "masterpw"}};
        // A command name (upper case) answered with these bytes instead of the
        // built-in answer; "$tag" in them is replaced by the command's tag.
        std::map<std::string, std::string> answers;
        // A synchronizing literal gets the tagged NO instead of "+" (a
        // backend refusing an APPEND that is too big).
        bool refuse_sync_literals = false;
    };

    ScriptedBackend(net::EventLoop& loop, Script script);
    ~ScriptedBackend();
    ScriptedBackend(const ScriptedBackend&) = delete;
    ScriptedBackend& operator=(const ScriptedBackend&) = delete;

    std::uint16_t port() const { return listener_.port(); }
    int accepted() const { return accepted_; }
    int open_connections() const;
    // Every whole command received, literals inline, CRLF stripped from the end.
    const std::vector<std::string>& commands() const { return commands_; }
    Script& script() { return script_; }
    // Drops the records of closed connections (a long-lived backend in the fuzzer).
    void forget_closed();
    bool received(std::string_view command_prefix) const;

private:
    struct Connection;
    void accept(std::unique_ptr<net::Stream> stream);

    Script script_;
    int accepted_ = 0;
    std::vector<std::string> commands_;
    std::vector<std::unique_ptr<Connection>> connections_;
    net::TcpListener listener_;
};

}  // namespace imapfront::session::testing
