#include "proxy/process/supervisor.h"

#include "config/config.h"
#include "proxy/admin/shared_metrics.h"
#include "proxy/net/child_process.h"
#include "proxy/net/event_loop.h"
#include "proxy/process/process_setup.h"
#include "proxy/process/service_notifier.h"
#include "proxy/process/worker_pool.h"
#include "proxy/session/config_reloader.h"
#include "proxy/session/log.h"
#include "proxy/session/snapshot.h"

#include <chrono>
#include <csignal>
#include <cstdio>
#include <exception>
#include <functional>
#include <memory>
#include <optional>

namespace imapfront::process {
namespace {

// Workers are killed this long after the drain timeout if still running.
constexpr std::chrono::seconds kill_margin{5};

// How often the supervisor looks whether every worker serves, until they do.
constexpr std::chrono::milliseconds ready_poll{50};

// Every worker binds its own listener socket on the same port; with port 0
// each would get a different one.
bool has_port_zero_listener(const config::Config& config) {
    for (const auto& listener : config.listeners) {
        if (listener.address.port == 0) return true;
    }
    return false;
}

}  // namespace

int run_supervisor(const std::string& config_path, unsigned threads, unsigned workers) {
    const auto loaded = load_startup_config(config_path);
    if (!loaded) return 1;
    const auto& config = loaded->config;
    if (has_port_zero_listener(*config)) {
        std::fprintf(stderr, "%s: --workers needs a fixed port for every listener (not 0)\n", config_path.c_str());
        return 1;
    }
    std::signal(SIGPIPE, SIG_IGN);

    int exit_code = 0;
    try {
        net::EventLoop control;
        auto shared = admin::SharedMetrics::create(workers);
        const admin::GlobalMetricsBinding binding(shared.supervisor());
        auto drain_timeout = config->limits.drain_timeout;
        bool stopping = false;

        WorkerPool pool(control, shared,
                        {net::executable_path(), "--config", config_path, "--threads", std::to_string(threads)},
                        workers, [&](bool failed) {
                            exit_code = failed ? 1 : 0;
                            control.stop();
                        });

        // The supervisor validates and counts reloads; the workers load the
        // same file when it tells them to.
        session::ConfigReloader reloader(control, config_path, loaded->text,
                                         [&](std::shared_ptr<const session::Snapshot> next) {
                                             drain_timeout = next->config->limits.drain_timeout;
                                             pool.signal_all(SIGHUP);
                                         });
        const auto notifier = ServiceNotifier::from_environment();
        control.on_signal(SIGHUP, [&] {
            notifier.reloading();
            reloader.reload("SIGHUP");
            notifier.ready();
        });

        const auto admin_server = open_admin_endpoint(
            control, *config,
            [&]() -> std::optional<std::string> {
                if (stopping) return "draining";
                if (!pool.all_serving()) return "workers starting";
                return std::nullopt;
            },
            [&shared] { return admin::render_prometheus(shared.all()); });

        const auto drain = [&] {
            if (stopping) return;
            stopping = true;
            notifier.stopping();
            session::log_event(session::LogLevel::Info, "draining", {});
            pool.stop(std::chrono::duration_cast<std::chrono::milliseconds>(drain_timeout) + kill_margin);
        };
        control.on_signal(SIGTERM, drain, net::EventLoop::KeepsRunning::Yes);
        control.on_signal(SIGINT, drain, net::EventLoop::KeepsRunning::Yes);

        // Ready for the service manager once every worker has its listeners open.
        net::Timer ready_check(control);
        std::function<void()> check_ready = [&] {
            if (stopping) return;
            if (pool.all_serving()) {
                notifier.ready();
                return;
            }
            ready_check.start(ready_poll, check_ready);
        };
        pool.start();
        ready_check.start(ready_poll, check_ready);
        session::log_event(session::LogLevel::Info, "started",
                           {{"config", config->source_path},
                            {"workers", std::to_string(workers)},
                            {"threads", std::to_string(threads)}});
        control.run();
    } catch (const std::exception& error) {
        session::log_event(session::LogLevel::Error, "fatal", {{"error", error.what()}});
        return 1;
    }
    session::log_event(session::LogLevel::Info, exit_code == 0 ? "stopped" : "failed", {});
    return exit_code;
}

}  // namespace imapfront::process
