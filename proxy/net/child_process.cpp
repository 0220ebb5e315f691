#include "proxy/net/child_process.h"

#include "proxy/net/loop_internal.h"

#include <array>
#include <climits>
#include <stdexcept>

namespace imapfront::net {

namespace detail {

struct ProcessBox : HandleBox {
    uv_process_t process{};
    bool watched = true;  // false once the ChildProcess is gone
    ChildProcess::OnExit on_exit;
};

}  // namespace detail

namespace {

void on_exit_cb(uv_process_t* process, std::int64_t exit_status, int term_signal) {
    auto* handle = static_cast<detail::ProcessBox*>(static_cast<detail::HandleBox*>(process->data));
    // Moved out first: the callback may destroy the ChildProcess.
    auto call = std::move(handle->on_exit);
    if (handle->watched && call) call(exit_status, term_signal);
}

}  // namespace

ChildProcess::ChildProcess(EventLoop& loop, const std::string& program, const std::vector<std::string>& args,
                           int handed_fd, OnExit on_exit) {
    std::vector<char*> argv;
    argv.reserve(args.size() + 1);
    for (const auto& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
    argv.push_back(nullptr);

    std::array<uv_stdio_container_t, 4> stdio{};
    for (int fd = 0; fd < 3; ++fd) {
        stdio[static_cast<std::size_t>(fd)].flags = UV_INHERIT_FD;
        stdio[static_cast<std::size_t>(fd)].data.fd = fd;
    }
    stdio[3].flags = UV_INHERIT_FD;
    stdio[3].data.fd = handed_fd;

    uv_process_options_t options{};
    options.file = program.c_str();
    options.args = argv.data();
    options.exit_cb = on_exit_cb;
    options.stdio = stdio.data();
    options.stdio_count = static_cast<int>(stdio.size());

    auto* handle = new detail::ProcessBox;
    handle->on_exit = std::move(on_exit);
    handle->process.data = static_cast<detail::HandleBox*>(handle);
    if (const int rc = uv_spawn(loop.raw(), &handle->process, &options); rc != 0) {
        // A failed uv_spawn still initialised the handle: it is closed like any other.
        detail::close_and_delete(reinterpret_cast<uv_handle_t*>(&handle->process));
        throw std::runtime_error("cannot start " + program + ": " + uv_strerror(rc));
    }
    handle_ = handle;
    pid_ = handle->process.pid;
}

ChildProcess::~ChildProcess() {
    handle_->watched = false;
    detail::close_and_delete(reinterpret_cast<uv_handle_t*>(&handle_->process));
}

// libuv stops the handle when the process has exited, before its callback runs.
bool ChildProcess::running() const {
    return uv_is_active(reinterpret_cast<const uv_handle_t*>(&handle_->process)) != 0;
}

void ChildProcess::kill(int signum) {
    if (running()) uv_process_kill(&handle_->process, signum);
}

std::string executable_path() {
    std::array<char, PATH_MAX> path{};
    std::size_t size = path.size();
    if (const int rc = uv_exepath(path.data(), &size); rc != 0) {
        throw std::runtime_error(std::string("cannot find this program's path: ") + uv_strerror(rc));
    }
    return {path.data(), size};
}

}  // namespace imapfront::net
