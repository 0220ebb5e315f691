// The admin HTTP endpoint (`admin.address`): /healthz, /readyz, /metrics.
// A tiny HTTP/1.1 server on the control loop: GET only, one request per
// connection (`Connection: close`), the request head limited to 8 KiB and to
// `read_timeout` from accept, at most `max_connections` at a time.
//
// Ownership: the AdminServer owns its listener and connections. Destroying it
// closes them all; no callback (readiness included) runs afterwards.
#pragma once

#include "proxy/admin/admin_routes.h"

#include <chrono>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <string>

namespace imapfront::net {
class EventLoop;
class Stream;
class TcpListener;
}  // namespace imapfront::net

namespace imapfront::admin {

class AdminServer {
public:
    static constexpr std::chrono::milliseconds default_read_timeout{5000};
    static constexpr std::size_t max_connections = 64;

    // Listens at once; throws std::runtime_error naming the address when it
    // cannot bind. `not_ready_reason` is asked on every /readyz (on `loop`);
    // /metrics renders `metrics_text`, by default Metrics::global().
    AdminServer(net::EventLoop& loop, const std::string& host, std::uint16_t port, NotReadyReasonFn not_ready_reason,
                std::chrono::milliseconds read_timeout = default_read_timeout,
                std::function<std::string()> metrics_text = {});
    ~AdminServer();
    AdminServer(const AdminServer&) = delete;
    AdminServer& operator=(const AdminServer&) = delete;

    std::uint16_t port() const;  // the bound port (useful with port 0)
    std::size_t open_connections() const { return connections_.size(); }

private:
    class Connection;
    void accept(std::unique_ptr<net::Stream> stream);
    void release(Connection* connection);

    net::EventLoop& loop_;
    AdminRoutes routes_;
    std::chrono::milliseconds read_timeout_;
    std::list<std::unique_ptr<Connection>> connections_;
    std::unique_ptr<net::TcpListener> listener_;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  // deferred releases check it
};

}  // namespace imapfront::admin
