// libFuzzer target: a whole ClientSession driven by fuzz input. The client
// and the scripted backend of the session unit tests talk to the session
// over loopback TCP inside one EventLoop.
//
// Input: byte 0 chooses the script (bit 0: log in as alice first, so the
// chunks reach the relay and SELECTA; bit 1: the backend refuses the master
// login SELECTA needs; bit 2: the backend refuses synchronizing literals;
// bit 3: drain the session after the last chunk). The rest is split at 0xFF
// bytes into chunks the client sends one by one, the loop running a bounded
// number of turns after each. Properties: no crash or sanitizer report, and
// once the client hangs up the session ends and frees every handle.
#include "fuzz_check.h"
#include "proxy/admin/metrics.h"
#include "proxy/net/event_loop.h"
#include "proxy/net/stream.h"
#include "proxy/net/tcp.h"
#include "proxy/session/client_session.h"
#include "proxy/session/log.h"
#include "proxy/session/session_host.h"
#include "proxy/session/snapshot.h"
#include "tests/unit/proxy/session/scripted_backend.h"

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

using namespace imapfront;
using namespace imapfront::session;
using namespace std::chrono_literals;

namespace {

constexpr std::size_t max_chunks = 64;
constexpr int turns_per_chunk = 12;
constexpr int turns_to_finish = 400;

class Host final : public SessionHost {
public:
    explicit Host(net::EventLoop& loop) : loop_(loop) {}
    net::EventLoop& loop() override { return loop_; }
    admin::Metrics& metrics() override { return *metrics_; }
    bool backend_up(const std::string&) const override { return true; }
    void backend_failed(const std::string&) override {}
    bool allow_login_attempt(const std::string&) override { return true; }
    void session_finished(ClientSession& session) override {
        ClientSession* raw = &session;
        loop_.defer([this, raw] { sessions.erase(raw); });
    }
    std::map<ClientSession*, std::unique_ptr<ClientSession>> sessions;

private:
    net::EventLoop& loop_;
    std::unique_ptr<admin::Metrics> metrics_ = std::make_unique<admin::Metrics>();
};

struct Client final : net::StreamHandler {
    std::unique_ptr<net::Stream> stream;
    std::string received;
    bool closed = false;
    void on_data(std::string_view bytes) override { received.append(bytes); }
    void on_closed(std::string_view) override { closed = true; }
};

struct World {
    net::EventLoop loop;
    testing::ScriptedBackend backend{loop, {}};
    Host host{loop};
    std::shared_ptr<const Snapshot> snapshot;
    std::unique_ptr<net::TcpListener> listener;
    std::uint64_t next_id = 1;

    World() {
        const std::string yaml =
            "listeners:\n"
            "  - { name: fuzz, address: \"127.0.0.1:1143\", allow_plaintext_auth: true }\n"
            "backends:\n"
            "  b1: { address: \"127.0.0.1:" +
            std::to_string(backend.port()) +
            "\" }\n"
            "pools:\n"
            "  p:\n"
            "    servers: [b1]\n"
            "    master: { user: proxy, password: \"env:IMAPFRONT_FUZZ_MASTER\", style: authzid }\n"
            "vhosts:\n"
            "  example.com: { pool: p }\n"
            "profiles:\n"
            "  alice: [alice@example.com, bob@example.com]\n"
            "limits: { auth_failure_delay: 1ms, max_line: 4096 }\n";
        const auto loaded = config::load_string(yaml, "fuzz.yaml", "/");
        FUZZ_CHECK(loaded.config != nullptr && loaded.errors.empty());
        snapshot = make_snapshot(loaded.config);
        listener = std::make_unique<net::TcpListener>(loop, "127.0.0.1", 0, [this](std::unique_ptr<net::Stream> s) {
            const net::Endpoint peer = s->peer();
            auto session = std::make_unique<ClientSession>(host, snapshot, snapshot->config->listeners.front(),
                                                           std::move(s), peer, next_id++);
            ClientSession* raw = session.get();
            host.sessions.emplace(raw, std::move(session));
            raw->start();
        });
    }

    // Runs the loop for at most `turns` turns, fewer when `done` holds first.
    // A 0 ms timer per turn keeps the loop from blocking in poll.
    template <typename Done>
    bool run_turns(int turns, Done done) {
        net::Timer tick(loop);
        int left = turns;
        std::function<void()> step = [&] {
            if (done() || --left <= 0) {
                loop.stop();
                return;
            }
            tick.start(0ms, step);
        };
        tick.start(0ms, step);
        loop.run();
        return done();
    }
};

World& world() {
    static World* instance = [] {
        ::setenv("IMAPFRONT_FUZZ_MASTER", "masterpw", 1);
        std::signal(SIGPIPE, SIG_IGN);
        configure_log(LogFormat::Text, LogLevel::Error);
        return new World;
    }();
    return *instance;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    World& w = world();
    const std::uint8_t flags = data[0];
    const std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);

    auto& script = w.backend.script();
    script.passwords = {{"alice@example.com", "secret"}};
    if ((flags & 2) == 0) script.passwords["proxy"] = "masterpw";
    script.refuse_sync_literals = (flags & 4) != 0;

    Client client;
    bool connected = false;
    net::TcpConnect connect(w.loop, "127.0.0.1", w.listener->port(),
                            [&](std::unique_ptr<net::Stream> stream, std::string) {
                                client.stream = std::move(stream);
                                connected = true;
                            });
    FUZZ_CHECK(w.run_turns(200, [&] { return connected; }));
    FUZZ_CHECK(client.stream != nullptr);
    client.stream->set_handler(&client);
    FUZZ_CHECK(w.run_turns(200, [&] { return client.received.find("\r\n") != std::string::npos; }));

    if ((flags & 1) != 0) {
        client.stream->write("f0 LOGIN alice@example.com secret\r\n");
        w.run_turns(200, [&] { return client.received.find("f0 ") != std::string::npos || client.closed; });
    }

    std::size_t chunks = 0;
    std::size_t start = 0;
    while (start <= rest.size() && chunks < max_chunks && !client.closed) {
        const std::size_t end = std::min(rest.find('\xff', start), rest.size());
        client.stream->write(std::string(rest.substr(start, end - start)));
        w.run_turns(turns_per_chunk, [&] { return client.closed; });
        ++chunks;
        start = end + 1;
    }

    if ((flags & 8) != 0 && w.host.sessions.size() == 1) w.host.sessions.begin()->second->drain();
    client.stream.reset();
    // Once the client is gone the session must end and close its links.
    FUZZ_CHECK(w.run_turns(turns_to_finish, [&] { return w.host.sessions.empty(); }));
    w.run_turns(turns_to_finish, [&] { return w.backend.open_connections() == 0; });
    w.backend.forget_closed();
    // Left now: the two listeners; the per-input timers are closing.
    FUZZ_CHECK(w.loop.open_handles() == 2);
    return 0;
}
