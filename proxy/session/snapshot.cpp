#include "proxy/session/snapshot.h"

#include <utility>
#include <vector>

namespace imapfront::session {

std::shared_ptr<net::TlsClientContext> Snapshot::tls_for(const config::Backend& backend) const {
    const auto it = backend_tls.find(backend.name);
    return it == backend_tls.end() ? nullptr : it->second;
}

std::shared_ptr<const Snapshot> make_snapshot(std::shared_ptr<const config::Config> config) {
    auto snapshot = std::make_shared<Snapshot>();
    if (!config->certificates.empty()) {
        std::vector<net::CertificateFiles> files;
        for (const auto& certificate : config->certificates) {
            files.push_back({certificate.cert_path, certificate.key_path});
        }
        snapshot->server_tls = net::TlsServerContext::create(files);
    }
    for (const auto& [name, backend] : config->backends) {
        if (backend.tls != config::TlsMode::None) {
            snapshot->backend_tls[name] = net::TlsClientContext::create(backend.ca_path);
        }
    }
    snapshot->config = std::move(config);
    return snapshot;
}

}  // namespace imapfront::session
