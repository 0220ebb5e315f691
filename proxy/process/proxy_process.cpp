#include "proxy/process/proxy_process.h"

#include "proxy/admin/metrics.h"
#include "proxy/admin/shared_metrics.h"
#include "proxy/net/event_loop.h"
#include "proxy/process/process_setup.h"
#include "proxy/process/service_notifier.h"
#include "proxy/session/address_limits.h"
#include "proxy/session/config_reloader.h"
#include "proxy/session/health_checker.h"
#include "proxy/session/log.h"
#include "proxy/session/server.h"
#include "proxy/session/snapshot.h"
#include "routing/health.h"

#include <sys/prctl.h>
#include <unistd.h>

#include <csignal>
#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <stdexcept>
#include <thread>
#include <vector>

namespace imapfront::process {
namespace {

// One data-plane loop on its own thread: listeners (SO_REUSEPORT) and the
// sessions they accept. Everything in it runs on that thread; other threads
// reach it through EventLoop::post.
struct DataPlane {
    std::unique_ptr<net::EventLoop> loop = std::make_unique<net::EventLoop>();
    std::unique_ptr<session::Server> server;
    std::thread thread;
};

// Session ids carry the loop number in their top bits: unique across the
// loops of every process of one imapfront.
std::uint64_t first_session_id(const ProcessOptions& options, std::size_t plane) {
    const std::uint64_t worker = options.worker ? options.worker->index : 0;
    return ((worker * options.threads + plane) << 48) + 1;
}

// A worker counts into its part of the supervisor's metrics and says there
// whether it is serving; a process on its own has neither.
class WorkerSlot {
public:
    explicit WorkerSlot(const ProcessOptions& options) {
        if (!options.worker) return;
        shared_.emplace(admin::SharedMetrics::attach(worker_metrics_fd));
        // The death signal asked for at start only covers a supervisor that
        // dies after the request: one already gone has handed us to another parent.
        if (getppid() != shared_->creator_pid()) throw std::runtime_error("the supervisor is gone");
        index_ = options.worker->index;
        binding_.emplace(shared_->worker(index_));
    }
    void set_serving(bool serving) {
        if (shared_) shared_->set_serving(index_, serving);
    }

private:
    std::optional<admin::SharedMetrics> shared_;
    std::optional<admin::GlobalMetricsBinding> binding_;  // unbound before shared_ is unmapped
    std::size_t index_ = 0;
};

// The limit the sessions gauge is compared with; a supervisor's /metrics
// sums it over its workers, as each counts its sessions against its own.
void publish_limits(const config::Config& config) {
    admin::Metrics::global().max_connections.set(static_cast<std::int64_t>(config.limits.max_connections));
}

}  // namespace

int run_proxy(const ProcessOptions& options) {
    const int startup_failed = options.worker ? exit_startup_failed : 1;
    if (options.worker) {
        // A worker drains and exits when its supervisor goes away.
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        // A reload the supervisor asks for before the watcher below exists must
        // not end the process (SIGHUP's default); the file is read after this.
        std::signal(SIGHUP, SIG_IGN);
        session::set_log_worker(options.worker->index);
    }
    const auto loaded = load_startup_config(options.config_path);
    if (!loaded) return startup_failed;
    const auto& config = loaded->config;
    // A worker's supervisor speaks to the service manager for it.
    const auto notifier = options.worker ? ServiceNotifier() : ServiceNotifier::from_environment();

    std::signal(SIGPIPE, SIG_IGN);
    std::optional<WorkerSlot> slot;  // outlives the loops that count into it
    net::EventLoop control;
    std::vector<DataPlane> planes(options.threads);
    bool started = false;
    try {
        slot.emplace(options);
        auto health = std::make_shared<routing::HealthTable>();
        session::HealthChecker health_checker(control, health, config);
        auto snapshot = std::make_shared<session::CurrentSnapshot>(session::make_snapshot(config));
        publish_limits(*config);
        auto limits = std::make_shared<session::AddressLimits>();
        for (std::size_t index = 0; index < planes.size(); ++index) {
            planes[index].server =
                std::make_unique<session::Server>(*planes[index].loop, snapshot, health, limits,
                                                  admin::Metrics::global(), first_session_id(options, index));
            planes[index].server->start();
        }

        session::ConfigReloader reloader(
            control, options.config_path, loaded->text,
            [&](std::shared_ptr<const session::Snapshot> next) {
                health_checker.update(next->config);
                publish_limits(*next->config);
                snapshot->set(std::move(next));
            },
            options.worker ? session::ReloadRole::Follower : session::ReloadRole::Own);
        control.on_signal(SIGHUP, [&] {
            notifier.reloading();
            reloader.reload("SIGHUP");
            notifier.ready();
        });

        bool stopping = false;
        // A worker's supervisor serves the admin endpoint for every worker.
        const auto admin_server =
            options.worker ? nullptr : open_admin_endpoint(control, *config, [&]() -> std::optional<std::string> {
                if (stopping) return "draining";
                return std::nullopt;
            });

        std::size_t planes_running = planes.size();
        const auto drain = [&] {
            if (stopping) return;
            stopping = true;
            notifier.stopping();
            slot->set_serving(false);
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
        // The control loop lives until drain() stops it, whatever else it watches.
        control.on_signal(SIGTERM, drain, net::EventLoop::KeepsRunning::Yes);
        control.on_signal(SIGINT, drain, net::EventLoop::KeepsRunning::Yes);

        for (auto& plane : planes) {
            plane.thread = std::thread([&plane] {
                plane.loop->run();
                plane.server.reset();
                plane.loop.reset();
            });
        }
        started = true;
        slot->set_serving(true);
        session::log_event(session::LogLevel::Info, "started",
                           {{"config", config->source_path}, {"threads", std::to_string(options.threads)}});
        notifier.ready();
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
        return started ? 1 : startup_failed;
    }
    session::log_event(session::LogLevel::Info, "stopped", {});
    return 0;
}

}  // namespace imapfront::process
