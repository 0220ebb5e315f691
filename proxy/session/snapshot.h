// Snapshot: a config and the TLS contexts built from it. Sessions keep the
// snapshot they started with; a reload builds a new one beside it.
#pragma once

#include "config/config.h"
#include "proxy/net/tls_context.h"

#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace imapfront::session {

struct Snapshot {
    std::shared_ptr<const config::Config> config;
    std::shared_ptr<net::TlsServerContext> server_tls;                          // null when no certificates
    std::map<std::string, std::shared_ptr<net::TlsClientContext>> backend_tls;  // by backend name

    std::shared_ptr<net::TlsClientContext> tls_for(const config::Backend& backend) const;
};

// The snapshot new sessions get, shared by every loop: a reload swaps it
// from the control thread and the next accept on any loop sees the new one.
class CurrentSnapshot {
public:
    explicit CurrentSnapshot(std::shared_ptr<const Snapshot> snapshot) : snapshot_(std::move(snapshot)) {}
    std::shared_ptr<const Snapshot> get() const {
        const std::lock_guard lock(mutex_);
        return snapshot_;
    }
    void set(std::shared_ptr<const Snapshot> snapshot) {
        const std::lock_guard lock(mutex_);
        snapshot_ = std::move(snapshot);
    }

private:
    mutable std::mutex mutex_;
    std::shared_ptr<const Snapshot> snapshot_;
};

// Builds the TLS contexts of `config`. Throws std::runtime_error naming the
// file when a certificate, key or CA cannot be loaded.
std::shared_ptr<const Snapshot> make_snapshot(std::shared_ptr<const config::Config> config);

}  // namespace imapfront::session
