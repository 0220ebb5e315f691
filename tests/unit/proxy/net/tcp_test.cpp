#include "proxy/net/tcp.h"

#include "net_test_support.h"

#include <catch2/catch.hpp>

#include <vector>

using namespace imapfront::net;
using namespace std::chrono_literals;
using testing::RecordingHandler;

namespace {

// Echoes every byte back; stops reading while its own output is backed up.
struct EchoSession : StreamHandler {
    std::unique_ptr<Stream> stream;
    int pauses = 0;
    int drains = 0;
    std::string closed_reason;

    explicit EchoSession(std::unique_ptr<Stream> s) : stream(std::move(s)) { stream->set_handler(this); }
    void on_data(std::string_view bytes) override {
        stream->write(std::string(bytes));
        if (stream->above_high_watermark()) {
            ++pauses;
            stream->pause_reading();
        }
    }
    void on_closed(std::string_view reason) override { closed_reason = reason; }
    void on_drained() override {
        ++drains;
        stream->resume_reading();
    }
};

struct EchoServer {
    std::vector<std::unique_ptr<EchoSession>> sessions;
    TcpListener listener;

    explicit EchoServer(EventLoop& loop)
        : listener(loop, "127.0.0.1", 0, [this](std::unique_ptr<Stream> s) {
              sessions.push_back(std::make_unique<EchoSession>(std::move(s)));
          }) {}
};

// Connects to 127.0.0.1:port and keeps the resulting stream.
struct Client {
    std::unique_ptr<Stream> stream;
    std::string error;
    RecordingHandler handler;
    std::unique_ptr<TcpConnect> connect;

    Client(EventLoop& loop, const std::string& host, std::uint16_t port, std::function<void(Client&)> connected) {
        connect =
            std::make_unique<TcpConnect>(loop, host, port, [this, connected](std::unique_ptr<Stream> s, std::string e) {
                stream = std::move(s);
                error = std::move(e);
                if (stream) stream->set_handler(&handler);
                connected(*this);
            });
    }
};

}  // namespace

TEST_CASE("echo over loopback", "[net][tcp]") {
    EventLoop loop;
    EchoServer server(loop);
    REQUIRE(server.listener.port() != 0);
    Client client(loop, "127.0.0.1", server.listener.port(), [](Client& c) {
        REQUIRE(c.error.empty());
        c.stream->write("hello ");
        c.stream->write("world\r\n");
    });
    client.handler.data_hook = [&](std::string_view) {
        if (client.handler.received.size() >= 13) loop.stop();
    };
    REQUIRE(testing::run_until_stopped(loop));
    CHECK(client.handler.received == "hello world\r\n");
    CHECK(client.stream->peer().ip == "127.0.0.1");
    CHECK(client.stream->peer().port == server.listener.port());
    CHECK(client.stream->local().ip == "127.0.0.1");
    REQUIRE(server.sessions.size() == 1);
    CHECK(server.sessions[0]->stream->peer().port == client.stream->local().port);
    CHECK(server.sessions[0]->stream->local().port == server.listener.port());
}

TEST_CASE("the listener works over IPv6 loopback", "[net][tcp]") {
    EventLoop loop;
    std::unique_ptr<Stream> accepted;
    std::unique_ptr<TcpListener> listener;
    try {
        listener = std::make_unique<TcpListener>(loop, "::1", 0, [&](std::unique_ptr<Stream> s) {
            accepted = std::move(s);
            loop.stop();
        });
    } catch (const std::runtime_error&) {
        WARN("no IPv6 loopback here");
        return;
    }
    Client client(loop, "::1", listener->port(), [](Client&) {});
    REQUIRE(testing::run_until_stopped(loop));
    REQUIRE(accepted);
    CHECK(accepted->peer().ip == "::1");
    CHECK(accepted->local().port == listener->port());
}

TEST_CASE("two listeners can share a port", "[net][tcp]") {
    EventLoop loop;
    TcpListener first(loop, "127.0.0.1", 0, [](std::unique_ptr<Stream>) {});
    CHECK_NOTHROW(TcpListener(loop, "127.0.0.1", first.port(), [](std::unique_ptr<Stream>) {}));
}

TEST_CASE("a listener on a bad address throws naming it", "[net][tcp]") {
    EventLoop loop;
    try {
        TcpListener listener(loop, "192.0.2.1", 0, [](std::unique_ptr<Stream>) {});
        FAIL("no exception");
    } catch (const std::runtime_error& e) {
        CHECK(std::string(e.what()) == "listen 192.0.2.1:0: address not available");
    }
}

TEST_CASE("connecting to a closed port reports connection refused", "[net][tcp]") {
    EventLoop loop;
    Client client(loop, "127.0.0.1", 1, [&](Client&) { loop.stop(); });
    REQUIRE(testing::run_until_stopped(loop));
    CHECK_FALSE(client.stream);
    CHECK(client.error == "connect 127.0.0.1:1: connection refused");
}

TEST_CASE("a host name goes through the resolver and connects", "[net][tcp]") {
    EventLoop loop;
    EchoServer server(loop);
    // localhost may resolve to ::1 first, where nothing listens: the next address is tried.
    Client client(loop, "localhost", server.listener.port(), [&](Client&) { loop.stop(); });
    REQUIRE(testing::run_until_stopped(loop));
    CHECK(client.error.empty());
    REQUIRE(client.stream);
    CHECK(client.stream->peer().ip == "127.0.0.1");
}

TEST_CASE("connecting to an unresolvable name reports the resolver error", "[net][tcp]") {
    EventLoop loop;
    Client client(loop, "nohost.invalid", 143, [&](Client&) { loop.stop(); });
    REQUIRE(testing::run_until_stopped(loop));
    CHECK_FALSE(client.stream);
    CHECK(client.error.starts_with("resolve nohost.invalid: "));
}

TEST_CASE("a TcpConnect destroyed before completion never calls back", "[net][tcp]") {
    EventLoop loop;
    EchoServer server(loop);
    bool called = false;
    SECTION("while resolving") {
        auto connect = std::make_unique<TcpConnect>(loop, "localhost", server.listener.port(),
                                                    [&](std::unique_ptr<Stream>, std::string) { called = true; });
        connect.reset();
    }
    SECTION("while connecting") {
        auto connect = std::make_unique<TcpConnect>(loop, "127.0.0.1", server.listener.port(),
                                                    [&](std::unique_ptr<Stream>, std::string) { called = true; });
        // Resolution of a literal is quick; cancel right after it, mid-connect.
        loop.defer([&] { connect.reset(); });
        testing::run_for(loop, 100ms);
        connect.reset();
    }
    testing::run_for(loop, 100ms);
    CHECK_FALSE(called);
}

TEST_CASE("a TcpConnect may be destroyed inside its own callback", "[net][tcp]") {
    EventLoop loop;
    EchoServer server(loop);
    std::unique_ptr<Stream> stream;
    std::unique_ptr<TcpConnect> connect;
    connect = std::make_unique<TcpConnect>(loop, "127.0.0.1", server.listener.port(),
                                           [&](std::unique_ptr<Stream> s, std::string) {
                                               stream = std::move(s);
                                               connect.reset();
                                               loop.stop();
                                           });
    REQUIRE(testing::run_until_stopped(loop));
    CHECK(stream);
    CHECK_FALSE(connect);
}

TEST_CASE("close flushes pending writes, then on_closed fires once", "[net][tcp]") {
    EventLoop loop;
    std::unique_ptr<Stream> accepted;
    RecordingHandler server_side;
    TcpListener listener(loop, "127.0.0.1", 0, [&](std::unique_ptr<Stream> s) {
        accepted = std::move(s);
        accepted->set_handler(&server_side);
    });
    const std::string payload(3 * 1024 * 1024, 'z');
    Client client(loop, "127.0.0.1", listener.port(), [&](Client& c) {
        c.stream->write(payload);
        c.stream->close();
        c.stream->write("after close is dropped");
    });
    int closed_seen = 0;
    auto maybe_stop = [&] {
        if (++closed_seen == 2) loop.stop();
    };
    server_side.closed_hook = maybe_stop;
    client.handler.closed_hook = maybe_stop;
    REQUIRE(testing::run_until_stopped(loop));
    CHECK(server_side.received == payload);
    CHECK(server_side.closed_reason == "peer closed");
    CHECK(client.handler.closed_reason == "closed");
    testing::run_for(loop, 20ms);
    CHECK(client.handler.closed_count == 1);
    CHECK(server_side.closed_count == 1);
}

TEST_CASE("a stream may be destroyed from its own on_data and on_closed", "[net][tcp]") {
    EventLoop loop;
    std::unique_ptr<Stream> accepted;
    RecordingHandler server_side;
    TcpListener listener(loop, "127.0.0.1", 0, [&](std::unique_ptr<Stream> s) {
        accepted = std::move(s);
        accepted->set_handler(&server_side);
    });
    server_side.data_hook = [&](std::string_view) { accepted.reset(); };
    Client client(loop, "127.0.0.1", listener.port(), [](Client& c) { c.stream->write("bye"); });
    client.handler.closed_hook = [&] {
        client.stream.reset();
        loop.stop();
    };
    REQUIRE(testing::run_until_stopped(loop));
    CHECK(server_side.received == "bye");
    CHECK(server_side.closed_count == 0);  // destroyed, so never told
    CHECK(client.handler.closed_reason == "peer closed");
}

TEST_CASE("destroying a stream with writes in flight frees them", "[net][tcp]") {
    EventLoop loop;
    std::unique_ptr<Stream> accepted;
    TcpListener listener(loop, "127.0.0.1", 0, [&](std::unique_ptr<Stream> s) {
        accepted = std::move(s);  // no handler: never reads, so the client's writes back up
        loop.stop();
    });
    Client client(loop, "127.0.0.1", listener.port(), [](Client& c) {
        for (int i = 0; i < 64; ++i) c.stream->write(std::string(256 * 1024, 'w'));
    });
    REQUIRE(testing::run_until_stopped(loop));
    testing::run_for(loop, 50ms);
    REQUIRE(client.stream);
    CHECK(client.stream->pending_write_bytes() > 0);
    CHECK(client.stream->above_high_watermark());
    client.stream.reset();
    accepted.reset();
    testing::run_for(loop, 20ms);
    CHECK(client.handler.closed_count == 0);
}
