#include "proxy/session/server.h"

#include "proxy/admin/metrics.h"
#include "proxy/net/proxy_protocol.h"
#include "proxy/session/log.h"

#include <utility>

namespace imapfront::session {

// A connection turned away at the greeting: it lives until its BYE is written.
class RejectedConnection final : public net::StreamHandler {
public:
    RejectedConnection(std::unique_ptr<net::Stream> stream, std::function<void(RejectedConnection*)> done)
        : stream_(std::move(stream)),
          done_(std::move(done)) {
        stream_->set_handler(this);
    }
    ~RejectedConnection() override { stream_->set_handler(nullptr); }
    void send(std::string bye_line) {
        stream_->write(std::move(bye_line));
        stream_->close();
    }

private:
    void on_data(std::string_view) override {}
    void on_closed(std::string_view) override { done_(this); }

    std::unique_ptr<net::Stream> stream_;
    std::function<void(RejectedConnection*)> done_;
};

Server::Server(net::EventLoop& loop, std::shared_ptr<CurrentSnapshot> snapshot,
               std::shared_ptr<routing::HealthTable> health, std::shared_ptr<AddressLimits> limits,
               admin::Metrics& metrics, std::uint64_t first_session_id)
    : loop_(loop),
      metrics_(metrics),
      current_(std::move(snapshot)),
      listening_(current_->get()),
      health_(std::move(health)),
      limits_(std::move(limits)),
      next_session_id_(first_session_id),
      drain_timer_(loop) {}

Server::~Server() = default;

void Server::start() {
    const auto& listeners = listening_->config->listeners;
    for (std::size_t index = 0; index < listeners.size(); ++index) {
        const auto& listener = listeners[index];
        listeners_.push_back(std::make_unique<net::TcpListener>(
            loop_, listener.address.host, listener.address.port,
            [this, index](std::unique_ptr<net::Stream> stream) { accept(index, std::move(stream)); }));
        log_event(LogLevel::Info, "listening",
                  {{"listener", listener.name},
                   {"address", listener.address.host + ":" + std::to_string(listeners_.back()->port())}});
    }
}

void Server::accept(std::size_t listener_index, std::unique_ptr<net::Stream> stream) {
    auto& metrics = metrics_;
    const std::shared_ptr<const Snapshot> snapshot = current_->get();
    const auto& config = *snapshot->config;
    const net::Endpoint peer = stream->peer();
    const std::string& ip = peer.ip;
    if (draining_) {
        reject(std::move(stream), "* BYE [UNAVAILABLE] Server shutting down\r\n");
        return;
    }
    // Listeners are bound once; a reloaded config that drops one leaves the
    // socket open until restart, and it serves with the listener as first loaded.
    const config::Listener* listener =
        listener_index < config.listeners.size() ? &config.listeners[listener_index] : nullptr;
    if (!listener) {
        reject(std::move(stream), "* BYE [UNAVAILABLE] Listener no longer configured\r\n");
        return;
    }
    if (listener->proxy_protocol && !net::address_in_networks(ip, listener->trusted_networks)) {
        log_event(LogLevel::Warn, "connection_refused", {{"client", ip}, {"reason", "untrusted PROXY source"}});
        metrics.connections_refused.add();
        reject(std::move(stream), "* BYE Connection refused\r\n");
        return;
    }
    const bool per_address = !listener->proxy_protocol;
    switch (limits_->admit(ip, config.limits.max_connections, config.limits.max_connections_per_ip, per_address)) {
    case AddressLimits::Admission::Ok: break;
    case AddressLimits::Admission::TooManyConnections:
        log_event(LogLevel::Warn, "connection_refused", {{"client", ip}, {"reason", "max_connections"}});
        metrics.connections_refused.add();
        reject(std::move(stream), "* BYE [UNAVAILABLE] Too many connections, try again later\r\n");
        return;
    case AddressLimits::Admission::TooManyFromAddress:
        log_event(LogLevel::Warn, "connection_refused", {{"client", ip}, {"reason", "max_connections_per_ip"}});
        metrics.connections_refused.add();
        reject(std::move(stream), "* BYE [UNAVAILABLE] Too many connections from your address\r\n");
        return;
    }
    metrics.connections.add();
    auto session =
        std::make_unique<ClientSession>(*this, snapshot, *listener, std::move(stream), peer, next_session_id_++);
    ClientSession* raw = session.get();
    sessions_.emplace(raw, std::move(session));
    admitted_.emplace(raw, Admitted{ip, per_address});
    raw->start();
}

void Server::reject(std::unique_ptr<net::Stream> stream, std::string bye_line) {
    auto rejected = std::make_unique<RejectedConnection>(
        std::move(stream), [this](RejectedConnection* done) { loop_.defer([this, done] { rejected_.erase(done); }); });
    RejectedConnection* raw = rejected.get();
    rejected_.emplace(raw, std::move(rejected));
    raw->send(std::move(bye_line));
}

bool Server::backend_up(const std::string& backend_name) const { return health_->is_up(backend_name); }

void Server::backend_failed(const std::string& backend_name) {
    if (health_->report_passive_failure(backend_name)) {
        log_event(LogLevel::Warn, "backend_down", {{"backend", backend_name}, {"reason", "failed session connects"}});
        metrics_.backend(backend_name).up.set(0);
    }
}

bool Server::allow_login_attempt(const std::string& ip) {
    return limits_->allow_login_attempt(ip, current_->get()->config->limits.login_attempts_per_ip);
}

void Server::forget(ClientSession* session) {
    const auto admitted = admitted_.find(session);
    if (admitted != admitted_.end()) {
        limits_->release(admitted->second.ip, admitted->second.per_address);
        admitted_.erase(admitted);
    }
    sessions_.erase(session);
}

void Server::session_finished(ClientSession& session) {
    ClientSession* raw = &session;
    loop_.defer([this, raw] {
        forget(raw);
        maybe_done();
    });
}

void Server::drain(std::chrono::milliseconds timeout, std::function<void()> done) {
    draining_ = true;
    on_drained_ = std::move(done);
    listeners_.clear();
    std::vector<ClientSession*> open;
    for (const auto& entry : sessions_) open.push_back(entry.first);
    for (ClientSession* session : open) session->drain();
    drain_timer_.start(timeout, [this] {
        std::vector<ClientSession*> left;
        for (const auto& entry : sessions_) left.push_back(entry.first);
        for (ClientSession* session : left) session->force_close();
        // A client that never reads would hold its BYE in the send queue forever.
        drain_timer_.start(std::chrono::seconds(2), [this] {
            std::vector<ClientSession*> stuck;
            for (const auto& entry : sessions_) stuck.push_back(entry.first);
            for (ClientSession* session : stuck) forget(session);
            maybe_done();
        });
    });
    maybe_done();
}

void Server::maybe_done() {
    if (!draining_ || !sessions_.empty() || !on_drained_) return;
    drain_timer_.stop();
    std::exchange(on_drained_, {})();
}

}  // namespace imapfront::session
