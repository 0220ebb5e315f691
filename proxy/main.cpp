// imapfront command line: `imapfront --config FILE` runs the proxy,
// `imapfront check FILE` validates a routing YAML file.
#include "config/config.h"
#include "proxy/admin/admin_server.h"
#include "proxy/net/event_loop.h"
#include "proxy/session/address_limits.h"
#include "proxy/session/config_reloader.h"
#include "proxy/session/health_checker.h"
#include "proxy/session/log.h"
#include "proxy/session/server.h"
#include "proxy/session/snapshot.h"
#include "routing/health.h"

#include <chrono>
#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <thread>
#include <vector>
#include <memory>
#include <optional>
#include <cstdio>
#include <exception>
#include <string>
#include <string_view>

namespace {

using namespace imapfront;

constexpr std::string_view usage =
    "usage: imapfront --config FILE [--threads N]   run the proxy (N data-plane threads, default one per core)\n"
    "       imapfront check FILE        validate a routing YAML file and exit\n";

int print_errors(const config::LoadResult& result) {
    for (const auto& error : result.errors) std::fprintf(stderr, "%s\n", error.to_string().c_str());
    return 1;
}

int check(const std::string& path) {
    const config::LoadResult result = config::load_file(path);
    if (!result.errors.empty()) return print_errors(result);
    try {
        session::make_snapshot(result.config);
    } catch (const std::exception& error) {
        std::fprintf(stderr, "%s: %s\n", path.c_str(), error.what());
        return 1;
    }
    std::printf("%s: OK\n", path.c_str());
    return 0;
}

session::LogFormat log_format(config::LogFormat format) {
    return format == config::LogFormat::Text ? session::LogFormat::Text : session::LogFormat::Json;
}

session::LogLevel log_level(config::LogLevel level) {
    switch (level) {
    case config::LogLevel::Debug: return session::LogLevel::Debug;
    case config::LogLevel::Info: return session::LogLevel::Info;
    case config::LogLevel::Warn: return session::LogLevel::Warn;
    case config::LogLevel::Error: return session::LogLevel::Error;
    }
    return session::LogLevel::Info;
}

// One data-plane loop on its own thread: listeners (SO_REUSEPORT) and the
// sessions they accept. Everything in it runs on that thread; other threads
// reach it through EventLoop::post.
struct DataPlane {
    std::unique_ptr<net::EventLoop> loop = std::make_unique<net::EventLoop>();
    std::unique_ptr<session::Server> server;
    std::thread thread;
};

unsigned default_threads() { return std::max(1u, std::thread::hardware_concurrency()); }

int run(const std::string& path, unsigned threads) {
    const auto text = session::read_file(path);
    const config::LoadResult result = config::load_file(path);
    if (!result.errors.empty()) return print_errors(result);
    session::configure_log(log_format(result.config->log.format), log_level(result.config->log.level));

    std::signal(SIGPIPE, SIG_IGN);
    net::EventLoop control;
    std::vector<DataPlane> planes(threads);
    try {
        auto health = std::make_shared<routing::HealthTable>();
        session::HealthChecker health_checker(control, health, result.config);
        auto snapshot = std::make_shared<session::CurrentSnapshot>(session::make_snapshot(result.config));
        auto limits = std::make_shared<session::AddressLimits>();
        for (std::size_t index = 0; index < planes.size(); ++index) {
            // Session ids carry the loop number in their top bits: unique across loops.
            const std::uint64_t first_id = (static_cast<std::uint64_t>(index) << 48) + 1;
            planes[index].server =
                std::make_unique<session::Server>(*planes[index].loop, snapshot, health, limits, first_id);
            planes[index].server->start();
        }

        session::ConfigReloader reloader(control, path, text.value_or(""),
                                         [&](std::shared_ptr<const session::Snapshot> next) {
                                             health_checker.update(next->config);
                                             snapshot->set(std::move(next));
                                         });
        control.on_signal(SIGHUP, [&] { reloader.reload("SIGHUP"); });

        bool stopping = false;
        std::unique_ptr<admin::AdminServer> admin_server;
        if (const auto& address = result.config->admin.address) {
            admin_server = std::make_unique<admin::AdminServer>(
                control, address->host, address->port, [&]() -> std::optional<std::string> {
                    if (stopping) return "draining";
                    return std::nullopt;
                });
            session::log_event(session::LogLevel::Info, "admin_listening",
                               {{"address", address->host + ":" + std::to_string(admin_server->port())}});
        }

        std::size_t planes_running = planes.size();
        const auto drain = [&] {
            if (stopping) return;
            stopping = true;
            session::log_event(session::LogLevel::Info, "draining", {});
            const auto timeout = snapshot->get()->config->limits.drain_timeout;
            for (auto& plane : planes) {
                plane.loop->post([&control, &planes_running, &plane, timeout] {
                    plane.server->drain(timeout, [&control, &planes_running, &plane] {
                        plane.loop->stop();
                        control.post([&control, &planes_running] {
                            if (--planes_running == 0) control.stop();
                        });
                    });
                });
            }
        };
        control.on_signal(SIGTERM, drain);
        control.on_signal(SIGINT, drain);

        for (auto& plane : planes) {
            plane.thread = std::thread([&plane] {
                plane.loop->run();
                plane.server.reset();
                plane.loop.reset();
            });
        }
        session::log_event(session::LogLevel::Info, "started",
                           {{"config", result.config->source_path}, {"threads", std::to_string(threads)}});
        // The control loop lives as long as the process: the admin endpoint and
        // health checks keep it running until drain() stops it.
        control.run();
        for (auto& plane : planes) plane.thread.join();
    } catch (const std::exception& error) {
        session::log_event(session::LogLevel::Error, "fatal", {{"error", error.what()}});
        for (auto& plane : planes) {
            if (plane.thread.joinable()) {
                plane.loop->post([loop = plane.loop.get()] { loop->stop(); });
                plane.thread.join();
            }
        }
        return 1;
    }
    session::log_event(session::LogLevel::Info, "stopped", {});
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    const std::vector<std::string> args(argv + 1, argv + argc);
    if (args.size() == 2 && args[0] == "check") return check(args[1]);
    if (args.size() == 2 && args[0] == "--config") return run(args[1], default_threads());
    if (args.size() == 4 && args[0] == "--config" && args[2] == "--threads") {
        const int threads = std::atoi(args[3].c_str());
        if (threads >= 1 && threads <= 256) return run(args[1], static_cast<unsigned>(threads));
    }
    if (args.size() == 1 && (args[0] == "--help" || args[0] == "-h")) {
        std::fputs(usage.data(), stdout);
        return 0;
    }
    std::fputs(usage.data(), stderr);
    return 2;
}
