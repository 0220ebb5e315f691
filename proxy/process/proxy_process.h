// One imapfront process that serves clients: data-plane threads with their
// listeners, backend health checks and config reloads on a control loop.
// Alone it is the whole proxy and serves the admin endpoint too; as one of a
// supervisor's workers it counts into its slot of the shared metrics and
// reloads when the supervisor tells it to.
#pragma once

#include <optional>
#include <string>

namespace imapfront::process {

// A worker exits with this code when it could not start serving (a listener
// that does not bind, a config that does not load): starting it again would
// fail the same way, so the supervisor gives up instead.
inline constexpr int exit_startup_failed = 3;

// The descriptor a worker gets its shared metrics on.
inline constexpr int worker_metrics_fd = 3;

struct WorkerRole {
    unsigned index = 0;  // 0-based; its metrics slot is index + 1 (slot 0 is the supervisor's)
};

struct ProcessOptions {
    std::string config_path;
    unsigned threads = 1;
    std::optional<WorkerRole> worker;
};

int run_proxy(const ProcessOptions& options);

}  // namespace imapfront::process
