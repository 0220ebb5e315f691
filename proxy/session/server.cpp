#include "proxy/session/server.h"

#include "proxy/session/log.h"

#include <utility>

namespace imapfront::session {

// A connection turned away at the greeting: it lives until its BYE is written.
class RejectedConnection final : public net::StreamHandler {
public:
    RejectedConnection(std::unique_ptr<net::Stream> stream, std::function<void(RejectedConnection*)> done)
        : stream_(std::move(stream)), done_(std::move(done)) {
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

Server::Server(net::EventLoop& loop, std::shared_ptr<const Snapshot> snapshot)
    : loop_(loop), snapshot_(std::move(snapshot)) {}

Server::~Server() = default;

void Server::start() {
    for (const auto& listener : snapshot_->config->listeners) {
        listeners_.push_back(std::make_unique<net::TcpListener>(
            loop_, listener.address.host, listener.address.port,
            [this, &listener](std::unique_ptr<net::Stream> stream) { accept(listener, std::move(stream)); }));
        log_event(LogLevel::Info, "listening",
                  {{"listener", listener.name},
                   {"address", listener.address.host + ":" + std::to_string(listeners_.back()->port())}});
    }
}

void Server::accept(const config::Listener& listener, std::unique_ptr<net::Stream> stream) {
    const auto& limits = snapshot_->config->limits;
    const std::string ip = stream->peer().ip;
    if (stopping_) {
        reject(std::move(stream), "* BYE [UNAVAILABLE] Server shutting down\r\n");
        return;
    }
    if (sessions_.size() >= limits.max_connections) {
        log_event(LogLevel::Warn, "connection_refused", {{"client", ip}, {"reason", "max_connections"}});
        reject(std::move(stream), "* BYE [UNAVAILABLE] Too many connections, try again later\r\n");
        return;
    }
    if (connections_per_ip_[ip] >= limits.max_connections_per_ip) {
        log_event(LogLevel::Warn, "connection_refused", {{"client", ip}, {"reason", "max_connections_per_ip"}});
        reject(std::move(stream), "* BYE [UNAVAILABLE] Too many connections from your address\r\n");
        return;
    }
    auto session = std::make_unique<ClientSession>(*this, snapshot_, listener, std::move(stream), next_session_id_++);
    ClientSession* raw = session.get();
    sessions_.emplace(raw, std::move(session));
    session_ip_.emplace(raw, ip);
    ++connections_per_ip_[ip];
    raw->start();
}

void Server::reject(std::unique_ptr<net::Stream> stream, std::string bye_line) {
    auto rejected = std::make_unique<RejectedConnection>(std::move(stream), [this](RejectedConnection* done) {
        loop_.defer([this, done] { rejected_.erase(done); });
    });
    RejectedConnection* raw = rejected.get();
    rejected_.emplace(raw, std::move(rejected));
    raw->send(std::move(bye_line));
}

bool Server::backend_up(const std::string&) const { return true; }

void Server::session_finished(ClientSession& session) {
    ClientSession* raw = &session;
    loop_.defer([this, raw] {
        const auto ip = session_ip_.find(raw);
        if (ip != session_ip_.end()) {
            if (--connections_per_ip_[ip->second] == 0) connections_per_ip_.erase(ip->second);
            session_ip_.erase(ip);
        }
        sessions_.erase(raw);
        maybe_done();
    });
}

void Server::stop(std::function<void()> done) {
    stopping_ = true;
    on_stopped_ = std::move(done);
    listeners_.clear();
    std::vector<ClientSession*> open;
    for (const auto& entry : sessions_) open.push_back(entry.first);
    for (ClientSession* session : open) session->shut_down("Server shutting down");
    maybe_done();
}

void Server::maybe_done() {
    if (stopping_ && sessions_.empty() && on_stopped_) std::exchange(on_stopped_, {})();
}

}  // namespace imapfront::session
