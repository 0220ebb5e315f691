// Shared pieces of the net tests: a handler that records what it sees, a
// bounded loop run, and the test PKI paths.
#pragma once

#include "proxy/net/event_loop.h"
#include "proxy/net/stream.h"

#include <chrono>
#include <functional>
#include <string>
#include <string_view>

namespace imapfront::net::testing {

inline std::string tls_file(const std::string& name) { return std::string(IMAPFRONT_TEST_DATA) + "/tls/" + name; }

struct RecordingHandler : StreamHandler {
    std::string received;
    std::string closed_reason;
    int closed_count = 0;
    int tls_ready_count = 0;
    int drained_count = 0;
    std::function<void(std::string_view)> data_hook;
    std::function<void()> closed_hook;
    std::function<void()> tls_ready_hook;
    std::function<void()> drained_hook;

    void on_data(std::string_view bytes) override {
        received.append(bytes);
        if (data_hook) data_hook(bytes);
    }
    void on_closed(std::string_view reason) override {
        closed_reason = reason;
        ++closed_count;
        if (closed_hook) closed_hook();
    }
    void on_tls_ready() override {
        ++tls_ready_count;
        if (tls_ready_hook) tls_ready_hook();
    }
    void on_drained() override {
        ++drained_count;
        if (drained_hook) drained_hook();
    }
};

// Runs `loop` until a callback calls loop.stop(). Returns false when `limit`
// passes first, so a broken test fails instead of hanging.
inline bool run_until_stopped(EventLoop& loop, std::chrono::milliseconds limit = std::chrono::seconds(5)) {
    bool timed_out = false;
    Timer guard(loop);
    guard.start(limit, [&] {
        timed_out = true;
        loop.stop();
    });
    loop.run();
    return !timed_out;
}

// Runs `loop` for `duration`, for tests that check something does NOT happen.
inline void run_for(EventLoop& loop, std::chrono::milliseconds duration) {
    Timer timer(loop);
    timer.start(duration, [&] { loop.stop(); });
    loop.run();
}

}  // namespace imapfront::net::testing
