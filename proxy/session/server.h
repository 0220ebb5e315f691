// Server: the listeners of one event loop and the sessions they accept.
// It owns every ClientSession and frees each one after it finishes.
#pragma once

#include "proxy/net/event_loop.h"
#include "proxy/net/tcp.h"
#include "proxy/session/address_limits.h"
#include "proxy/session/client_session.h"
#include "proxy/session/session_host.h"
#include "proxy/session/snapshot.h"
#include "routing/health.h"

#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace imapfront::session {

class RejectedConnection;

class Server final : public SessionHost {
public:
    // `limits` is shared by the servers of every loop; session ids start at
    // `first_session_id` so they stay unique across loops.
    Server(net::EventLoop& loop, std::shared_ptr<CurrentSnapshot> snapshot,
           std::shared_ptr<routing::HealthTable> health, std::shared_ptr<AddressLimits> limits, admin::Metrics& metrics,
           std::uint64_t first_session_id = 1);
    ~Server() override;

    // Opens every listener of the snapshot. Throws std::runtime_error when one cannot bind.
    void start();
    // Stops accepting; every session says BYE at its next command boundary,
    // or at once after `timeout`. `done` runs when the last one is gone.
    void drain(std::chrono::milliseconds timeout, std::function<void()> done);

    net::EventLoop& loop() override { return loop_; }
    admin::Metrics& metrics() override { return metrics_; }
    bool backend_up(const std::string& backend_name) const override;
    void backend_failed(const std::string& backend_name) override;
    bool allow_login_attempt(const std::string& ip) override;
    void session_finished(ClientSession& session) override;

private:
    void accept(std::size_t listener_index, std::unique_ptr<net::Stream> stream);
    void reject(std::unique_ptr<net::Stream> stream, std::string bye_line);
    void maybe_done();
    void forget(ClientSession* session);

    net::EventLoop& loop_;
    admin::Metrics& metrics_;
    std::shared_ptr<CurrentSnapshot> current_;   // new sessions take it; open ones keep theirs
    std::shared_ptr<const Snapshot> listening_;  // the snapshot the listeners were opened from
    std::shared_ptr<routing::HealthTable> health_;
    std::vector<std::unique_ptr<net::TcpListener>> listeners_;
    std::unordered_map<ClientSession*, std::unique_ptr<ClientSession>> sessions_;
    struct Admitted {
        std::string ip;
        bool per_address = true;
    };
    std::shared_ptr<AddressLimits> limits_;
    std::unordered_map<ClientSession*, Admitted> admitted_;
    std::unordered_map<RejectedConnection*, std::unique_ptr<RejectedConnection>> rejected_;
    std::uint64_t next_session_id_;
    std::function<void()> on_drained_;
    net::Timer drain_timer_;
    bool draining_ = false;
};

}  // namespace imapfront::session
