// A whole session in one test thread: an EventLoop, a snapshot made from
// YAML text, a scripted IMAP backend listening on 127.0.0.1 port 0, the
// proxy's ClientSession made on accept as the server makes it, and a client
// on a real loopback connection. Every wait is bounded; teardown checks that
// no session, backend connection or libuv handle is left.
#pragma once

#include "proxy/admin/metrics.h"
#include "proxy/net/event_loop.h"
#include "proxy/net/stream.h"
#include "proxy/net/tcp.h"
#include "proxy/session/client_session.h"
#include "proxy/session/session_host.h"
#include "proxy/session/snapshot.h"
#include "scripted_backend.h"

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace imapfront::session::testing {

// Runs `loop` until `done` holds (checked every few ms); false after `limit`.
bool run_until(net::EventLoop& loop, const std::function<bool()>& done,
               std::chrono::milliseconds limit = std::chrono::seconds(5));

// The server's part for sessions: counts them and frees them as Server does.
class TestHost final : public SessionHost {
public:
    explicit TestHost(net::EventLoop& loop) : loop_(loop) {}
    net::EventLoop& loop() override { return loop_; }
    admin::Metrics& metrics() override { return *metrics_; }
    bool backend_up(const std::string&) const override { return true; }
    void backend_failed(const std::string& name) override { failed_backends.push_back(name); }
    bool allow_login_attempt(const std::string&) override { return true; }
    void session_finished(ClientSession& session) override;

    ClientSession& add(std::unique_ptr<ClientSession> session);
    ClientSession& only();  // fails the test unless exactly one session is live
    std::size_t live() const { return sessions_.size(); }
    int finished = 0;
    std::vector<std::string> failed_backends;

private:
    net::EventLoop& loop_;
    std::unique_ptr<admin::Metrics> metrics_ = std::make_unique<admin::Metrics>();  // this host's own, not global()
    std::map<ClientSession*, std::unique_ptr<ClientSession>> sessions_;
};

// A client on a real loopback connection to the proxy listener.
class TestClient final : public net::StreamHandler {
public:
    TestClient(net::EventLoop& loop, std::uint16_t port);
    void send(std::string bytes) { stream_->write(std::move(bytes)); }
    // Waits until `text` has arrived since the last wait that consumed; the
    // bytes up to and including it are consumed. False after the time limit.
    bool wait_for(std::string_view text, std::chrono::milliseconds limit = std::chrono::seconds(5));
    bool wait_closed(std::chrono::milliseconds limit = std::chrono::seconds(5));
    void close();
    const std::string& unread() const { return unread_; }
    bool connected() const { return stream_ != nullptr && !closed_; }
    bool closed() const { return closed_; }

private:
    void on_data(std::string_view bytes) override { unread_.append(bytes); }
    void on_closed(std::string_view) override { closed_ = true; }

    net::EventLoop& loop_;
    std::unique_ptr<net::Stream> stream_;
    std::unique_ptr<net::TcpConnect> connect_;
    std::string unread_;
    bool closed_ = false;
};

// YAML for one plaintext listener, one backend on `backend_port`, one pool
// with master credentials (from $IMAPFRONT_TEST_MASTER, which the fixture
// sets) and vhost example.com; `extra` is appended (limits:, profiles: ...).
std::string basic_config(std::uint16_t backend_port, const std::string& extra = "");

class SessionFixture {
public:
    explicit SessionFixture(ScriptedBackend::Script script = {}, const std::string& extra_yaml = "");
    ~SessionFixture();
    SessionFixture(const SessionFixture&) = delete;
    SessionFixture& operator=(const SessionFixture&) = delete;

    // A connected client that has read the proxy's greeting.
    std::unique_ptr<TestClient> connect();
    // connect() and a successful LOGIN as alice.
    std::unique_ptr<TestClient> logged_in();
    // Stops accepting, runs the loop until every session finished (the test
    // closes or drops its clients first, or the session ends them), and
    // checks that nothing is left; false with the reason in `leftover`.
    bool all_gone(std::string& leftover);

    net::EventLoop loop;
    ScriptedBackend backend;
    TestHost host;

private:
    std::shared_ptr<const Snapshot> snapshot_;
    std::unique_ptr<net::TcpListener> listener_;
    std::uint64_t next_id_ = 1;
};

}  // namespace imapfront::session::testing
