// ChildProcess: a process started from this one and watched on an event loop
// (uv_spawn). The owner learns how it ended and can signal it; destroying the
// ChildProcess stops watching but leaves the process running.
#pragma once

#include "proxy/net/event_loop.h"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace imapfront::net {

namespace detail {
struct ProcessBox;
}

class ChildProcess {
public:
    // `exit_status` is the exit code, `term_signal` the signal that ended it (0 if none).
    using OnExit = std::function<void(std::int64_t exit_status, int term_signal)>;

    // Runs `program` with `args` (`args[0]` is the name the child sees). The
    // child shares stdin, stdout and stderr and gets `handed_fd` as its
    // descriptor 3. Throws std::runtime_error when it cannot be started.
    ChildProcess(EventLoop& loop, const std::string& program, const std::vector<std::string>& args, int handed_fd,
                 OnExit on_exit);
    ~ChildProcess();
    ChildProcess(const ChildProcess&) = delete;
    ChildProcess& operator=(const ChildProcess&) = delete;

    int pid() const { return pid_; }
    bool running() const;
    void kill(int signum);  // nothing once it has exited

private:
    detail::ProcessBox* handle_ = nullptr;
    int pid_ = 0;
};

// The path of this program's executable: the name a copy of it is shown by.
std::string executable_path();

// The program to start copies of this one from: it names this process's own
// code even after its file was replaced or removed (a package upgrade), so a
// copy started later runs the same code as its parent.
inline constexpr const char* own_program = "/proc/self/exe";

}  // namespace imapfront::net
