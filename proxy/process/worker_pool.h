// WorkerPool: the supervisor's worker processes. Starts them as copies of
// this program (`--worker I`), hands each the shared metrics, restarts one
// that dies while serving, and stops them all on request.
#pragma once

#include "proxy/admin/shared_metrics.h"
#include "proxy/net/child_process.h"
#include "proxy/net/event_loop.h"

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace imapfront::process {

class WorkerPool {
public:
    // `all_stopped` runs once every worker has exited after stop(), or after
    // a worker could not start (`failed` true: the others are stopped first).
    WorkerPool(net::EventLoop& loop, admin::SharedMetrics& shared, std::vector<std::string> worker_args,
               unsigned workers, std::function<void(bool failed)> all_stopped);

    void start();
    // Sends every running worker `signum` (SIGHUP: reload).
    void signal_all(int signum);
    // Drains every worker (SIGTERM); kills those still running after `grace`.
    void stop(std::chrono::milliseconds grace);
    bool all_serving() const;

private:
    struct Worker {
        std::unique_ptr<net::ChildProcess> process;
        std::unique_ptr<net::Timer> restart;
    };

    void spawn(std::size_t index);
    void exited(std::size_t index, std::int64_t status, int term_signal);
    void restart_later(std::size_t index);
    bool any_running() const;
    void finish();

    net::EventLoop& loop_;
    admin::SharedMetrics& shared_;
    std::vector<std::string> worker_args_;
    std::vector<Worker> workers_;
    std::function<void(bool)> all_stopped_;
    net::Timer kill_timer_;
    bool stopping_ = false;
    bool failed_ = false;
};

}  // namespace imapfront::process
