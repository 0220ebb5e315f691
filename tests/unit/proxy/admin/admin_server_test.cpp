// The admin endpoint over loopback, driven by a raw TCP client that writes
// bytes and records everything until the server closes. Every loop run is
// bounded by a guard timer.
#include "proxy/admin/admin_server.h"
#include "proxy/admin/metrics.h"
#include "proxy/net/event_loop.h"
#include "proxy/net/tcp.h"

#include <catch2/catch.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

using namespace imapfront;
using namespace std::chrono_literals;

namespace {

struct RawClient : net::StreamHandler {
    std::string received;
    bool closed = false;
    net::EventLoop* loop = nullptr;

    void on_data(std::string_view bytes) override { received.append(bytes); }
    void on_closed(std::string_view) override {
        closed = true;
        loop->stop();
    }
};

struct Exchange {
    std::string response;
    bool closed_by_server = false;
};

// Connects, writes each piece `gap` apart, and collects until the server
// closes or `limit` passes.
Exchange exchange(net::EventLoop& loop, std::uint16_t port, std::vector<std::string> pieces,
                  std::chrono::milliseconds gap = 0ms, std::chrono::milliseconds limit = 5s) {
    RawClient client;
    client.loop = &loop;
    std::unique_ptr<net::Stream> stream;
    net::Timer pacing(loop);
    std::size_t next = 0;
    std::function<void()> send_next = [&] {
        if (next >= pieces.size() || !stream) return;
        stream->write(pieces[next++]);
        if (next < pieces.size()) pacing.start(gap, send_next);
    };
    net::TcpConnect connect(loop, "127.0.0.1", port, [&](std::unique_ptr<net::Stream> s, std::string error) {
        REQUIRE(error.empty());
        stream = std::move(s);
        stream->set_handler(&client);
        send_next();
    });
    net::Timer guard(loop);
    guard.start(limit, [&] { loop.stop(); });
    loop.run();
    return {client.received, client.closed};
}

std::string get(const std::string& path) { return "GET " + path + " HTTP/1.1\r\nHost: localhost\r\n\r\n"; }

std::string status_line(const std::string& response) { return response.substr(0, response.find("\r\n")); }

std::string body_of(const std::string& response) {
    const auto end = response.find("\r\n\r\n");
    return end == std::string::npos ? std::string() : response.substr(end + 4);
}

bool has_header(const std::string& response, const std::string& line) {
    const std::string head = response.substr(0, response.find("\r\n\r\n") + 2);
    return head.find("\r\n" + line + "\r\n") != std::string::npos;
}

void run_for(net::EventLoop& loop, std::chrono::milliseconds duration) {
    net::Timer timer(loop);
    timer.start(duration, [&] { loop.stop(); });
    loop.run();
}

struct Fixture {
    net::EventLoop loop;
    std::optional<std::string> not_ready;
    int readiness_calls = 0;
    admin::AdminServer server{loop, "127.0.0.1", 0, [this] {
                                  ++readiness_calls;
                                  return not_ready;
                              }};
};

}  // namespace

TEST_CASE("the admin server binds an ephemeral port", "[admin][server]") {
    Fixture f;
    CHECK(f.server.port() != 0);
}

TEST_CASE("/healthz answers 200 ok and closes", "[admin][server]") {
    Fixture f;
    f.not_ready = "draining";  // liveness does not depend on readiness
    const Exchange result = exchange(f.loop, f.server.port(), {get("/healthz")});
    CHECK(result.closed_by_server);
    CHECK(status_line(result.response) == "HTTP/1.1 200 OK");
    CHECK(body_of(result.response) == "ok\n");
    CHECK(has_header(result.response, "Connection: close"));
    CHECK(has_header(result.response, "Content-Length: 3"));
    CHECK(f.readiness_calls == 0);
}

TEST_CASE("/readyz follows the readiness callback", "[admin][server]") {
    Fixture f;
    const Exchange ready = exchange(f.loop, f.server.port(), {get("/readyz")});
    CHECK(status_line(ready.response) == "HTTP/1.1 200 OK");
    CHECK(f.readiness_calls == 1);

    f.not_ready = "draining";
    const Exchange draining = exchange(f.loop, f.server.port(), {get("/readyz")});
    CHECK(status_line(draining.response) == "HTTP/1.1 503 Service Unavailable");
    CHECK(body_of(draining.response).find("draining") != std::string::npos);
    CHECK(f.readiness_calls == 2);
}

TEST_CASE("/metrics renders the global metrics in the Prometheus content type", "[admin][server]") {
    Fixture f;
    admin::Metrics::global().backend("admin-test-backend");
    const Exchange result = exchange(f.loop, f.server.port(), {get("/metrics?x=1")});
    CHECK(status_line(result.response) == "HTTP/1.1 200 OK");
    CHECK(has_header(result.response, "Content-Type: text/plain; version=0.0.4"));
    const std::string body = body_of(result.response);
    CHECK(body.find("# TYPE imapfront_sessions_active gauge") != std::string::npos);
    CHECK(body.find("imapfront_backend_up{backend=\"admin-test-backend\"} 1") != std::string::npos);
    CHECK(has_header(result.response, "Content-Length: " + std::to_string(body.size())));
}

TEST_CASE("unknown paths get 404, other methods 405, garbage 400", "[admin][server]") {
    Fixture f;
    CHECK(status_line(exchange(f.loop, f.server.port(), {get("/nothing")}).response) == "HTTP/1.1 404 Not Found");
    const Exchange post = exchange(f.loop, f.server.port(), {"POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n"});
    CHECK(status_line(post.response) == "HTTP/1.1 405 Method Not Allowed");
    CHECK(has_header(post.response, "Allow: GET"));
    const Exchange garbage = exchange(f.loop, f.server.port(), {"a001 LOGIN bob secret\r\n"});
    CHECK(garbage.closed_by_server);
    CHECK(status_line(garbage.response) == "HTTP/1.1 400 Bad Request");
}

TEST_CASE("a request head over 8 KiB gets 431", "[admin][server]") {
    Fixture f;
    const std::string huge = "GET /healthz HTTP/1.1\r\nX-Pad: " + std::string(9000, 'p') + "\r\n\r\n";
    const Exchange result = exchange(f.loop, f.server.port(), {huge});
    CHECK(result.closed_by_server);
    CHECK(status_line(result.response) == "HTTP/1.1 431 Request Header Fields Too Large");
}

TEST_CASE("a request split over several packets is answered once complete", "[admin][server]") {
    Fixture f;
    const Exchange result =
        exchange(f.loop, f.server.port(), {"GE", "T /hea", "lthz HTTP/1.1\r\nHo", "st: x\r\n", "\r\n"}, 20ms);
    CHECK(status_line(result.response) == "HTTP/1.1 200 OK");
}

TEST_CASE("a client that never finishes its head gets 408 after the read timeout", "[admin][server]") {
    net::EventLoop loop;
    admin::AdminServer server(
        loop, "127.0.0.1", 0, [] { return std::nullopt; }, 200ms);
    const auto started = std::chrono::steady_clock::now();
    const Exchange result = exchange(loop, server.port(), {"GET /healthz HTTP/1.1\r\n"});
    const auto elapsed = std::chrono::steady_clock::now() - started;
    CHECK(result.closed_by_server);
    CHECK(status_line(result.response) == "HTTP/1.1 408 Request Timeout");
    CHECK(elapsed >= 190ms);
    CHECK(elapsed < 3s);
}

TEST_CASE("finished connections are released", "[admin][server]") {
    Fixture f;
    exchange(f.loop, f.server.port(), {get("/healthz")});
    run_for(f.loop, 50ms);
    CHECK(f.server.open_connections() == 0);
}

TEST_CASE("destroying the server with a connection open runs no callback afterwards", "[admin][server]") {
    net::EventLoop loop;
    int readiness_calls = 0;
    auto server = std::make_unique<admin::AdminServer>(loop, "127.0.0.1", 0, [&] {
        ++readiness_calls;
        return std::nullopt;
    });
    RawClient client;
    client.loop = &loop;
    std::unique_ptr<net::Stream> stream;
    net::TcpConnect connect(loop, "127.0.0.1", server->port(), [&](std::unique_ptr<net::Stream> s, std::string) {
        stream = std::move(s);
        stream->set_handler(&client);
        stream->write("GET /readyz HTTP/1.1\r\n");
    });
    run_for(loop, 100ms);
    REQUIRE(server->open_connections() == 1);
    server.reset();
    if (stream) stream->write("\r\n");
    net::Timer guard(loop);
    guard.start(2s, [&] { loop.stop(); });
    loop.run();
    CHECK(client.closed);
    CHECK(client.received.empty());
    CHECK(readiness_calls == 0);
}

TEST_CASE("connections over the limit get 503 at once", "[admin][server]") {
    Fixture f;
    std::vector<std::unique_ptr<net::TcpConnect>> connects;
    std::vector<std::unique_ptr<net::Stream>> idle;
    for (std::size_t i = 0; i < admin::AdminServer::max_connections; ++i) {
        connects.push_back(std::make_unique<net::TcpConnect>(
            f.loop, "127.0.0.1", f.server.port(),
            [&](std::unique_ptr<net::Stream> s, std::string) { idle.push_back(std::move(s)); }));
    }
    net::Timer poll(f.loop);
    std::function<void()> wait_for_idle = [&] {
        if (f.server.open_connections() == admin::AdminServer::max_connections) {
            f.loop.stop();
            return;
        }
        poll.start(5ms, wait_for_idle);
    };
    poll.start(0ms, wait_for_idle);
    run_for(f.loop, 3s);
    REQUIRE(f.server.open_connections() == admin::AdminServer::max_connections);

    // Nothing is sent: the answer must not wait for a request.
    const Exchange refused = exchange(f.loop, f.server.port(), {});
    CHECK(refused.closed_by_server);
    CHECK(status_line(refused.response) == "HTTP/1.1 503 Service Unavailable");
}
