#include "session_fixture.h"

#include "config/config.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cctype>
#include <csignal>
#include <cstdlib>
#include <utility>

namespace imapfront::session::testing {

using namespace std::chrono_literals;

bool run_until(net::EventLoop& loop, const std::function<bool()>& done, std::chrono::milliseconds limit) {
    if (done()) return true;
    bool timed_out = false;
    net::Timer poll(loop);
    net::Timer guard(loop);
    std::function<void()> tick = [&] {
        if (done()) {
            loop.stop();
            return;
        }
        poll.start(2ms, tick);
    };
    poll.start(0ms, tick);
    guard.start(limit, [&] {
        timed_out = true;
        loop.stop();
    });
    loop.run();
    return !timed_out && done();
}

void TestHost::session_finished(ClientSession& session) {
    ++finished;
    ClientSession* raw = &session;
    loop_.defer([this, raw] { sessions_.erase(raw); });
}

ClientSession& TestHost::add(std::unique_ptr<ClientSession> session) {
    ClientSession* raw = session.get();
    sessions_.emplace(raw, std::move(session));
    return *raw;
}

ClientSession& TestHost::only() {
    REQUIRE(sessions_.size() == 1);
    return *sessions_.begin()->second;
}

TestClient::TestClient(net::EventLoop& loop, std::uint16_t port) : loop_(loop) {
    std::string error;
    bool done = false;
    connect_ = std::make_unique<net::TcpConnect>(loop, "127.0.0.1", port,
                                                 [&](std::unique_ptr<net::Stream> stream, std::string e) {
                                                     stream_ = std::move(stream);
                                                     error = std::move(e);
                                                     done = true;
                                                 });
    REQUIRE(run_until(loop, [&] { return done; }));
    connect_.reset();
    INFO(error);
    REQUIRE(stream_ != nullptr);
    stream_->set_handler(this);
}

bool TestClient::wait_for(std::string_view text, std::chrono::milliseconds limit) {
    const bool found = run_until(
        loop_, [&] { return unread_.find(text) != std::string::npos; }, limit);
    if (found) unread_.erase(0, unread_.find(text) + text.size());
    return found;
}

bool TestClient::wait_closed(std::chrono::milliseconds limit) {
    return run_until(
        loop_, [&] { return closed_; }, limit);
}

void TestClient::close() {
    if (stream_ && !closed_) stream_->close();
    run_until(
        loop_, [&] { return closed_; }, 2s);
    stream_.reset();
}

std::string basic_config(std::uint16_t backend_port, const std::string& extra) {
    return "listeners:\n"
           "  - { name: test, address: \"127.0.0.1:1143\", allow_plaintext_auth: true }\n"
           "backends:\n"
           "  b1: { address: \"127.0.0.1:" +
           std::to_string(backend_port) +
           "\", tls: none }\n"
           "pools:\n"
           "  p:\n"
           "    servers: [b1]\n"
           "    balance: first\n"
           "    master: { user: proxy, password: \"env:IMAPFRONT_TEST_MASTER\", style: authzid }\n"
           "vhosts:\n"
           "  example.com: { pool: p, username: full }\n" +
           extra;
}

SessionFixture::SessionFixture(ScriptedBackend::Script script, const std::string& extra_yaml)
    : backend(loop, std::move(script)),
      host(loop) {
    ::setenv("IMAPFRONT_TEST_MASTER", "masterpw", 1);
    // As the proxy process does: a write to a peer that hung up is an error, not a signal.
    std::signal(SIGPIPE, SIG_IGN);
    const auto loaded = config::load_string(basic_config(backend.port(), extra_yaml), "test.yaml", "/");
    std::string errors;
    for (const auto& error : loaded.errors) errors += error.to_string() + "\n";
    INFO(errors);
    REQUIRE(loaded.config != nullptr);
    REQUIRE(loaded.errors.empty());
    snapshot_ = make_snapshot(loaded.config);
    listener_ = std::make_unique<net::TcpListener>(loop, "127.0.0.1", 0, [this](std::unique_ptr<net::Stream> stream) {
        const net::Endpoint peer = stream->peer();
        auto& session = host.add(std::make_unique<ClientSession>(host, snapshot_, snapshot_->config->listeners.front(),
                                                                 std::move(stream), peer, next_id_++));
        session.start();
    });
}

SessionFixture::~SessionFixture() = default;

std::unique_ptr<TestClient> SessionFixture::connect() {
    auto client = std::make_unique<TestClient>(loop, listener_->port());
    REQUIRE(client->wait_for("* OK"));
    REQUIRE(client->wait_for("\r\n"));
    return client;
}

std::unique_ptr<TestClient> SessionFixture::logged_in() {
    auto client = connect();
    client->send("a1 LOGIN alice@example.com secret\r\n");
    REQUIRE(client->wait_for("a1 OK"));
    REQUIRE(client->wait_for("\r\n"));
    return client;
}

bool SessionFixture::all_gone(std::string& leftover) {
    listener_.reset();
    run_until(
        loop, [&] { return host.live() == 0 && backend.open_connections() == 0; }, 3s);
    // A few more turns let close callbacks run; the timers of run_until are
    // closing once it returns, so they are not counted.
    run_until(
        loop, [] { return false; }, 20ms);
    if (host.live() != 0) {
        leftover = std::to_string(host.live()) + " session(s) left";
        return false;
    }
    if (backend.open_connections() != 0) {
        leftover = std::to_string(backend.open_connections()) + " backend connection(s) left";
        return false;
    }
    // The backend's own listener is the one handle the fixture still owns.
    if (loop.open_handles() != 1) {
        leftover = std::to_string(loop.open_handles()) + " libuv handle(s) open, 1 expected (backend listener)";
        return false;
    }
    return true;
}

}  // namespace imapfront::session::testing
