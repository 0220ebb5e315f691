#include "proxy/admin/admin_server.h"

#include "proxy/admin/metrics.h"
#include "proxy/net/event_loop.h"
#include "proxy/net/tcp.h"

namespace imapfront::admin {

// One client: reads the request head, answers once, closes. Released from a
// deferred call after on_closed, never inside a callback of its own stream.
class AdminServer::Connection final : public net::StreamHandler {
public:
    Connection(AdminServer& server, std::unique_ptr<net::Stream> stream)
        : server_(server),
          stream_(std::move(stream)),
          timeout_(server.loop_) {}

    void start() {
        stream_->set_handler(this);
        timeout_.start(server_.read_timeout_, [this] {
            HttpResponse response;
            response.status = 408;
            response.body = "request timeout\n";
            answer(response);
        });
    }

    void answer(const HttpResponse& response) {
        if (answered_) return;
        answered_ = true;
        timeout_.stop();
        stream_->write(serialize(response));
        stream_->close();
    }

    void on_data(std::string_view bytes) override {
        if (answered_) return;
        if (parser_.feed(bytes) == HttpRequestParser::Status::NeedMore) return;
        answer(route_admin_request(parser_, server_.routes_));
    }

    void on_closed(std::string_view) override {
        answered_ = true;
        timeout_.stop();
        server_.release(this);
    }

private:
    AdminServer& server_;
    std::unique_ptr<net::Stream> stream_;
    net::Timer timeout_;
    HttpRequestParser parser_;
    bool answered_ = false;
};

AdminServer::AdminServer(net::EventLoop& loop, const std::string& host, std::uint16_t port,
                         NotReadyReasonFn not_ready_reason, std::chrono::milliseconds read_timeout,
                         std::function<std::string()> metrics_text)
    : loop_(loop),
      routes_{std::move(not_ready_reason),
              metrics_text ? std::move(metrics_text) : [] { return Metrics::global().render_prometheus(); }},
      read_timeout_(read_timeout),
      listener_(std::make_unique<net::TcpListener>(
          loop, host, port, [this](std::unique_ptr<net::Stream> stream) { accept(std::move(stream)); })) {}

AdminServer::~AdminServer() {
    listener_.reset();
    connections_.clear();
}

std::uint16_t AdminServer::port() const { return listener_->port(); }

void AdminServer::accept(std::unique_ptr<net::Stream> stream) {
    auto& connection = connections_.emplace_back(std::make_unique<Connection>(*this, std::move(stream)));
    connection->start();
    if (connections_.size() > max_connections) {
        HttpResponse busy;
        busy.status = 503;
        busy.body = "too many admin connections\n";
        connection->answer(busy);
    }
}

void AdminServer::release(Connection* connection) {
    loop_.defer([this, connection, alive = std::weak_ptr<bool>(alive_)] {
        if (alive.expired()) return;
        connections_.remove_if([connection](const auto& owned) { return owned.get() == connection; });
    });
}

}  // namespace imapfront::admin
