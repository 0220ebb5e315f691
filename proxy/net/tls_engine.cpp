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
#include <cstring>
#include <stdexcept>

namespace imapfront::net {

// The BIO method's callbacks: the engine's private ciphertext buffers are theirs alone.
struct TlsEngineBio {
    static TlsEngine& engine_of(BIO* bio) { return *static_cast<TlsEngine*>(BIO_get_data(bio)); }

    static int write(BIO* bio, const char* data, int length) {
        BIO_clear_retry_flags(bio);
        if (length <= 0) return 0;
        engine_of(bio).write_ciphertext({data, static_cast<std::size_t>(length)});
        return length;
    }

    static int read(BIO* bio, char* into, int capacity) {
        BIO_clear_retry_flags(bio);
        if (capacity <= 0) return 0;
        const std::size_t n = engine_of(bio).read_ciphertext(into, static_cast<std::size_t>(capacity));
        if (n == 0) {
            // Nothing yet means "wait for more", never end of stream.
            BIO_set_retry_read(bio);
            return -1;
        }
        return static_cast<int>(n);
    }

    static long ctrl(BIO* bio, int command, long, void*) {
        switch (command) {
        case BIO_CTRL_FLUSH: return 1;
        case BIO_CTRL_PENDING:
            return static_cast<long>(std::min<std::size_t>(engine_of(bio).ciphertext_waiting(), LONG_MAX));
        default: return 0;
        }
    }
};

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

// Frees a buffer that ran empty, so idle connections hold none.
void release(std::string& buffer) { std::string().swap(buffer); }

int bio_create(BIO* bio) {
    BIO_set_init(bio, 1);
    return 1;
}

int bio_destroy(BIO*) { return 1; }

// One method table for the process, made on first use and never freed.
const BIO_METHOD* engine_bio_method() {
    static const BIO_METHOD* method = [] {
        BIO_METHOD* made = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "imapfront engine");
        if (!made) throw std::runtime_error("cannot create TLS BIO method: " + detail::take_openssl_error());
        BIO_meth_set_write(made, TlsEngineBio::write);
        BIO_meth_set_read(made, TlsEngineBio::read);
        BIO_meth_set_ctrl(made, TlsEngineBio::ctrl);
        BIO_meth_set_create(made, bio_create);
        BIO_meth_set_destroy(made, bio_destroy);
        return made;
    }();
    return method;
}

// Room for the records `plaintext` becomes: at most 16 KiB each, plus header,
// tag and padding.
std::size_t record_space(std::size_t plaintext) {
    constexpr std::size_t record = 16 * 1024;
    constexpr std::size_t overhead = 64;
    return plaintext + (plaintext / record + 1) * overhead;
}

}  // namespace

TlsEngine::TlsEngine(std::shared_ptr<void> context, ssl_st* ssl) : context_(std::move(context)), ssl_(ssl) {
    BIO* bio = BIO_new(engine_bio_method());
    if (!bio) {
        SSL_free(ssl_);
        throw std::runtime_error("cannot create TLS BIO: " + detail::take_openssl_error());
    }
    BIO_set_data(bio, this);
    // The same BIO both ways: SSL_set_bio takes the one reference.
    SSL_set_bio(ssl_, bio, bio);
}

TlsEngine::~TlsEngine() { SSL_free(ssl_); }

std::unique_ptr<TlsEngine> TlsEngine::server(std::shared_ptr<TlsServerContext> context) {
    SSL* ssl = new_ssl(context->impl().default_ctx());
    std::unique_ptr<TlsEngine> engine(new TlsEngine(std::move(context), ssl));
    SSL_set_accept_state(ssl);
    return engine;
}

std::unique_ptr<TlsEngine> TlsEngine::client(std::shared_ptr<TlsClientContext> context,
                                             const std::string& server_name) {
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
    if (ciphertext.empty()) return;
    if (input_offset_ > 0) {
        input_.erase(0, input_offset_);
        input_offset_ = 0;
    }
    input_.append(ciphertext);
}

std::size_t TlsEngine::read_ciphertext(char* into, std::size_t capacity) {
    const std::size_t n = std::min(capacity, ciphertext_waiting());
    std::memcpy(into, input_.data() + input_offset_, n);
    input_offset_ += n;
    if (input_offset_ == input_.size()) {
        release(input_);
        input_offset_ = 0;
    }
    return n;
}

void TlsEngine::write_ciphertext(std::string_view record) { output_.append(record); }

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
    if (closing_ || failed() || plaintext.empty()) return;
    if (!established_ || !held_plaintext_.empty()) {
        held_plaintext_.append(plaintext);
        if (established_) flush_plaintext();
        return;
    }
    const std::size_t written = write_plaintext(plaintext);
    if (written < plaintext.size()) held_plaintext_.append(plaintext.substr(written));
}

std::size_t TlsEngine::write_plaintext(std::string_view plaintext) {
    output_.reserve(output_.size() + record_space(plaintext.size()));
    std::size_t written = 0;
    while (written < plaintext.size()) {
        const int n = SSL_write(ssl_, plaintext.data() + written, clamp_to_int(plaintext.size() - written));
        if (n <= 0) {
            const int error = SSL_get_error(ssl_, n);
            if (error != SSL_ERROR_WANT_READ && error != SSL_ERROR_WANT_WRITE) describe_failure(error);
            break;
        }
        written += static_cast<std::size_t>(n);
    }
    return written;
}

void TlsEngine::flush_plaintext() {
    if (held_plaintext_.empty()) return;
    const std::size_t written = write_plaintext(held_plaintext_);
    if (written == held_plaintext_.size()) {
        release(held_plaintext_);
    } else {
        held_plaintext_.erase(0, written);
    }
}

std::string_view TlsEngine::output() const { return std::string_view(output_).substr(output_offset_); }

void TlsEngine::consume_output(std::size_t bytes) {
    output_offset_ = std::min(output_.size(), output_offset_ + bytes);
    if (output_offset_ == output_.size()) {
        release(output_);
        output_offset_ = 0;
    }
}

std::string TlsEngine::take_output() {
    std::string out = output_offset_ == 0 ? std::move(output_) : output_.substr(output_offset_);
    release(output_);
    output_offset_ = 0;
    return out;
}

bool TlsEngine::has_input() const { return !failed() && (ciphertext_waiting() > 0 || SSL_pending(ssl_) > 0); }

std::size_t TlsEngine::buffered_bytes() const { return held_plaintext_.size() + output_.size() - output_offset_; }

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
    if (X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, name.data(),
                                  static_cast<int>(name.size())) < 0)
        return {};
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
