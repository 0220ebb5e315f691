// The OpenSSL state behind TlsServerContext and TlsClientContext, shared by
// the TLS engine.
#pragma once

#include "proxy/net/tls_context.h"

#include <openssl/ssl.h>

#include <string>
#include <string_view>
#include <vector>

namespace imapfront::net {

struct TlsServerContext::Impl {
    struct Certificate {
        SSL_CTX* ctx = nullptr;          // owns this certificate and key
        std::vector<std::string> names;  // lower-cased DNS names from SAN, else CN
    };

    std::vector<Certificate> certificates;  // the first is the default

    Impl() = default;
    Impl(const Impl&) = delete;
    Impl& operator=(const Impl&) = delete;
    ~Impl();

    // Handshakes start on the default context; the SNI callback may switch.
    SSL_CTX* default_ctx() const { return certificates.front().ctx; }
    SSL_CTX* ctx_for(std::string_view server_name) const;
};

struct TlsClientContext::Impl {
    SSL_CTX* ctx = nullptr;

    Impl() = default;
    Impl(const Impl&) = delete;
    Impl& operator=(const Impl&) = delete;
    ~Impl();
};

}  // namespace imapfront::net
