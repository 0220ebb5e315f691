#include "proxy/net/tls_engine.h"

#include "proxy/net/tls_context.h"
#include "proxy/net/tls_names.h"

#include "net_test_support.h"

#include <catch2/catch.hpp>

#include <stdexcept>

using namespace imapfront::net;
using testing::tls_file;

namespace {

std::shared_ptr<TlsServerContext> server_context() {
    return TlsServerContext::create(
        {{tls_file("abcd.pem"), tls_file("abcd.key")}, {tls_file("defg.pem"), tls_file("defg.key")}});
}

// A client and a server engine wired back to back in memory.
struct EnginePair {
    std::unique_ptr<TlsEngine> client;
    std::unique_ptr<TlsEngine> server;
    std::string client_plaintext;
    std::string server_plaintext;
    std::string client_error;
    std::string server_error;

    EnginePair(const std::string& ca, const std::string& server_name)
        : client(TlsEngine::client(TlsClientContext::create(tls_file(ca)), server_name)),
          server(TlsEngine::server(server_context())) {}

    // Moves bytes both ways until neither side has anything left to say.
    void pump() {
        for (int round = 0; round < 20; ++round) {
            bool moved = false;
            const auto c = client->advance(client_plaintext, 1 << 20);
            if (!c.error.empty()) client_error = c.error;
            std::string to_server = client->take_output();
            const auto s = server->advance(server_plaintext, 1 << 20);
            if (!s.error.empty()) server_error = s.error;
            std::string to_client = server->take_output();
            moved = !to_server.empty() || !to_client.empty();
            server->receive(to_server);
            client->receive(to_client);
            if (!moved) return;
        }
    }
};

}  // namespace

TEST_CASE("client and server engines handshake in memory and exchange data", "[net][tls]") {
    EnginePair pair("ca.pem", "imap.abcd.test");
    pair.client->send("hello from the client");
    pair.pump();
    REQUIRE(pair.client->established());
    REQUIRE(pair.server->established());
    CHECK(pair.server_plaintext == "hello from the client");
    pair.server->send("hello back");
    pair.pump();
    CHECK(pair.client_plaintext == "hello back");
    CHECK(pair.client->peer_common_name() == "imap.abcd.test");
    CHECK(pair.server->server_name() == "imap.abcd.test");
}

TEST_CASE("SNI picks the certificate whose DNS names match, case-insensitively", "[net][tls]") {
    EnginePair pair("ca.pem", "IMAP.Defg.TEST");
    pair.pump();
    REQUIRE(pair.client_error.empty());
    REQUIRE(pair.client->established());
    CHECK(pair.client->peer_common_name() == "imap.defg.test");
    CHECK(pair.server->server_name() == "imap.defg.test");
}

TEST_CASE("without SNI the first certificate is used and sni is empty", "[net][tls]") {
    EnginePair pair("ca.pem", "127.0.0.1");  // IP literals are verified but never sent as SNI
    pair.pump();
    REQUIRE(pair.client_error.empty());
    REQUIRE(pair.client->established());
    CHECK(pair.client->peer_common_name() == "imap.abcd.test");
    CHECK(pair.server->server_name().empty());
}

TEST_CASE("an unknown SNI name gets the default certificate", "[net][tls]") {
    EnginePair pair("ca.pem", "localhost");
    pair.pump();
    REQUIRE(pair.client->established());
    CHECK(pair.client->peer_common_name() == "imap.abcd.test");
    CHECK(pair.server->server_name() == "localhost");
}

TEST_CASE("a certificate from an unknown CA fails verification and yields no data", "[net][tls]") {
    EnginePair pair("other-ca.pem", "imap.abcd.test");
    pair.server->send("must never arrive");
    pair.pump();
    CHECK_FALSE(pair.client->established());
    CHECK(pair.client_error.find("certificate verify failed") != std::string::npos);
    CHECK(pair.client_plaintext.empty());
    CHECK_FALSE(pair.server_error.empty());  // the client's alert reaches the server
}

TEST_CASE("a certificate for another host name fails verification", "[net][tls]") {
    EnginePair pair("ca.pem", "imap.wrong.test");
    pair.pump();
    CHECK_FALSE(pair.client->established());
    CHECK(pair.client_error == "tls: certificate verify failed: hostname mismatch");
}

TEST_CASE("an IP address not in the certificate fails verification", "[net][tls]") {
    EnginePair pair("ca.pem", "127.0.0.2");
    pair.pump();
    CHECK_FALSE(pair.client->established());
    CHECK(pair.client_error.find("IP address mismatch") != std::string::npos);
}

TEST_CASE("close_notify tells the peer the stream ended", "[net][tls]") {
    EnginePair pair("ca.pem", "imap.abcd.test");
    pair.pump();
    REQUIRE(pair.server->established());
    pair.client->send("last words");
    pair.client->close_notify();
    pair.server->receive(pair.client->take_output());
    std::string plaintext;
    const auto progress = pair.server->advance(plaintext, 1 << 20);
    CHECK(plaintext == "last words");
    CHECK(progress.peer_closed);
}

TEST_CASE("advance hands out at most the asked-for plaintext and keeps the rest", "[net][tls]") {
    EnginePair pair("ca.pem", "imap.abcd.test");
    pair.pump();
    pair.client->send(std::string(50000, 'x'));
    pair.server->receive(pair.client->take_output());
    std::string plaintext;
    pair.server->advance(plaintext, 1000);
    CHECK(plaintext.size() == 1000);
    CHECK(pair.server->has_input());
    while (pair.server->has_input()) pair.server->advance(plaintext, 1000);
    CHECK(plaintext == std::string(50000, 'x'));
}

TEST_CASE("ciphertext taken out in pieces reaches the peer whole and in order", "[net][tls]") {
    EnginePair pair("ca.pem", "imap.abcd.test");
    pair.pump();
    std::string sent;
    for (int i = 0; i < 200; ++i) sent += "line " + std::to_string(i) + " of a response the socket takes in pieces\r\n";
    pair.server->send(sent);
    const std::size_t ciphertext = pair.server->output().size();
    REQUIRE(ciphertext > sent.size());
    CHECK(pair.server->buffered_bytes() == ciphertext);
    // As a socket would: some bytes now, more later, the rest queued.
    std::string wire(pair.server->output().substr(0, 1000));
    pair.server->consume_output(1000);
    CHECK(pair.server->buffered_bytes() == ciphertext - 1000);
    wire += pair.server->output().substr(0, 3000);
    pair.server->consume_output(3000);
    wire += pair.server->take_output();
    CHECK(pair.server->buffered_bytes() == 0);
    CHECK(pair.server->output().empty());
    CHECK(wire.size() == ciphertext);
    pair.client->receive(wire);
    std::string plaintext;
    while (pair.client->has_input()) pair.client->advance(plaintext, 1 << 20);
    CHECK(plaintext == sent);
}

TEST_CASE("plaintext sent before the handshake counts as buffered until it goes out", "[net][tls]") {
    EnginePair pair("ca.pem", "imap.abcd.test");
    pair.client->send("early");
    CHECK(pair.client->buffered_bytes() >= 5);
    pair.pump();
    CHECK(pair.client->buffered_bytes() == 0);
    CHECK(pair.server_plaintext == "early");
}

TEST_CASE("loading errors name the file and the reason", "[net][tls]") {
    try {
        TlsServerContext::create({{tls_file("missing.pem"), tls_file("abcd.key")}});
        FAIL("no exception");
    } catch (const std::runtime_error& e) {
        CHECK(std::string(e.what()).find("missing.pem") != std::string::npos);
    }
    try {
        TlsServerContext::create({{tls_file("abcd.pem"), tls_file("defg.key")}});
        FAIL("no exception");
    } catch (const std::runtime_error& e) {
        CHECK(std::string(e.what()).find("defg.key") != std::string::npos);
    }
    try {
        TlsClientContext::create(tls_file("missing-ca.pem"));
        FAIL("no exception");
    } catch (const std::runtime_error& e) {
        CHECK(std::string(e.what()).find("missing-ca.pem") != std::string::npos);
    }
    CHECK_THROWS_AS(TlsServerContext::create({}), std::runtime_error);
}

TEST_CASE("certificate name patterns", "[net][tls]") {
    using imapfront::net::detail::dns_name_matches;
    CHECK(dns_name_matches("imap.abcd.test", "IMAP.abcd.test"));
    CHECK_FALSE(dns_name_matches("imap.abcd.test", "abcd.test"));
    CHECK(dns_name_matches("*.abcd.test", "imap.abcd.test"));
    CHECK_FALSE(dns_name_matches("*.abcd.test", "a.imap.abcd.test"));
    CHECK_FALSE(dns_name_matches("*.abcd.test", "abcd.test"));
    CHECK_FALSE(dns_name_matches("*.abcd.test", ".abcd.test"));
    CHECK_FALSE(dns_name_matches("", "abcd.test"));
}
