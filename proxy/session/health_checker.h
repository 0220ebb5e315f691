// Active backend health checks on the control loop. Every backend of the
// config is probed: TCP connect, the TLS handshake for `tls: implicit`, then
// the IMAP greeting line must start with "* OK", all within the pool's
// `health.timeout`. Each outcome goes to HealthTable::report_check; state
// changes (from these checks or from passive failures reported by sessions)
// are logged as backend_down / backend_up and set the backend's `up` gauge.
//
// A backend in several pools is probed at the smallest interval (and with
// the smallest timeout) of them. The first check starts at once; the next
// one `interval` after the previous one finished.
//
// Ownership: the checker owns every timer, connect and stream it uses.
// Destroying it cancels them all; no callback runs afterwards.
#pragma once

#include "config/config.h"
#include "routing/health.h"

#include <map>
#include <memory>
#include <string>

namespace imapfront::net {
class EventLoop;
}

namespace imapfront::session {

class HealthChecker {
public:
    // Tracks `config` in `health` and starts probing.
    HealthChecker(net::EventLoop& loop, std::shared_ptr<routing::HealthTable> health,
                  const std::shared_ptr<const config::Config>& config);
    ~HealthChecker();
    HealthChecker(const HealthChecker&) = delete;
    HealthChecker& operator=(const HealthChecker&) = delete;

    // After a reload: tracks the new config in the health table, keeps the
    // probes of backends whose address, TLS and check settings did not
    // change, restarts changed ones, stops removed ones, starts new ones.
    void update(const std::shared_ptr<const config::Config>& config);

    std::size_t probe_count() const { return probes_.size(); }

private:
    class Probe;

    net::EventLoop& loop_;
    std::shared_ptr<routing::HealthTable> health_;
    std::map<std::string, std::unique_ptr<Probe>> probes_;  // by backend name
};

}  // namespace imapfront::session
