#include "proxy/net/tls_engine.h"

#include "proxy/net/tls_context_impl.h"
#include "proxy/net/tls_errors.h"
#include "proxy/net/tls_names.h"

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <climits>
#include <stdexcept>

namespace imapfront::net {

namespace {

bool is_ip_literal(const std::string& name) {
    std::array<unsigned char, 16> address{};
    return inet_pton(AF_INET, name.c_str(), address.data()) == 1 ||
           inet_pton(AF_INET6, name.c_str(), address.data()) == 1;
}

ssl_st* new_ssl(SSL_CTX* ctx) {
    SSL* ssl = SSL_new(ctx);
    if (!ssl) throw std::runtime_error("cannot create TLS connection: " + detail::take_openssl_error());
    return ssl;
}

int clamp_to_int(std::size_t size) { return static_cast<int>(std::min<std::size_t>(size, INT_MAX)); }

}  // namespace

TlsEngine::TlsEngine(std::shared_ptr<void> context, ssl_st* ssl)
    : context_(std::move(context)), ssl_(ssl), network_in_(BIO_new(BIO_s_mem())), network_out_(BIO_new(BIO_s_mem())) {
    // An empty input BIO means "wait for more", never end of stream.
    BIO_set_mem_eof_return(network_in_, -1);
    SSL_set_bio(ssl_, network_in_, network_out_);
}

TlsEngine::~TlsEngine() { SSL_free(ssl_); }

std::unique_ptr<TlsEngine> TlsEngine::server(std::shared_ptr<TlsServerContext> context) {
    SSL* ssl = new_ssl(context->impl().default_ctx());
    std::unique_ptr<TlsEngine> engine(new TlsEngine(std::move(context), ssl));
    SSL_set_accept_state(ssl);
    return engine;
}

std::unique_ptr<TlsEngine> TlsEngine::client(std::shared_ptr<TlsClientContext> context, const std::string& server_name) {
    SSL* ssl = new_ssl(context->impl().ctx);
    std::unique_ptr<TlsEngine> engine(new TlsEngine(std::move(context), ssl));
    SSL_set_connect_state(ssl);
    if (is_ip_literal(server_name)) {
        X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), server_name.c_str());
    } else if (!server_name.empty()) {
        SSL_set1_host(ssl, server_name.c_str());
        // SSL_set_tlsext_host_name without the C cast inside the macro.
        SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name, const_cast<char*>(server_name.c_str()));
    }
    return engine;
}

void TlsEngine::receive(std::string_view ciphertext) {
    if (!ciphertext.empty()) BIO_write(network_in_, ciphertext.data(), clamp_to_int(ciphertext.size()));
}

TlsEngine::Progress TlsEngine::advance(std::string& plaintext, std::size_t limit) {
    Progress progress;
    if (failed()) {
        progress.error = error_;
        return progress;
    }
    if (!established_) {
        const int rc = SSL_do_handshake(ssl_);
        if (rc != 1) {
            const int error = SSL_get_error(ssl_, rc);
            if (error != SSL_ERROR_WANT_READ && error != SSL_ERROR_WANT_WRITE) progress.error = describe_failure(error);
            return progress;
        }
        established_ = true;
        progress.handshake_completed = true;
        flush_plaintext();
    }
    std::array<char, 16 * 1024> chunk;
    std::size_t taken = 0;
    while (taken < limit) {
        const int n = SSL_read(ssl_, chunk.data(), clamp_to_int(std::min(chunk.size(), limit - taken)));
        if (n > 0) {
            plaintext.append(chunk.data(), static_cast<std::size_t>(n));
            taken += static_cast<std::size_t>(n);
            continue;
        }
        const int error = SSL_get_error(ssl_, n);
        if (error == SSL_ERROR_ZERO_RETURN) {
            progress.peer_closed = true;
        } else if (error != SSL_ERROR_WANT_READ && error != SSL_ERROR_WANT_WRITE) {
            progress.error = describe_failure(error);
        }
        break;
    }
    // A TLS 1.3 key update read above may have unblocked held writes.
    if (!failed()) flush_plaintext();
    return progress;
}

void TlsEngine::send(std::string_view plaintext) {
    if (closing_ || failed()) return;
    held_plaintext_.append(plaintext);
    if (established_) flush_plaintext();
}

void TlsEngine::flush_plaintext() {
    std::size_t written = 0;
    while (written < held_plaintext_.size()) {
        const int n = SSL_write(ssl_, held_plaintext_.data() + written, clamp_to_int(held_plaintext_.size() - written));
        if (n <= 0) {
            const int error = SSL_get_error(ssl_, n);
            if (error != SSL_ERROR_WANT_READ && error != SSL_ERROR_WANT_WRITE) describe_failure(error);
            break;
        }
        written += static_cast<std::size_t>(n);
    }
    held_plaintext_.erase(0, written);
}

std::string TlsEngine::take_output() {
    const std::size_t pending = BIO_ctrl_pending(network_out_);
    std::string out(pending, '\0');
    if (pending > 0) BIO_read(network_out_, out.data(), clamp_to_int(pending));
    return out;
}

bool TlsEngine::has_input() const {
    return !failed() && (BIO_ctrl_pending(network_in_) > 0 || SSL_pending(ssl_) > 0);
}

std::size_t TlsEngine::buffered_bytes() const { return held_plaintext_.size() + BIO_ctrl_pending(network_out_); }

void TlsEngine::close_notify() {
    if (closing_ || failed() || !established_) return;
    flush_plaintext();
    closing_ = true;
    SSL_shutdown(ssl_);
    ERR_clear_error();
}

std::string TlsEngine::server_name() const {
    const char* name = SSL_get_servername(ssl_, TLSEXT_NAMETYPE_host_name);
    return name ? detail::lower_ascii(name) : std::string();
}

std::string TlsEngine::peer_common_name() const {
    X509* cert = SSL_get0_peer_certificate(ssl_);
    if (!cert) return {};
    std::array<char, 256> name{};
    if (X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, name.data(), static_cast<int>(name.size())) < 0) return {};
    return name.data();
}

std::string TlsEngine::describe_failure(int ssl_error) {
    const long verify = SSL_get_verify_result(ssl_);
    if (SSL_is_server(ssl_) == 0 && verify != X509_V_OK) {
        ERR_clear_error();
        error_ = std::string("tls: certificate verify failed: ") + X509_verify_cert_error_string(verify);
    } else if (ssl_error == SSL_ERROR_SYSCALL) {
        error_ = "tls: " + detail::take_openssl_error("unexpected end of stream");
    } else {
        error_ = "tls: " + detail::take_openssl_error();
    }
    return error_;
}

}  // namespace imapfront::net
