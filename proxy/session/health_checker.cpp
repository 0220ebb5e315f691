#include "proxy/session/health_checker.h"

#include "proxy/admin/metrics.h"
#include "proxy/net/event_loop.h"
#include "proxy/net/proxy_protocol.h"
#include "proxy/net/tcp.h"
#include "proxy/net/tls_context.h"
#include "proxy/session/log.h"

#include <algorithm>
#include <cctype>
#include <exception>
#include <optional>
#include <utility>

namespace imapfront::session {
namespace {

// A greeting longer than this is not an IMAP server talking.
constexpr std::size_t max_greeting_bytes = 8 * 1024;

struct CheckSettings {
    std::chrono::milliseconds interval;
    std::chrono::milliseconds timeout;
    bool proxy_header = false;  // a proxy-v2 pool: the backend expects a PROXY header first

    bool operator==(const CheckSettings&) const = default;
};

// The most reactive settings of every pool that holds `backend`; the
// defaults for a backend in no pool.
CheckSettings settings_for(const config::Config& config, const std::string& backend) {
    std::optional<CheckSettings> settings;
    for (const auto& [pool_name, pool] : config.pools) {
        if (std::find(pool.servers.begin(), pool.servers.end(), backend) == pool.servers.end()) continue;
        if (!settings) {
            settings = CheckSettings{pool.health.interval, pool.health.timeout};
        } else {
            settings->interval = std::min(settings->interval, pool.health.interval);
            settings->timeout = std::min(settings->timeout, pool.health.timeout);
        }
        if (pool.forward_client_ip == config::ForwardClientIp::ProxyV2) settings->proxy_header = true;
    }
    const config::Health defaults;
    return settings.value_or(CheckSettings{defaults.interval, defaults.timeout});
}

bool same_target(const config::Backend& a, const config::Backend& b) {
    return a.address.host == b.address.host && a.address.port == b.address.port && a.tls == b.tls &&
           a.ca_path == b.ca_path && a.server_name == b.server_name;
}

// "* OK" then a space or the end of the line; IMAP keywords are case-insensitive.
bool is_ok_greeting(std::string_view line) {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.size() < 4 || line.substr(0, 2) != "* ") return false;
    if (std::toupper(static_cast<unsigned char>(line[2])) != 'O' ||
        std::toupper(static_cast<unsigned char>(line[3])) != 'K') {
        return false;
    }
    return line.size() == 4 || line[4] == ' ';
}

std::string address_text(const config::Address& address) {
    const bool ipv6 = address.host.find(':') != std::string::npos;
    return (ipv6 ? "[" + address.host + "]" : address.host) + ":" + std::to_string(address.port);
}

}  // namespace

// Probes one backend, one check at a time. The stream of a finished check
// is kept (closing) until the next check starts or the probe dies, so it is
// never freed inside one of its own callbacks. (TcpConnect allows being
// destroyed from its callback.)
class HealthChecker::Probe final : public net::StreamHandler {
public:
    Probe(net::EventLoop& loop, std::shared_ptr<routing::HealthTable> health, config::Backend backend,
          CheckSettings settings)
        : loop_(loop),
          health_(std::move(health)),
          backend_(std::move(backend)),
          settings_(settings),
          next_check_(loop),
          deadline_(loop),
          published_up_(health_->is_up(backend_.name)) {
        admin::Metrics::global().backend(backend_.name).up.set(published_up_ ? 1 : 0);
        if (backend_.tls == config::TlsMode::Implicit) {
            try {
                tls_ = net::TlsClientContext::create(backend_.ca_path);
            } catch (const std::exception& error) {
                tls_error_ = error.what();
            }
        }
        next_check_.start(std::chrono::milliseconds(0), [this] { start_check(); });
    }

    const config::Backend& backend() const { return backend_; }
    const CheckSettings& settings() const { return settings_; }

    void on_data(std::string_view bytes) override {
        if (!checking_) return;
        const std::size_t newline = bytes.find('\n');
        greeting_.append(bytes.substr(0, newline == std::string_view::npos ? bytes.size() : newline));
        if (newline == std::string_view::npos) {
            if (greeting_.size() > max_greeting_bytes) finish(false, "greeting too long");
            return;
        }
        if (is_ok_greeting(greeting_)) {
            stream_->write("hc LOGOUT\r\n");
            finish(true, {});
        } else {
            finish(false, "unexpected greeting");
        }
    }

    void on_closed(std::string_view reason) override {
        if (checking_) finish(false, "closed before the greeting: " + std::string(reason));
    }

private:
    void start_check() {
        retired_stream_.reset();
        greeting_.clear();
        checking_ = true;
        if (!tls_error_.empty()) {
            finish(false, tls_error_);
            return;
        }
        deadline_.start(settings_.timeout, [this] {
            finish(false, "no greeting within " + std::to_string(settings_.timeout.count()) + "ms");
        });
        connect_ = std::make_unique<net::TcpConnect>(loop_, backend_.address.host, backend_.address.port,
                                                     [this](std::unique_ptr<net::Stream> stream, std::string error) {
                                                         if (!stream) {
                                                             finish(false, "connect: " + error);
                                                             return;
                                                         }
                                                         stream_ = std::move(stream);
                                                         stream_->set_handler(this);
                                                         if (settings_.proxy_header)
                                                             stream_->write(net::build_proxy_v2_local());
                                                         if (tls_)
                                                             stream_->start_tls_client(tls_, backend_.server_name);
                                                     });
    }

    // Ends the running check: reports it, closes the connection (after the
    // LOGOUT, if one was written) and schedules the next check.
    void finish(bool ok, std::string reason) {
        if (!checking_) return;
        checking_ = false;
        deadline_.stop();
        connect_.reset();  // a connect still running must not deliver a stream later
        if (stream_) {
            stream_->close();
            retired_stream_ = std::move(stream_);
        }
        down_reason_ = ok ? "failed sessions (passive)" : std::move(reason);
        health_->report_check(backend_.name, ok);
        publish_state();
        next_check_.start(settings_.interval, [this] { start_check(); });
    }

    // Compares with the table rather than using report_check's answer, so a
    // state change caused by passive failures is published too.
    void publish_state() {
        const bool up = health_->is_up(backend_.name);
        if (up == published_up_) return;
        published_up_ = up;
        admin::Metrics::global().backend(backend_.name).up.set(up ? 1 : 0);
        const std::string address = address_text(backend_.address);
        if (up) {
            log_event(LogLevel::Warn, "backend_up", {{"backend", backend_.name}, {"address", address}});
        } else {
            log_event(LogLevel::Warn, "backend_down",
                      {{"backend", backend_.name}, {"address", address}, {"reason", down_reason_}});
        }
    }

    net::EventLoop& loop_;
    std::shared_ptr<routing::HealthTable> health_;
    config::Backend backend_;
    CheckSettings settings_;
    std::shared_ptr<net::TlsClientContext> tls_;
    std::string tls_error_;
    net::Timer next_check_;
    net::Timer deadline_;
    std::unique_ptr<net::TcpConnect> connect_;
    std::unique_ptr<net::Stream> stream_;
    std::unique_ptr<net::Stream> retired_stream_;
    std::string greeting_;
    std::string down_reason_;  // what to log if the table says down after this check
    bool checking_ = false;
    bool published_up_;
};

HealthChecker::HealthChecker(net::EventLoop& loop, std::shared_ptr<routing::HealthTable> health,
                             const std::shared_ptr<const config::Config>& config)
    : loop_(loop),
      health_(std::move(health)) {
    update(config);
}

HealthChecker::~HealthChecker() = default;

void HealthChecker::update(const std::shared_ptr<const config::Config>& config) {
    health_->track(*config);
    std::map<std::string, std::unique_ptr<Probe>> next;
    for (const auto& [name, backend] : config->backends) {
        const CheckSettings settings = settings_for(*config, name);
        auto old = probes_.find(name);
        if (old != probes_.end() && same_target(old->second->backend(), backend) &&
            old->second->settings() == settings) {
            next.emplace(name, std::move(old->second));
        } else {
            next.emplace(name, std::make_unique<Probe>(loop_, health_, backend, settings));
        }
        admin::Metrics::global().backend(name).retired.set(0);
    }
    for (const auto& [name, probe] : probes_) {
        if (!next.contains(name)) admin::Metrics::global().backend(name).retired.set(1);
    }
    probes_ = std::move(next);
}

}  // namespace imapfront::session
