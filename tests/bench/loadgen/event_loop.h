#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <vector>

namespace loadgen {

using Clock = std::chrono::steady_clock;

// Something with a file descriptor that the loop reports readiness to.
class Pollable {
public:
    virtual ~Pollable() = default;
    virtual void on_events(std::uint32_t events) = 0;
};

// A single-threaded, level-triggered epoll loop: the load generator stays on
// one core so it competes for CPU as little as one proxy worker would.
class EventLoop {
public:
    EventLoop();
    ~EventLoop();
    EventLoop(const EventLoop&) = delete;
    EventLoop& operator=(const EventLoop&) = delete;

    void add(int fd, Pollable* owner, bool want_write);
    void modify(int fd, Pollable* owner, bool want_write);
    void remove(int fd);

    // Runs after the current batch of events, so an owner is never reset
    // while a stale event for its old descriptor is still being dispatched.
    void post(std::function<void()> task);

    // Dispatches events until done() is true or the deadline passes; returns
    // whether done() became true.
    bool run_until(const std::function<bool()>& done, Clock::time_point deadline);

private:
    void run_posted();

    int epoll_fd_;
    std::vector<std::function<void()>> posted_;
};

}  // namespace loadgen
