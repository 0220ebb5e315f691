#include "proxy/net/event_loop.h"

#include "net_test_support.h"
#include "proxy/net/tcp.h"

#include <catch2/catch.hpp>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

using namespace imapfront::net;
using namespace std::chrono_literals;

TEST_CASE("defer runs queued calls in order after the caller returns", "[net][loop]") {
    EventLoop loop;
    std::string order;
    loop.defer([&] { order += "a"; });
    loop.defer([&] { order += "b"; });
    order += "0";
    CHECK(order == "0");
    loop.defer([&] {
        order += "c";
        loop.stop();
    });
    REQUIRE(testing::run_until_stopped(loop));
    CHECK(order == "0abc");
}

TEST_CASE("a call deferred from a deferred call waits for the next turn", "[net][loop]") {
    EventLoop loop;
    std::string order;
    loop.defer([&] {
        order += "a";
        loop.defer([&] {
            order += "c";
            loop.stop();
        });
    });
    loop.defer([&] { order += "b"; });
    REQUIRE(testing::run_until_stopped(loop));
    CHECK(order == "abc");
}

TEST_CASE("an empty defer queue does not keep run() alive", "[net][loop]") {
    EventLoop loop;
    int runs = 0;
    loop.defer([&] { ++runs; });
    // No Timer may bound this run (it would keep the loop alive itself), so a
    // watchdog thread aborts the test binary if run() never returns.
    std::mutex mutex;
    std::condition_variable returned;
    bool done = false;
    std::thread watchdog([&] {
        std::unique_lock lock(mutex);
        if (!returned.wait_for(lock, 3s, [&] { return done; })) {
            std::fputs("run() kept spinning with an empty defer queue\n", stderr);
            std::abort();
        }
    });
    loop.run();
    {
        std::lock_guard lock(mutex);
        done = true;
    }
    returned.notify_one();
    watchdog.join();
    CHECK(runs == 1);
}

TEST_CASE("timer fires once after its delay", "[net][timer]") {
    EventLoop loop;
    Timer timer(loop);
    int fired = 0;
    const auto started = std::chrono::steady_clock::now();
    timer.start(30ms, [&] {
        ++fired;
        loop.stop();
    });
    REQUIRE(testing::run_until_stopped(loop));
    CHECK(fired == 1);
    CHECK(std::chrono::steady_clock::now() - started >= 25ms);
    testing::run_for(loop, 60ms);
    CHECK(fired == 1);
}

TEST_CASE("a stopped timer never fires", "[net][timer]") {
    EventLoop loop;
    Timer timer(loop);
    bool fired = false;
    timer.start(20ms, [&] { fired = true; });
    timer.stop();
    testing::run_for(loop, 60ms);
    CHECK_FALSE(fired);
}

TEST_CASE("restarting a timer replaces its callback and delay", "[net][timer]") {
    EventLoop loop;
    Timer timer(loop);
    std::string fired;
    timer.start(20ms, [&] { fired += "first"; });
    timer.start(40ms, [&] {
        fired += "second";
        loop.stop();
    });
    REQUIRE(testing::run_until_stopped(loop));
    CHECK(fired == "second");
}

TEST_CASE("a timer may restart itself from its callback", "[net][timer]") {
    EventLoop loop;
    Timer timer(loop);
    int fired = 0;
    std::function<void()> tick = [&] {
        if (++fired == 3) {
            loop.stop();
        } else {
            timer.start(5ms, tick);
        }
    };
    timer.start(5ms, tick);
    REQUIRE(testing::run_until_stopped(loop));
    CHECK(fired == 3);
}

TEST_CASE("a destroyed timer never fires, even when destroyed by its own loop turn", "[net][timer]") {
    EventLoop loop;
    bool fired = false;
    auto timer = std::make_unique<Timer>(loop);
    timer->start(10ms, [&] { fired = true; });
    loop.defer([&] { timer.reset(); });
    testing::run_for(loop, 50ms);
    CHECK_FALSE(fired);
}

TEST_CASE("a timer is pending from start until it fires or is stopped, and starts again after stop", "[net][timer]") {
    EventLoop loop;
    Timer timer(loop);
    CHECK_FALSE(timer.pending());
    timer.start(1h, [] {});
    CHECK(timer.pending());
    timer.stop();
    CHECK_FALSE(timer.pending());
    timer.stop();  // stopping a stopped timer is harmless
    int fired = 0;
    timer.start(5ms, [&] {
        ++fired;
        loop.stop();
    });
    CHECK(timer.pending());
    REQUIRE(testing::run_until_stopped(loop));
    CHECK(fired == 1);
    CHECK_FALSE(timer.pending());
}

TEST_CASE("a timer stopped from its own callback fires once and can start again", "[net][timer]") {
    EventLoop loop;
    Timer timer(loop);
    int fired = 0;
    timer.start(5ms, [&] {
        ++fired;
        timer.stop();
        timer.start(5ms, [&] {
            ++fired;
            loop.stop();
        });
    });
    REQUIRE(testing::run_until_stopped(loop));
    CHECK(fired == 2);
}

TEST_CASE("open_handles counts a running timer and a listener until they are gone", "[net][loop]") {
    EventLoop loop;
    CHECK(loop.open_handles() == 0);
    {
        Timer timer(loop);
        timer.start(1h, [] {});
        CHECK(loop.open_handles() == 1);
        TcpListener listener(loop, "127.0.0.1", 0, [](std::unique_ptr<Stream>) {});
        CHECK(loop.open_handles() == 2);
    }
    CHECK(loop.open_handles() == 0);
    loop.defer([] {});
    CHECK(loop.open_handles() == 0);
}
