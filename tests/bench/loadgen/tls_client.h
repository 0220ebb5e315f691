#pragma once

#include <openssl/ssl.h>

#include <cstdint>
#include <deque>
#include <string>

namespace loadgen {

// The client side of implicit TLS. Certificates are not verified: the
// benchmark measures the proxies' cost, and every target gets the same client.
// With resumption on, each new connection offers one unused session ticket
// received earlier, as a real client would (TLS 1.3 tickets are single-use).
class TlsClient {
public:
    explicit TlsClient(bool resume);
    ~TlsClient();
    TlsClient(const TlsClient&) = delete;
    TlsClient& operator=(const TlsClient&) = delete;

    // A new SSL object for a connected socket, with the cached session offered.
    SSL* make_ssl(int fd, const std::string& server_name);

    // Counts whether the server took the offered session, after a handshake.
    void record_handshake(SSL* ssl);

    std::uint64_t offers() const { return offers_; }
    std::uint64_t resumed() const { return resumed_; }

private:
    static int on_new_session(SSL* ssl, SSL_SESSION* session);

    SSL_CTX* ctx_;
    bool resume_;
    std::deque<SSL_SESSION*> unused_;
    std::uint64_t offers_ = 0;
    std::uint64_t resumed_ = 0;
};

}  // namespace loadgen
