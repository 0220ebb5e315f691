#include "tls_client.h"

#include <stdexcept>

namespace loadgen {

namespace {

int owner_index() {
    static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
    return index;
}

}  // namespace

TlsClient::TlsClient(bool resume) : ctx_(SSL_CTX_new(TLS_client_method())), resume_(resume) {
    if (ctx_ == nullptr) {
        throw std::runtime_error("SSL_CTX_new failed");
    }
    SSL_CTX_set_min_proto_version(ctx_, TLS1_2_VERSION);
    SSL_CTX_set_verify(ctx_, SSL_VERIFY_NONE, nullptr);
    SSL_CTX_set_ex_data(ctx_, owner_index(), this);
    if (resume_) {
        SSL_CTX_set_session_cache_mode(ctx_, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
        SSL_CTX_sess_set_new_cb(ctx_, &TlsClient::on_new_session);
    }
}

TlsClient::~TlsClient() {
    for (SSL_SESSION* session : unused_) {
        SSL_SESSION_free(session);
    }
    SSL_CTX_free(ctx_);
}

int TlsClient::on_new_session(SSL* ssl, SSL_SESSION* session) {
    auto* self = static_cast<TlsClient*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), owner_index()));
    constexpr std::size_t kMaxUnused = 1024;
    if (self->unused_.size() >= kMaxUnused) {
        SSL_SESSION_free(self->unused_.front());
        self->unused_.pop_front();
    }
    self->unused_.push_back(session);
    return 1;  // we keep the reference
}

SSL* TlsClient::make_ssl(int fd, const std::string& server_name) {
    SSL* ssl = SSL_new(ctx_);
    SSL_set_fd(ssl, fd);
    SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
             static_cast<void*>(const_cast<char*>(server_name.c_str())));
    if (resume_ && !unused_.empty()) {
        SSL_SESSION* session = unused_.back();
        unused_.pop_back();
        SSL_set_session(ssl, session);
        SSL_SESSION_free(session);  // the SSL object holds its own reference now
        ++offers_;
    }
    return ssl;
}

void TlsClient::record_handshake(SSL* ssl) {
    if (resume_ && SSL_session_reused(ssl) != 0) {
        ++resumed_;
    }
}

}  // namespace loadgen
