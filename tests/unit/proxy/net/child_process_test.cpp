#include "proxy/net/child_process.h"

#include "net_test_support.h"

#include <catch2/catch.hpp>

#include <unistd.h>

#include <csignal>
#include <string>

using namespace imapfront::net;

namespace {

struct Ended {
    bool called = false;
    std::int64_t status = -1;
    int signal = -1;
};

}  // namespace

TEST_CASE("a child's exit code reaches the owner", "[net][process]") {
    EventLoop loop;
    Ended ended;
    ChildProcess child(loop, "/bin/sh", {"sh", "-c", "exit 7"}, STDERR_FILENO, [&](std::int64_t status, int signal) {
        ended = {true, status, signal};
        loop.stop();
    });
    REQUIRE(testing::run_until_stopped(loop));
    CHECK(ended.called);
    CHECK(ended.status == 7);
    CHECK(ended.signal == 0);
    CHECK_FALSE(child.running());
}

TEST_CASE("kill ends a child with that signal", "[net][process]") {
    EventLoop loop;
    Ended ended;
    ChildProcess child(loop, "/bin/sleep", {"sleep", "30"}, STDERR_FILENO, [&](std::int64_t status, int signal) {
        ended = {true, status, signal};
        loop.stop();
    });
    CHECK(child.running());
    CHECK(child.pid() > 0);
    child.kill(SIGTERM);
    REQUIRE(testing::run_until_stopped(loop));
    CHECK(ended.signal == SIGTERM);
}

TEST_CASE("the child runs the program under the name args[0], the handed descriptor as its 3", "[net][process]") {
    EventLoop loop;
    int pipe_fds[2];
    REQUIRE(pipe(pipe_fds) == 0);
    Ended ended;
    ChildProcess child(loop, "/bin/sh", {"shown-name", "-c", "echo \"$0\" >&3"}, pipe_fds[1],
                       [&](std::int64_t status, int signal) {
                           ended = {true, status, signal};
                           loop.stop();
                       });
    close(pipe_fds[1]);
    REQUIRE(testing::run_until_stopped(loop));
    char text[32] = {};
    const auto got = read(pipe_fds[0], text, sizeof text - 1);
    close(pipe_fds[0]);
    CHECK(ended.status == 0);
    CHECK(std::string(text, got > 0 ? static_cast<std::size_t>(got) : 0) == "shown-name\n");
}

TEST_CASE("a program that does not exist is refused at once", "[net][process]") {
    EventLoop loop;
    CHECK_THROWS_WITH(
        ChildProcess(loop, "/nonexistent/imapfront", {"imapfront"}, STDERR_FILENO, [](std::int64_t, int) {}),
        Catch::Contains("cannot start /nonexistent/imapfront"));
}

TEST_CASE("executable_path names this test program", "[net][process]") {
    CHECK(executable_path().find("unit_net") != std::string::npos);
}
