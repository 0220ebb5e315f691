#include "proxy/net/tcp.h"
#include "proxy/net/tls_context.h"

#include "net_test_support.h"

#include <catch2/catch.hpp>

using namespace imapfront::net;
using namespace std::chrono_literals;
using testing::RecordingHandler;
using testing::tls_file;

namespace {

std::shared_ptr<TlsServerContext> server_context() {
    return TlsServerContext::create(
        {{tls_file("abcd.pem"), tls_file("abcd.key")}, {tls_file("defg.pem"), tls_file("defg.key")}});
}

// An implicit-TLS server and a client that verifies `server_name` against `ca`.
struct TlsPair {
    EventLoop loop;
    std::unique_ptr<Stream> server;
    RecordingHandler server_side;
    std::unique_ptr<Stream> client;
    RecordingHandler client_side;
    TcpListener listener;
    std::unique_ptr<TcpConnect> connect;

    TlsPair(const std::string& ca, const std::string& server_name)
        : listener(loop, "127.0.0.1", 0, [this](std::unique_ptr<Stream> s) {
              server = std::move(s);
              server->start_tls_server(server_context());
              server->set_handler(&server_side);
          }) {
        auto client_tls = TlsClientContext::create(tls_file(ca));
        connect =
            std::make_unique<TcpConnect>(loop, "127.0.0.1", listener.port(),
                                         [this, client_tls, server_name](std::unique_ptr<Stream> s, std::string error) {
                                             REQUIRE(error.empty());
                                             client = std::move(s);
                                             client->set_handler(&client_side);
                                             client->start_tls_client(client_tls, server_name);
                                         });
    }

    // The client finishes its handshake before the server reads its Finished.
    void stop_when_both_ready() {
        auto check = [this] {
            if (client_side.tls_ready_count + server_side.tls_ready_count == 2) loop.stop();
        };
        client_side.tls_ready_hook = check;
        server_side.tls_ready_hook = check;
        client_side.closed_hook = [this] { loop.stop(); };
    }
};

}  // namespace

TEST_CASE("TLS over loopback: handshake, then data both ways", "[net][tls][tcp]") {
    TlsPair pair("ca.pem", "localhost");
    pair.client_side.tls_ready_hook = [&] { pair.client->write("ping\r\n"); };
    pair.server_side.data_hook = [&](std::string_view) {
        if (pair.server_side.received == "ping\r\n") pair.server->write("pong\r\n");
    };
    pair.client_side.data_hook = [&](std::string_view) {
        if (pair.client_side.received == "pong\r\n") pair.loop.stop();
    };
    REQUIRE(testing::run_until_stopped(pair.loop));
    CHECK(pair.client->tls_active());
    CHECK(pair.server->tls_active());
    CHECK(pair.client_side.tls_ready_count == 1);
    CHECK(pair.server_side.tls_ready_count == 1);
    CHECK(pair.server->sni() == "localhost");
}

TEST_CASE("TLS over loopback: SNI selects the matching certificate", "[net][tls][tcp]") {
    // imap.defg.test verifies only against the defg certificate, so success
    // proves the server switched away from the default.
    TlsPair pair("ca.pem", "Imap.Defg.Test");
    pair.stop_when_both_ready();
    REQUIRE(testing::run_until_stopped(pair.loop));
    CHECK(pair.client_side.closed_reason.empty());
    CHECK(pair.client->tls_active());
    CHECK(pair.server->sni() == "imap.defg.test");
}

TEST_CASE("TLS over loopback: without SNI the default certificate serves an IP", "[net][tls][tcp]") {
    TlsPair pair("ca.pem", "127.0.0.1");
    pair.stop_when_both_ready();
    REQUIRE(testing::run_until_stopped(pair.loop));
    CHECK(pair.client->tls_active());
    CHECK(pair.server->sni().empty());
}

TEST_CASE("TLS over loopback: verification failures close without delivering data", "[net][tls][tcp]") {
    std::string ca = "ca.pem";
    std::string name = "imap.wrong.test";
    std::string expected = "tls: certificate verify failed: hostname mismatch";
    SECTION("wrong CA") {
        ca = "other-ca.pem";
        name = "localhost";
        expected = "tls: certificate verify failed: unable to get local issuer certificate";
    }
    SECTION("wrong host name") {}
    TlsPair pair(ca, name);
    int closed = 0;
    auto both_closed = [&] {
        if (++closed == 2) pair.loop.stop();
    };
    pair.client_side.closed_hook = both_closed;
    pair.server_side.closed_hook = both_closed;
    // Neither side may ever hand plaintext across an unverified session.
    pair.server_side.tls_ready_hook = [&] { pair.server->write("secret"); };
    pair.client_side.tls_ready_hook = [&] { pair.client->write("password"); };
    REQUIRE(testing::run_until_stopped(pair.loop));
    CHECK(pair.client_side.closed_reason == expected);
    CHECK(pair.client_side.received.empty());
    CHECK(pair.server_side.received.empty());
    CHECK(pair.client_side.tls_ready_count == 0);
    CHECK_FALSE(pair.client->tls_active());
    CHECK(pair.server_side.closed_reason.starts_with("tls: "));
}

TEST_CASE("STARTTLS: a plaintext exchange, then TLS on both sides", "[net][tls][tcp]") {
    EventLoop loop;
    auto client_tls = TlsClientContext::create(tls_file("ca.pem"));
    auto server_tls = server_context();
    std::unique_ptr<Stream> server;
    RecordingHandler server_side;
    TcpListener listener(loop, "127.0.0.1", 0, [&](std::unique_ptr<Stream> s) {
        server = std::move(s);
        server->set_handler(&server_side);
        server->write("* OK ready\r\n");
    });
    server_side.data_hook = [&](std::string_view) {
        if (server_side.received == "a STARTTLS\r\n") {
            server->write("a OK begin TLS\r\n");
            server->start_tls_server(server_tls);
            server_side.received.clear();
        } else if (server_side.received == "b NOOP\r\n") {
            server->write("b OK secret noop\r\n");
        }
    };
    std::unique_ptr<Stream> client;
    RecordingHandler client_side;
    client_side.data_hook = [&](std::string_view) {
        if (client_side.received == "* OK ready\r\n") {
            client->write("a STARTTLS\r\n");
        } else if (client_side.received == "* OK ready\r\na OK begin TLS\r\n") {
            client->start_tls_client(client_tls, "imap.abcd.test");
            client_side.received.clear();
        } else if (client_side.received == "b OK secret noop\r\n") {
            loop.stop();
        }
    };
    client_side.tls_ready_hook = [&] { client->write("b NOOP\r\n"); };
    client_side.closed_hook = [&] { loop.stop(); };
    TcpConnect connect(loop, "127.0.0.1", listener.port(), [&](std::unique_ptr<Stream> s, std::string error) {
        REQUIRE(error.empty());
        client = std::move(s);
        client->set_handler(&client_side);
    });
    REQUIRE(testing::run_until_stopped(loop));
    CHECK(client_side.closed_reason.empty());
    CHECK(client_side.received == "b OK secret noop\r\n");
    CHECK(client->tls_active());
    CHECK(server->tls_active());
    CHECK(server->sni() == "imap.abcd.test");
}

TEST_CASE("closing a TLS stream sends close_notify and the peer sees it", "[net][tls][tcp]") {
    TlsPair pair("ca.pem", "localhost");
    pair.client_side.tls_ready_hook = [&] {
        pair.client->write("last");
        pair.client->close();
    };
    int closed = 0;
    auto both_closed = [&] {
        if (++closed == 2) pair.loop.stop();
    };
    pair.client_side.closed_hook = both_closed;
    pair.server_side.closed_hook = both_closed;
    REQUIRE(testing::run_until_stopped(pair.loop));
    CHECK(pair.server_side.received == "last");
    CHECK(pair.server_side.closed_reason == "peer closed");
    CHECK(pair.client_side.closed_reason == "closed");
}
