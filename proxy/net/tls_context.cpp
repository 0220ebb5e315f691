#include "proxy/net/tls_context.h"

#include "proxy/net/tls_context_impl.h"
#include "proxy/net/tls_errors.h"
#include "proxy/net/tls_names.h"

#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include <stdexcept>

namespace imapfront::net {

namespace {

constexpr unsigned char session_id_context[] = "imapfront";

SSL_CTX* new_ctx(const SSL_METHOD* method) {
    SSL_CTX* ctx = SSL_CTX_new(method);
    if (!ctx) throw std::runtime_error("cannot create TLS context: " + detail::take_openssl_error());
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION);
    return ctx;
}

// One session ticket key for every server context of the process, made at
// first use: a ticket stays good across listeners and across config reloads
// (each reload builds new contexts), for as long as the process runs.
void share_ticket_key(SSL_CTX* ctx) {
    static const std::vector<unsigned char> key = [ctx] {
        // Asked without a buffer, OpenSSL says how long the key material is.
        const long length = SSL_CTX_ctrl(ctx, SSL_CTRL_GET_TLSEXT_TICKET_KEYS, 0, nullptr);
        std::vector<unsigned char> made(length > 0 ? static_cast<std::size_t>(length) : 0);
        if (!made.empty() && RAND_bytes(made.data(), static_cast<int>(made.size())) != 1) made.clear();
        return made;
    }();
    if (key.empty()) return;  // each context keeps its own random key
    SSL_CTX_ctrl(ctx, SSL_CTRL_SET_TLSEXT_TICKET_KEYS, static_cast<long>(key.size()),
                 const_cast<unsigned char*>(key.data()));
}

std::string asn1_text(const ASN1_STRING* text) {
    return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(text)),
                       static_cast<std::size_t>(ASN1_STRING_length(text)));
}

std::vector<std::string> dns_names(X509* cert) {
    std::vector<std::string> names;
    auto* general_names = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
    if (general_names) {
        for (int i = 0; i < sk_GENERAL_NAME_num(general_names); ++i) {
            const GENERAL_NAME* name = sk_GENERAL_NAME_value(general_names, i);
            if (name->type == GEN_DNS) names.push_back(detail::lower_ascii(asn1_text(name->d.dNSName)));
        }
        GENERAL_NAMES_free(general_names);
    }
    if (names.empty()) {
        X509_NAME* subject = X509_get_subject_name(cert);
        const int index = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
        if (index >= 0) {
            names.push_back(
                detail::lower_ascii(asn1_text(X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, index)))));
        }
    }
    return names;
}

int choose_certificate_by_sni(SSL* ssl, int*, void* arg) {
    const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    if (name) {
        SSL_CTX* chosen = static_cast<const TlsServerContext::Impl*>(arg)->ctx_for(name);
        if (chosen != SSL_get_SSL_CTX(ssl)) SSL_set_SSL_CTX(ssl, chosen);
    }
    return SSL_TLSEXT_ERR_OK;
}

TlsServerContext::Impl::Certificate load_certificate(const CertificateFiles& files) {
    TlsServerContext::Impl::Certificate certificate;
    certificate.ctx = new_ctx(TLS_server_method());
    SSL_CTX* ctx = certificate.ctx;
    auto fail = [ctx](const std::string& what) {
        const std::string reason = detail::take_openssl_error();
        SSL_CTX_free(ctx);
        throw std::runtime_error(what + ": " + reason);
    };
    if (SSL_CTX_use_certificate_chain_file(ctx, files.cert_path.c_str()) != 1) {
        fail("cannot load TLS certificate " + files.cert_path);
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, files.key_path.c_str(), SSL_FILETYPE_PEM) != 1) {
        fail("cannot load TLS key " + files.key_path);
    }
    if (SSL_CTX_check_private_key(ctx) != 1) {
        fail("TLS key " + files.key_path + " does not match certificate " + files.cert_path);
    }
    SSL_CTX_set_session_id_context(ctx, session_id_context, sizeof session_id_context - 1);
    share_ticket_key(ctx);
    certificate.names = dns_names(SSL_CTX_get0_certificate(ctx));
    return certificate;
}

}  // namespace

TlsServerContext::Impl::~Impl() {
    for (auto& certificate : certificates) SSL_CTX_free(certificate.ctx);
}

SSL_CTX* TlsServerContext::Impl::ctx_for(std::string_view server_name) const {
    for (const auto& certificate : certificates) {
        for (const auto& name : certificate.names) {
            if (detail::dns_name_matches(name, server_name)) return certificate.ctx;
        }
    }
    return default_ctx();
}

std::shared_ptr<TlsServerContext> TlsServerContext::create(const std::vector<CertificateFiles>& certificates) {
    if (certificates.empty()) throw std::runtime_error("no TLS certificate configured");
    auto impl = std::make_unique<Impl>();
    for (const auto& files : certificates) impl->certificates.push_back(load_certificate(files));
    SSL_CTX* first = impl->default_ctx();
    // The SSL_CTX_set_tlsext_servername_* macros hide C casts; call what they expand to.
    SSL_CTX_callback_ctrl(first, SSL_CTRL_SET_TLSEXT_SERVERNAME_CB,
                          reinterpret_cast<void (*)()>(choose_certificate_by_sni));
    SSL_CTX_ctrl(first, SSL_CTRL_SET_TLSEXT_SERVERNAME_ARG, 0, impl.get());
    return std::shared_ptr<TlsServerContext>(new TlsServerContext(std::move(impl)));
}

TlsServerContext::TlsServerContext(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
TlsServerContext::~TlsServerContext() = default;
TlsServerContext::Impl& TlsServerContext::impl() { return *impl_; }

TlsClientContext::Impl::~Impl() { SSL_CTX_free(ctx); }

std::shared_ptr<TlsClientContext> TlsClientContext::create(const std::string& ca_path) {
    auto impl = std::make_unique<Impl>();
    impl->ctx = new_ctx(TLS_client_method());
    SSL_CTX_set_verify(impl->ctx, SSL_VERIFY_PEER, nullptr);
    if (ca_path.empty()) {
        if (SSL_CTX_set_default_verify_paths(impl->ctx) != 1) {
            throw std::runtime_error("cannot load the system CA store: " + detail::take_openssl_error());
        }
    } else if (SSL_CTX_load_verify_file(impl->ctx, ca_path.c_str()) != 1) {
        throw std::runtime_error("cannot load TLS CA file " + ca_path + ": " + detail::take_openssl_error());
    }
    return std::shared_ptr<TlsClientContext>(new TlsClientContext(std::move(impl)));
}

TlsClientContext::TlsClientContext(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
TlsClientContext::~TlsClientContext() = default;
TlsClientContext::Impl& TlsClientContext::impl() { return *impl_; }

}  // namespace imapfront::net
