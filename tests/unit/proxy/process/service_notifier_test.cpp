#include "proxy/process/service_notifier.h"

#include <catch2/catch.hpp>

#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>

using namespace imapfront::process;

namespace {

// A unix datagram socket standing in for systemd's notification socket;
// receive() waits at most a second.
class FakeServiceManager {
public:
    explicit FakeServiceManager(const std::string& name) : name_(name) {
        fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        REQUIRE(fd_ >= 0);
        sockaddr_un address{};
        address.sun_family = AF_UNIX;
        REQUIRE(name.size() < sizeof address.sun_path);
        std::memcpy(address.sun_path, name.data(), name.size());
        if (name[0] == '@') address.sun_path[0] = '\0';
        const auto length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name.size());
        REQUIRE(bind(fd_, reinterpret_cast<const sockaddr*>(&address), length) == 0);
        const timeval wait{1, 0};
        REQUIRE(setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof wait) == 0);
    }
    ~FakeServiceManager() {
        close(fd_);
        if (name_[0] == '/') std::filesystem::remove(name_);
    }
    FakeServiceManager(const FakeServiceManager&) = delete;
    FakeServiceManager& operator=(const FakeServiceManager&) = delete;

    std::string receive() const {
        char buffer[256];
        const ssize_t got = recv(fd_, buffer, sizeof buffer, 0);
        return got < 0 ? std::string("(nothing)") : std::string(buffer, static_cast<std::size_t>(got));
    }

private:
    std::string name_;
    int fd_ = -1;
};

std::string socket_path() {
    return (std::filesystem::temp_directory_path() / ("imapfront-notify-" + std::to_string(getpid()))).string();
}

}  // namespace

TEST_CASE("each state arrives as one datagram on a socket path", "[process][notify]") {
    const FakeServiceManager manager(socket_path());
    const ServiceNotifier notifier(socket_path());
    notifier.ready();
    CHECK(manager.receive() == "READY=1");
    notifier.reloading();
    CHECK(manager.receive() == "RELOADING=1");
    notifier.ready();
    CHECK(manager.receive() == "READY=1");
    notifier.stopping();
    CHECK(manager.receive() == "STOPPING=1");
}

TEST_CASE("an abstract socket name starting with @ is reached", "[process][notify]") {
    const std::string name = "@imapfront-notify-test-" + std::to_string(getpid());
    const FakeServiceManager manager(name);
    CHECK(ServiceNotifier(name).send("READY=1\nSTATUS=serving"));
    CHECK(manager.receive() == "READY=1\nSTATUS=serving");
}

TEST_CASE("NOTIFY_SOCKET names the socket; without it nothing is sent", "[process][notify]") {
    const FakeServiceManager manager(socket_path());
    REQUIRE(setenv("NOTIFY_SOCKET", socket_path().c_str(), 1) == 0);
    CHECK(ServiceNotifier::from_environment().send("READY=1"));
    CHECK(manager.receive() == "READY=1");

    REQUIRE(unsetenv("NOTIFY_SOCKET") == 0);
    CHECK_FALSE(ServiceNotifier::from_environment().send("READY=1"));
    CHECK_FALSE(ServiceNotifier().send("READY=1"));
}

TEST_CASE("a socket name that is no path, too long or gone is not sent to", "[process][notify]") {
    CHECK_FALSE(ServiceNotifier("relative/socket").send("READY=1"));
    CHECK_FALSE(ServiceNotifier("/" + std::string(200, 'x')).send("READY=1"));
    CHECK_FALSE(ServiceNotifier(socket_path() + "-nobody").send("READY=1"));
}
