// EventLoop: one libuv loop and the small services every owner on it needs.
// Only proxy/net includes <uv.h>; other layers see these wrappers.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <vector>

struct uv_loop_s;

namespace imapfront::net {

class EventLoop {
public:
    EventLoop();
    ~EventLoop();  // closes every handle still open and runs the loop until they are freed
    EventLoop(const EventLoop&) = delete;
    EventLoop& operator=(const EventLoop&) = delete;

    void run();   // until stop() or no handles are left
    void stop();  // safe from any callback on this loop

    // Runs `fn` on this loop after the current callback stack unwinds: the
    // way an owner deletes itself without freeing memory a caller still uses.
    void defer(std::function<void()> fn);

    // Runs `fn` on this loop's thread; the one member safe to call from
    // another thread.
    void post(std::function<void()> fn);

    // Runs `fn` when the process gets `signum` (SIGINT, SIGTERM, SIGHUP).
    // A watcher alone does not keep run() going unless `keeps_running` says
    // so: a loop whose only job is to wait for the signal that ends it.
    enum class KeepsRunning { No, Yes };
    void on_signal(int signum, std::function<void()> fn, KeepsRunning keeps_running = KeepsRunning::No);

    // Handles on this loop that are not closing, the loop's own two not
    // counted: what a test checks is zero once everything it made is gone.
    std::size_t open_handles();

    uv_loop_s* raw();

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// A restartable one-shot timer. Destroying it cancels it; the libuv handle is
// freed by its close callback. The handle exists only from start() to stop()
// (or destruction), so the many timers a session keeps for rare events cost
// a pointer each while they are not running.
class Timer {
public:
    explicit Timer(EventLoop& loop);
    ~Timer();
    Timer(const Timer&) = delete;
    Timer& operator=(const Timer&) = delete;

    void start(std::chrono::milliseconds after, std::function<void()> fn);
    void stop();
    // Started and neither fired nor stopped since.
    bool pending() const;

private:
    struct Handle;
    EventLoop& loop_;
    Handle* handle_ = nullptr;
};

}  // namespace imapfront::net
