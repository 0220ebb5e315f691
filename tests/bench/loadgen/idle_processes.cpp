// idle --processes N. A process cannot hold more sessions than its
// descriptor limit allows, so N children each hold a contiguous share of the
// session numbers. Each child runs the one-process scenario with its stdout
// on a report pipe and its stdin on a release pipe: the parent sums the
// children's RESULT lines into one, prints READY once every child is ready,
// and when its own stdin closes (or --hold passes) closes the release pipes
// and reaps the children. Every wait has a deadline.
#include "event_loop.h"
#include "report.h"
#include "scenario_idle.h"

#include <poll.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace loadgen {

namespace {

// A child gives up its setup after 900 s (scenario_idle.cpp); the margin
// covers its start and its report.
constexpr auto kReportWait = std::chrono::seconds(960);
// Closing a few thousand connections takes well under a second.
constexpr auto kExitWait = std::chrono::seconds(60);

struct Child {
    pid_t pid = -1;
    int report_fd = -1;   // read end of the child's stdout
    int release_fd = -1;  // write end of the child's stdin: closing it ends the child's hold
    std::string unread;   // report bytes not yet split into lines
    std::string result;   // its RESULT line
    std::string failure;  // its FAILED line
    bool ready = false;
    bool ended = false;  // its stdout closed before READY
};

// Child `index`'s sessions: a contiguous range, the first children taking
// one more when the count does not divide evenly.
Options share_of(const Options& options, int index) {
    Options share = options;
    share.processes = 1;
    const int base = options.sessions / options.processes;
    const int extra = options.sessions % options.processes;
    share.sessions = base + (index < extra ? 1 : 0);
    share.first_session = options.first_session + index * base + std::min(index, extra);
    // The target sees about as many connects in flight as from one process.
    share.concurrency = std::max(1, (options.concurrency + options.processes - 1) / options.processes);
    // Only the parent ends a child's hold, after every child is ready.
    share.hold = options.hold + std::chrono::duration<double>(kReportWait).count();
    return share;
}

std::array<int, 2> make_pipe() {
    std::array<int, 2> ends{};
    if (pipe(ends.data()) != 0) {
        throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
    }
    return ends;
}

[[noreturn]] void run_child(const Options& share, pid_t parent, std::array<int, 2> report, std::array<int, 2> release,
                            const std::vector<Child>& siblings) {
    // A copy of a sibling's release pipe kept here would hold that sibling
    // past its release.
    for (const Child& sibling : siblings) {
        close(sibling.report_fd);
        close(sibling.release_fd);
    }
    // A parent killed by the runner's timeout takes its children along.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) {
        std::_Exit(1);
    }
    dup2(report[1], STDOUT_FILENO);
    dup2(release[0], STDIN_FILENO);
    for (int fd : {report[0], report[1], release[0], release[1]}) {
        close(fd);
    }
    int code = 1;
    try {
        code = hold_idle_sessions(share);
    } catch (const std::exception& error) {
        std::fprintf(stderr, "imapfront_loadgen: %s\n", error.what());
    }
    std::fflush(stdout);
    std::_Exit(code);
}

Child spawn_child(const Options& share, const std::vector<Child>& siblings) {
    const std::array<int, 2> report = make_pipe();
    const std::array<int, 2> release = make_pipe();
    // Output still buffered would be written again by the child.
    std::fflush(stdout);
    const pid_t parent = getpid();
    const pid_t pid = fork();
    if (pid < 0) {
        throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
    }
    if (pid == 0) {
        run_child(share, parent, report, release, siblings);
    }
    close(report[1]);
    close(release[0]);
    Child child;
    child.pid = pid;
    child.report_fd = report[0];
    child.release_fd = release[1];
    return child;
}

void take_line(Child& child, const std::string& line) {
    if (line.rfind("RESULT ", 0) == 0) {
        child.result = line;
    } else if (line.rfind("FAILED ", 0) == 0) {
        child.failure = line;
    } else if (line == "READY") {
        child.ready = true;
    }
}

void read_report(Child& child) {
    char buffer[512];
    const ssize_t got = read(child.report_fd, buffer, sizeof buffer);
    if (got < 0 && errno == EINTR) {
        return;
    }
    if (got <= 0) {
        child.ended = true;
        return;
    }
    child.unread.append(buffer, static_cast<std::size_t>(got));
    for (auto end = child.unread.find('\n'); end != std::string::npos; end = child.unread.find('\n')) {
        take_line(child, child.unread.substr(0, end));
        child.unread.erase(0, end + 1);
    }
}

bool settled(const Child& child) { return child.ready || child.ended; }

// Reads the children's reports until each is ready or gone, or the deadline passes.
void collect_reports(std::vector<Child>& children, Clock::time_point deadline) {
    while (Clock::now() < deadline && !std::all_of(children.begin(), children.end(), settled)) {
        std::vector<pollfd> watched;
        std::vector<Child*> owners;
        for (Child& child : children) {
            if (!settled(child)) {
                watched.push_back(pollfd{child.report_fd, POLLIN, 0});
                owners.push_back(&child);
            }
        }
        if (poll(watched.data(), watched.size(), 200) <= 0) {
            continue;
        }
        for (std::size_t i = 0; i < watched.size(); ++i) {
            if (watched[i].revents != 0) {
                read_report(*owners[i]);
            }
        }
    }
}

// The value of ` name=` in a RESULT line, or "" when absent.
std::string field(const std::string& line, const std::string& name) {
    const std::string key = " " + name + "=";
    const auto at = line.find(key);
    if (at == std::string::npos) {
        return "";
    }
    const auto start = at + key.size();
    return line.substr(start, line.find(' ', start) - start);
}

// The reason of a FAILED line: the text between `reason="` and the last quote.
std::string failure_reason(const std::string& line) {
    const std::string key = "reason=\"";
    const auto at = line.find(key);
    if (at == std::string::npos || line.back() != '"') {
        return line;
    }
    return line.substr(at + key.size(), line.size() - 1 - at - key.size());
}

double number_field(const std::string& line, const std::string& name) {
    return std::strtod(field(line, name).c_str(), nullptr);
}

// Prints one RESULT line for all children: counts summed, the setup time of
// the slowest. Returns false (after a FAILED line) when no session is idle.
bool print_summary(const Options& options, const std::vector<Child>& children) {
    int idling = 0;
    double seconds = 0.0;
    std::string last_error;
    for (const Child& child : children) {
        if (!child.ready) {
            last_error =
                child.failure.empty() ? "a load generator process did not report" : failure_reason(child.failure);
            continue;
        }
        idling += static_cast<int>(number_field(child.result, "idling"));
        seconds = std::max(seconds, number_field(child.result, "setup_seconds"));
        const std::string error = field(child.result, "last_error");
        if (!error.empty()) {
            last_error = error;
        }
    }
    if (idling == 0) {
        report_failure(options, "no process held a session: " + last_error);
        return false;
    }
    char fields[400];
    std::snprintf(fields, sizeof fields, "sessions=%d idling=%d errors=%d setup_seconds=%.2f processes=%d%s%s",
                  options.sessions, idling, options.sessions - idling, seconds, options.processes,
                  last_error.empty() ? "" : " last_error=", error_field(last_error).c_str());
    print_result(options, fields);
    return true;
}

// Ends every child: the ready ones when their release pipe closes, the ones
// still setting up by SIGTERM; any left after kExitWait by SIGKILL.
void release_children(std::vector<Child>& children) {
    for (Child& child : children) {
        close(child.release_fd);
        close(child.report_fd);
        if (!settled(child)) {
            kill(child.pid, SIGTERM);
        }
    }
    const auto deadline = Clock::now() + kExitWait;
    auto running = [&] {
        return std::any_of(children.begin(), children.end(), [](const Child& child) { return child.pid > 0; });
    };
    while (running() && Clock::now() < deadline) {
        for (Child& child : children) {
            if (child.pid > 0 && waitpid(child.pid, nullptr, WNOHANG) == child.pid) {
                child.pid = -1;
            }
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    for (Child& child : children) {
        if (child.pid > 0) {
            kill(child.pid, SIGKILL);
            waitpid(child.pid, nullptr, 0);
        }
    }
}

}  // namespace

int run_idle_processes(const Options& options) {
    std::vector<Child> children;
    for (int index = 0; index < options.processes; ++index) {
        children.push_back(spawn_child(share_of(options, index), children));
    }
    collect_reports(children, Clock::now() + kReportWait);
    const bool held = print_summary(options, children);
    if (held) {
        std::printf("READY\n");
        std::fflush(stdout);
        wait_for_stdin_close(options.hold);
    }
    release_children(children);
    return held ? 0 : 1;
}

}  // namespace loadgen
