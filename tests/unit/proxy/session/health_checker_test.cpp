// The active health checker against a fake backend on loopback whose
// behaviour each test switches: greet, stay silent, say BYE, hang up, or
// greet over implicit TLS. Intervals are tens of milliseconds and every loop
// run is bounded. Backend names are unique per test because the metrics
// registry is process-wide.
#include "proxy/session/health_checker.h"

#include "proxy/admin/metrics.h"
#include "proxy/net/event_loop.h"
#include "proxy/net/tcp.h"
#include "proxy/net/tls_context.h"

#include <catch2/catch.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

using namespace imapfront;
using namespace std::chrono_literals;

namespace {

std::string tls_file(const std::string& name) { return std::string(IMAPFRONT_TEST_DATA) + "/tls/" + name; }

class FakeBackend {
public:
    enum class Mode { Greet, Silent, Bye, HangUp };
    Mode mode = Mode::Greet;
    int accepted = 0;
    int logouts = 0;

    explicit FakeBackend(net::EventLoop& loop, std::shared_ptr<net::TlsServerContext> tls = nullptr)
        : tls_(std::move(tls)),
          listener_(loop, "127.0.0.1", 0, [this](std::unique_ptr<net::Stream> stream) { accept(std::move(stream)); }) {}

    std::uint16_t port() const { return listener_.port(); }

private:
    struct Connection : net::StreamHandler {
        FakeBackend& owner;
        Mode mode;
        std::unique_ptr<net::Stream> stream;

        Connection(FakeBackend& o, Mode m, std::unique_ptr<net::Stream> s) : owner(o), mode(m), stream(std::move(s)) {}

        void greet() {
            if (mode == Mode::Greet) stream->write("* OK [CAPABILITY IMAP4rev1] fake ready\r\n");
            if (mode == Mode::Bye) stream->write("* BYE not today\r\n");
        }
        void on_data(std::string_view bytes) override {
            if (bytes.find("LOGOUT") != std::string_view::npos) ++owner.logouts;
        }
        void on_closed(std::string_view) override {}
        void on_tls_ready() override { greet(); }
    };

    void accept(std::unique_ptr<net::Stream> stream) {
        ++accepted;
        auto& connection = connections_.emplace_back(std::make_unique<Connection>(*this, mode, std::move(stream)));
        if (mode == Mode::HangUp) {
            connection->stream->close();
            return;
        }
        if (tls_) connection->stream->start_tls_server(tls_);
        connection->stream->set_handler(connection.get());
        if (!tls_) connection->greet();
    }

    std::shared_ptr<net::TlsServerContext> tls_;
    std::vector<std::unique_ptr<Connection>> connections_;
    net::TcpListener listener_;
};

struct CheckTiming {
    std::chrono::milliseconds interval = 20ms;
    std::chrono::milliseconds timeout = 60ms;
    int fall = 2;
    int rise = 2;
};

void add_backend(config::Config& config, const std::string& name, std::uint16_t port, const std::string& pool_name,
                 const CheckTiming& timing = {}) {
    config::Backend& backend = config.backends[name];
    backend.name = name;
    backend.address = {"127.0.0.1", port};
    backend.server_name = "127.0.0.1";
    config::Pool& pool = config.pools[pool_name];
    pool.name = pool_name;
    pool.servers.push_back(name);
    pool.health = {timing.interval, timing.timeout, timing.fall, timing.rise};
}

std::shared_ptr<const config::Config> one_backend(const std::string& name, std::uint16_t port,
                                                  const CheckTiming& timing = {}) {
    auto config = std::make_shared<config::Config>();
    add_backend(*config, name, port, "p", timing);
    return config;
}

// Runs `loop` until `done` holds (polled every few ms); false after `limit`.
bool run_until(net::EventLoop& loop, const std::function<bool()>& done, std::chrono::milliseconds limit = 3s) {
    bool timed_out = false;
    net::Timer poll(loop);
    net::Timer guard(loop);
    std::function<void()> tick = [&] {
        if (done()) {
            loop.stop();
            return;
        }
        poll.start(5ms, tick);
    };
    poll.start(0ms, tick);
    guard.start(limit, [&] {
        timed_out = true;
        loop.stop();
    });
    loop.run();
    return !timed_out;
}

void run_for(net::EventLoop& loop, std::chrono::milliseconds duration) {
    net::Timer timer(loop);
    timer.start(duration, [&] { loop.stop(); });
    loop.run();
}

std::int64_t up_gauge(const std::string& backend) { return admin::Metrics::global().backend(backend).up.value(); }

}  // namespace

TEST_CASE("a greeting backend stays up and is checked every interval, politely", "[session][health_checker]") {
    net::EventLoop loop;
    FakeBackend backend(loop);
    auto health = std::make_shared<routing::HealthTable>();
    session::HealthChecker checker(loop, health, one_backend("hc-greet", backend.port()));
    CHECK(checker.probe_count() == 1);
    REQUIRE(run_until(loop, [&] { return backend.logouts >= 3; }));
    CHECK(backend.accepted >= 3);
    CHECK(health->is_up("hc-greet"));
    CHECK(up_gauge("hc-greet") == 1);
}

TEST_CASE("a silent backend times out and goes down after `fall` checks", "[session][health_checker]") {
    net::EventLoop loop;
    FakeBackend backend(loop);
    backend.mode = FakeBackend::Mode::Silent;
    auto health = std::make_shared<routing::HealthTable>();
    const CheckTiming timing{20ms, 40ms, 3, 2};
    session::HealthChecker checker(loop, health, one_backend("hc-silent", backend.port(), timing));

    const auto started = std::chrono::steady_clock::now();
    REQUIRE(run_until(loop, [&] { return !health->is_up("hc-silent"); }));
    const auto elapsed = std::chrono::steady_clock::now() - started;
    CHECK(backend.accepted == 3);
    CHECK(elapsed >= 3 * timing.timeout);
    CHECK(up_gauge("hc-silent") == 0);
}

TEST_CASE("a down backend comes back up after `rise` good checks", "[session][health_checker]") {
    net::EventLoop loop;
    FakeBackend backend(loop);
    backend.mode = FakeBackend::Mode::Silent;
    auto health = std::make_shared<routing::HealthTable>();
    session::HealthChecker checker(loop, health, one_backend("hc-recover", backend.port(), {20ms, 40ms, 2, 3}));
    REQUIRE(run_until(loop, [&] { return !health->is_up("hc-recover"); }));
    REQUIRE(up_gauge("hc-recover") == 0);

    backend.mode = FakeBackend::Mode::Greet;
    const int logouts_before = backend.logouts;
    REQUIRE(run_until(loop, [&] { return health->is_up("hc-recover"); }));
    // The third LOGOUT may still be on its way when the state flips.
    CHECK(backend.logouts - logouts_before >= 2);
    CHECK(up_gauge("hc-recover") == 1);
}

TEST_CASE("a BYE greeting, a hang-up and a refused connect all count as failures", "[session][health_checker]") {
    net::EventLoop loop;
    auto health = std::make_shared<routing::HealthTable>();
    std::uint16_t port = 0;
    std::string name;
    std::unique_ptr<FakeBackend> backend;
    SECTION("BYE") {
        name = "hc-bye";
        backend = std::make_unique<FakeBackend>(loop);
        backend->mode = FakeBackend::Mode::Bye;
        port = backend->port();
    }
    SECTION("hang-up") {
        name = "hc-hangup";
        backend = std::make_unique<FakeBackend>(loop);
        backend->mode = FakeBackend::Mode::HangUp;
        port = backend->port();
    }
    SECTION("refused") {
        name = "hc-refused";
        port = FakeBackend(loop).port();  // bound, then closed again: nobody listens there
        run_for(loop, 20ms);
    }
    session::HealthChecker checker(loop, health, one_backend(name, port, {20ms, 500ms, 2, 2}));
    REQUIRE(run_until(loop, [&] { return !health->is_up(name); }));
    CHECK(up_gauge(name) == 0);
}

TEST_CASE("implicit TLS backends are checked over a verified handshake", "[session][health_checker][tls]") {
    net::EventLoop loop;
    FakeBackend backend(loop, net::TlsServerContext::create({{tls_file("abcd.pem"), tls_file("abcd.key")}}));
    auto health = std::make_shared<routing::HealthTable>();
    auto config = std::make_shared<config::Config>();
    std::string name;
    SECTION("trusted CA: up") {
        name = "hc-tls-good";
        add_backend(*config, name, backend.port(), "p", {20ms, 500ms, 1, 1});
        config->backends[name].ca_path = tls_file("ca.pem");
        config->backends[name].tls = config::TlsMode::Implicit;
        session::HealthChecker checker(loop, health, config);
        REQUIRE(run_until(loop, [&] { return backend.logouts >= 2; }));
        CHECK(health->is_up(name));
    }
    SECTION("unrelated CA: down") {
        name = "hc-tls-bad";
        add_backend(*config, name, backend.port(), "p", {20ms, 500ms, 1, 1});
        config->backends[name].ca_path = tls_file("other-ca.pem");
        config->backends[name].tls = config::TlsMode::Implicit;
        session::HealthChecker checker(loop, health, config);
        REQUIRE(run_until(loop, [&] { return !health->is_up(name); }));
        CHECK(backend.logouts == 0);
    }
    SECTION("unreadable CA file: down") {
        name = "hc-tls-noca";
        add_backend(*config, name, backend.port(), "p", {20ms, 500ms, 1, 1});
        config->backends[name].ca_path = tls_file("no-such-ca.pem");
        config->backends[name].tls = config::TlsMode::Implicit;
        session::HealthChecker checker(loop, health, config);
        REQUIRE(run_until(loop, [&] { return !health->is_up(name); }));
        CHECK(backend.accepted == 0);
    }
}

TEST_CASE("a backend in several pools is checked at the smallest interval", "[session][health_checker]") {
    net::EventLoop loop;
    FakeBackend backend(loop);
    auto config = std::make_shared<config::Config>();
    add_backend(*config, "hc-shared", backend.port(), "slow", {10s, 1s, 2, 2});
    add_backend(*config, "hc-shared", backend.port(), "fast", {20ms, 1s, 2, 2});
    auto health = std::make_shared<routing::HealthTable>();
    session::HealthChecker checker(loop, health, config);
    CHECK(checker.probe_count() == 1);
    REQUIRE(run_until(
        loop, [&] { return backend.accepted >= 3; }, 2s));
}

TEST_CASE("a state change from passive failures is published by the next check", "[session][health_checker]") {
    net::EventLoop loop;
    FakeBackend backend(loop);
    auto health = std::make_shared<routing::HealthTable>();
    session::HealthChecker checker(loop, health, one_backend("hc-passive", backend.port(), {20ms, 500ms, 2, 100}));
    REQUIRE(run_until(loop, [&] { return backend.logouts >= 1; }));
    health->report_passive_failure("hc-passive");
    health->report_passive_failure("hc-passive");
    REQUIRE_FALSE(health->is_up("hc-passive"));
    REQUIRE(run_until(loop, [&] { return up_gauge("hc-passive") == 0; }));
}

TEST_CASE("update keeps, moves, adds and stops probes", "[session][health_checker]") {
    net::EventLoop loop;
    FakeBackend first(loop);
    FakeBackend second(loop);
    auto health = std::make_shared<routing::HealthTable>();
    session::HealthChecker checker(loop, health, one_backend("hc-moving", first.port()));
    REQUIRE(run_until(loop, [&] { return first.accepted >= 2; }));

    SECTION("a new address moves the checks there") {
        checker.update(one_backend("hc-moving", second.port()));
        const int first_before = first.accepted;
        REQUIRE(run_until(loop, [&] { return second.accepted >= 2; }));
        CHECK(first.accepted == first_before);
    }
    SECTION("a backend leaving the config is no longer checked, and its metrics say so") {
        auto config = one_backend("hc-other", second.port());
        checker.update(config);
        CHECK(checker.probe_count() == 1);
        CHECK(admin::Metrics::global().backend("hc-moving").retired.value() == 1);
        CHECK(admin::Metrics::global().backend("hc-other").retired.value() == 0);
        const int first_before = first.accepted;
        REQUIRE(run_until(loop, [&] { return second.accepted >= 2; }));
        CHECK(first.accepted == first_before);

        checker.update(one_backend("hc-moving", first.port()));
        CHECK(admin::Metrics::global().backend("hc-moving").retired.value() == 0);
        CHECK(admin::Metrics::global().backend("hc-other").retired.value() == 1);
    }
    SECTION("the state of a kept backend survives the reload") {
        first.mode = FakeBackend::Mode::Silent;
        REQUIRE(run_until(loop, [&] { return !health->is_up("hc-moving"); }));
        auto config = std::make_shared<config::Config>(*one_backend("hc-moving", first.port()));
        add_backend(*config, "hc-added", second.port(), "q");
        checker.update(config);
        CHECK(checker.probe_count() == 2);
        CHECK_FALSE(health->is_up("hc-moving"));
        REQUIRE(run_until(loop, [&] { return second.logouts >= 1; }));
        CHECK_FALSE(health->is_up("hc-moving"));
    }
}

TEST_CASE("destroying the checker mid-check cancels it: no report afterwards", "[session][health_checker]") {
    net::EventLoop loop;
    FakeBackend backend(loop);
    backend.mode = FakeBackend::Mode::Silent;
    auto health = std::make_shared<routing::HealthTable>();
    auto checker = std::make_unique<session::HealthChecker>(
        loop, health, one_backend("hc-destroyed", backend.port(), {20ms, 100ms, 1, 1}));
    REQUIRE(run_until(loop, [&] { return backend.accepted == 1; }));
    checker.reset();
    run_for(loop, 250ms);
    CHECK(health->is_up("hc-destroyed"));
    CHECK(backend.accepted == 1);
}
