// Server: the listeners of one event loop and the sessions they accept.
// It owns every ClientSession and frees each one after it finishes.
#pragma once

#include "proxy/net/event_loop.h"
#include "proxy/net/tcp.h"
#include "proxy/session/client_session.h"
#include "proxy/session/session_host.h"
#include "proxy/session/snapshot.h"

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace imapfront::session {

class RejectedConnection;

class Server final : public SessionHost {
public:
    Server(net::EventLoop& loop, std::shared_ptr<const Snapshot> snapshot);
    ~Server() override;

    // Opens every listener of the snapshot. Throws std::runtime_error when one cannot bind.
    void start();
    // Stops accepting and closes every session with BYE; `done` runs once all are gone.
    void stop(std::function<void()> done);

    std::size_t session_count() const { return sessions_.size(); }

    net::EventLoop& loop() override { return loop_; }
    bool backend_up(const std::string& backend_name) const override;
    void session_finished(ClientSession& session) override;

private:
    void accept(const config::Listener& listener, std::unique_ptr<net::Stream> stream);
    void reject(std::unique_ptr<net::Stream> stream, std::string bye_line);
    void maybe_done();

    net::EventLoop& loop_;
    std::shared_ptr<const Snapshot> snapshot_;
    std::vector<std::unique_ptr<net::TcpListener>> listeners_;
    std::unordered_map<ClientSession*, std::unique_ptr<ClientSession>> sessions_;
    std::unordered_map<ClientSession*, std::string> session_ip_;
    std::map<std::string, std::size_t> connections_per_ip_;
    std::unordered_map<RejectedConnection*, std::unique_ptr<RejectedConnection>> rejected_;
    std::uint64_t next_session_id_ = 1;
    std::function<void()> on_stopped_;
    bool stopping_ = false;
};

}  // namespace imapfront::session
