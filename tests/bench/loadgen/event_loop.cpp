#include "event_loop.h"

#include <sys/epoll.h>
#include <unistd.h>

#include <array>
#include <stdexcept>
#include <string>

namespace loadgen {

namespace {

epoll_event make_event(Pollable* owner, bool want_write) {
    epoll_event event{};
    event.events = EPOLLIN | (want_write ? static_cast<std::uint32_t>(EPOLLOUT) : 0U);
    event.data.ptr = owner;
    return event;
}

}  // namespace

EventLoop::EventLoop() : epoll_fd_(epoll_create1(EPOLL_CLOEXEC)) {
    if (epoll_fd_ < 0) {
        throw std::runtime_error("epoll_create1 failed");
    }
}

EventLoop::~EventLoop() { close(epoll_fd_); }

void EventLoop::add(int fd, Pollable* owner, bool want_write) {
    epoll_event event = make_event(owner, want_write);
    if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &event) != 0) {
        throw std::runtime_error("epoll_ctl ADD failed for fd " + std::to_string(fd));
    }
}

void EventLoop::modify(int fd, Pollable* owner, bool want_write) {
    epoll_event event = make_event(owner, want_write);
    epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fd, &event);
}

void EventLoop::remove(int fd) { epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr); }

void EventLoop::post(std::function<void()> task) { posted_.push_back(std::move(task)); }

void EventLoop::run_posted() {
    while (!posted_.empty()) {
        std::vector<std::function<void()>> tasks;
        tasks.swap(posted_);
        for (auto& task : tasks) {
            task();
        }
    }
}

bool EventLoop::run_until(const std::function<bool()>& done, Clock::time_point deadline) {
    std::array<epoll_event, 256> events{};
    run_posted();
    while (!done()) {
        auto now = Clock::now();
        if (now >= deadline) {
            return false;
        }
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count();
        int timeout = static_cast<int>(std::min<long long>(left + 1, 100));
        int count = epoll_wait(epoll_fd_, events.data(), static_cast<int>(events.size()), timeout);
        for (int i = 0; i < count; ++i) {
            const auto& event = events[static_cast<std::size_t>(i)];
            static_cast<Pollable*>(event.data.ptr)->on_events(event.events);
        }
        run_posted();
    }
    return true;
}

}  // namespace loadgen
