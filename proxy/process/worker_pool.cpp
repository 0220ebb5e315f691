#include "proxy/process/worker_pool.h"

#include "proxy/process/proxy_process.h"
#include "proxy/session/log.h"

#include <csignal>
#include <exception>
#include <utility>

namespace imapfront::process {
namespace {

// A worker that dies while serving comes back after this pause, so one that
// crashes at once does not spin the supervisor.
constexpr std::chrono::milliseconds restart_delay{1000};
// The others have no sessions yet when one worker fails to start.
constexpr std::chrono::milliseconds failed_start_grace{5000};

}  // namespace

WorkerPool::WorkerPool(net::EventLoop& loop, admin::SharedMetrics& shared, std::vector<std::string> worker_args,
                       unsigned workers, std::function<void(bool)> all_stopped)
    : loop_(loop),
      shared_(shared),
      worker_args_(std::move(worker_args)),
      workers_(workers),
      all_stopped_(std::move(all_stopped)),
      kill_timer_(loop) {
    for (auto& worker : workers_) worker.restart = std::make_unique<net::Timer>(loop_);
}

void WorkerPool::start() {
    for (std::size_t index = 0; index < workers_.size(); ++index) spawn(index);
}

void WorkerPool::spawn(std::size_t index) {
    auto args = worker_args_;
    args.push_back("--worker");
    args.push_back(std::to_string(index));
    workers_[index].process = std::make_unique<net::ChildProcess>(
        loop_, net::own_program, args, shared_.fd(),
        [this, index](std::int64_t status, int term_signal) { exited(index, status, term_signal); });
    session::log_event(session::LogLevel::Info, "worker_started",
                       {{"worker", std::to_string(index)}, {"pid", std::to_string(workers_[index].process->pid())}});
}

void WorkerPool::exited(std::size_t index, std::int64_t status, int term_signal) {
    const auto pid = std::to_string(workers_[index].process->pid());
    const bool clean = status == 0 && term_signal == 0;
    session::log_event(clean || stopping_ ? session::LogLevel::Info : session::LogLevel::Error, "worker_exited",
                       {{"worker", std::to_string(index)},
                        {"pid", pid},
                        {"status", std::to_string(status)},
                        {"signal", std::to_string(term_signal)}});
    // Its sessions and backend links went with it; its counters stay.
    shared_.worker(index).clear_gauges();
    shared_.set_serving(index, false);

    if (stopping_) {
        if (!any_running()) finish();
        return;
    }
    if (status == exit_startup_failed && term_signal == 0) {
        session::log_event(session::LogLevel::Error, "worker_failed_to_start", {{"worker", std::to_string(index)}});
        failed_ = true;
        stop(failed_start_grace);
        return;
    }
    restart_later(index);
}

void WorkerPool::restart_later(std::size_t index) {
    workers_[index].restart->start(restart_delay, [this, index] {
        if (stopping_) return;
        try {
            spawn(index);
        } catch (const std::exception& error) {
            // Out of processes or memory for now: the slot stays empty until a later try works.
            session::log_event(session::LogLevel::Error, "worker_start_failed",
                               {{"worker", std::to_string(index)}, {"error", error.what()}});
            restart_later(index);
        }
    });
}

void WorkerPool::signal_all(int signum) {
    for (auto& worker : workers_) {
        if (worker.process) worker.process->kill(signum);
    }
}

void WorkerPool::stop(std::chrono::milliseconds grace) {
    if (stopping_) return;
    stopping_ = true;
    for (auto& worker : workers_) worker.restart->stop();
    if (!any_running()) {
        finish();
        return;
    }
    signal_all(SIGTERM);
    kill_timer_.start(grace, [this] {
        session::log_event(session::LogLevel::Warn, "workers_killed", {{"reason", "drain timeout"}});
        signal_all(SIGKILL);
    });
}

void WorkerPool::finish() {
    kill_timer_.stop();
    loop_.defer([this] { all_stopped_(failed_); });
}

bool WorkerPool::any_running() const {
    for (const auto& worker : workers_) {
        if (worker.process && worker.process->running()) return true;
    }
    return false;
}

bool WorkerPool::all_serving() const {
    for (std::size_t index = 0; index < workers_.size(); ++index) {
        if (!shared_.serving(index)) return false;
    }
    return true;
}

}  // namespace imapfront::process
