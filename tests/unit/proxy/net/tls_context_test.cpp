#include "proxy/net/tls_context.h"

#include "proxy/net/tls_engine.h"

#include "net_test_support.h"

#include <catch2/catch.hpp>

#include <openssl/ssl.h>

#include <array>
#include <string>

using namespace imapfront::net;
using testing::tls_file;

namespace {

std::shared_ptr<TlsServerContext> load_server_context() {
    return TlsServerContext::create({{tls_file("abcd.pem"), tls_file("abcd.key")}});
}

// A plain OpenSSL client over memory BIOs, so the test can hold on to the
// session tickets the server sends and offer them again.
class TicketClient {
public:
    TicketClient() : ctx_(SSL_CTX_new(TLS_client_method())) { SSL_CTX_set_verify(ctx_, SSL_VERIFY_NONE, nullptr); }
    ~TicketClient() { SSL_CTX_free(ctx_); }
    TicketClient(const TicketClient&) = delete;
    TicketClient& operator=(const TicketClient&) = delete;

    // Handshakes with `server`, offering `offer` if given; returns the
    // connection's latest session (with the tickets it received) and whether
    // the offer was taken.
    std::pair<SSL_SESSION*, bool> connect(TlsEngine& server, SSL_SESSION* offer) {
        SSL* ssl = SSL_new(ctx_);
        BIO* from_server = BIO_new(BIO_s_mem());
        BIO* to_server = BIO_new(BIO_s_mem());
        BIO_set_mem_eof_return(from_server, -1);
        SSL_set_bio(ssl, from_server, to_server);
        SSL_set_connect_state(ssl);
        if (offer) SSL_set_session(ssl, offer);
        std::array<char, 4096> chunk{};
        std::string ignored;
        for (int round = 0; round < 20; ++round) {
            SSL_do_handshake(ssl);
            if (SSL_is_init_finished(ssl)) SSL_read(ssl, chunk.data(), static_cast<int>(chunk.size()));
            int pending = 0;
            while ((pending = BIO_read(to_server, chunk.data(), static_cast<int>(chunk.size()))) > 0) {
                server.receive(std::string_view(chunk.data(), static_cast<std::size_t>(pending)));
            }
            server.advance(ignored, 1 << 20);
            const std::string reply = server.take_output();
            if (reply.empty() && SSL_is_init_finished(ssl)) break;
            BIO_write(from_server, reply.data(), static_cast<int>(reply.size()));
        }
        const bool reused = SSL_session_reused(ssl) == 1;
        SSL_SESSION* session = SSL_get1_session(ssl);
        SSL_shutdown(ssl);
        SSL_free(ssl);
        return {session, reused};
    }

private:
    SSL_CTX* ctx_;
};

}  // namespace

TEST_CASE("a session ticket stays good for a server context loaded later, as after a reload", "[net][tls]") {
    TicketClient client;
    auto before_reload = TlsEngine::server(load_server_context());
    auto [ticket, first_reused] = client.connect(*before_reload, nullptr);
    REQUIRE(ticket != nullptr);
    CHECK_FALSE(first_reused);
    REQUIRE(SSL_SESSION_is_resumable(ticket) == 1);

    auto after_reload = TlsEngine::server(load_server_context());
    auto [next, resumed] = client.connect(*after_reload, ticket);
    CHECK(resumed);
    CHECK(after_reload->established());
    SSL_SESSION_free(ticket);
    SSL_SESSION_free(next);
}
