// OpenSSL contexts: one per listener (certificates chosen by SNI) and one per
// backend (verification against the configured CA). Owned by whoever owns
// the config snapshot they were built from; streams hold shared_ptrs.
#pragma once

#include <memory>
#include <string>
#include <vector>

namespace imapfront::net {

struct CertificateFiles {
    std::string cert_path;  // PEM chain
    std::string key_path;
};

class TlsServerContext {
public:
    // The first certificate is the default; others are picked when the SNI
    // name matches one of their DNS names (subjectAltName, else CN; "*.x"
    // wildcards match one label). Throws std::runtime_error with a clear
    // message naming the file when a certificate or key cannot be loaded.
    static std::shared_ptr<TlsServerContext> create(const std::vector<CertificateFiles>& certificates);
    ~TlsServerContext();

    struct Impl;
    Impl& impl();

private:
    explicit TlsServerContext(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

class TlsClientContext {
public:
    // Verifies the peer against `ca_path` (PEM), or the system default paths
    // when empty. Throws std::runtime_error on an unreadable CA file.
    static std::shared_ptr<TlsClientContext> create(const std::string& ca_path);
    ~TlsClientContext();

    struct Impl;
    Impl& impl();

private:
    explicit TlsClientContext(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace imapfront::net
