#include "sync_steps.h"

#include <chrono>

namespace loadgen {

namespace {

constexpr auto kStepTimeout = std::chrono::seconds(60);

}  // namespace

bool open_sync(EventLoop& loop, ImapConnection& connection, const Endpoint& endpoint, std::string& error) {
    bool finished = false;
    bool ok = false;
    connection.open(
        endpoint,
        [&](bool greeted) {
            finished = true;
            ok = greeted;
            if (!greeted) {
                error = "greeting was not * OK";
            }
        },
        [&](const std::string& why) {
            finished = true;
            error = why;
        });
    if (!loop.run_until([&] { return finished; }, Clock::now() + kStepTimeout)) {
        error = "no greeting in time";
    }
    return ok;
}

bool command_sync(EventLoop& loop, ImapConnection& connection, const std::string& text, std::string& error) {
    bool finished = false;
    bool ok = false;
    connection.command(text, [&](bool tagged_ok) {
        finished = true;
        ok = tagged_ok;
        if (!tagged_ok) {
            error = "not OK: " + text;
        }
    });
    bool failed = false;
    bool in_time = loop.run_until([&] { return finished || !connection.is_open(); }, Clock::now() + kStepTimeout);
    if (!finished) {
        failed = true;
        error = in_time ? "connection lost during: " + text : "timeout during: " + text;
    }
    return ok && !failed;
}

Endpoint make_endpoint(const Options& options, TlsClient* tls) {
    Endpoint endpoint;
    endpoint.host = options.host;
    endpoint.port = options.port;
    endpoint.tls = options.tls ? tls : nullptr;
    return endpoint;
}

std::string login_command(const std::string& user, const std::string& password) {
    return "LOGIN \"" + user + "\" \"" + password + "\"";
}

}  // namespace loadgen
