#include "proxy/process/service_notifier.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <utility>

namespace imapfront::process {
namespace {

// Closes the socket however send() returns.
class Descriptor {
public:
    explicit Descriptor(int fd) : fd_(fd) {}
    ~Descriptor() {
        if (fd_ >= 0) close(fd_);
    }
    Descriptor(const Descriptor&) = delete;
    Descriptor& operator=(const Descriptor&) = delete;
    int get() const { return fd_; }

private:
    int fd_;
};

}  // namespace

ServiceNotifier::ServiceNotifier(std::string socket) : socket_(std::move(socket)) {}

ServiceNotifier ServiceNotifier::from_environment() {
    const char* socket = std::getenv("NOTIFY_SOCKET");
    return socket != nullptr ? ServiceNotifier(socket) : ServiceNotifier();
}

bool ServiceNotifier::send(std::string_view state) const {
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (socket_.empty() || socket_.size() >= sizeof address.sun_path) return false;
    if (socket_[0] != '/' && socket_[0] != '@') return false;
    std::memcpy(address.sun_path, socket_.data(), socket_.size());
    // An abstract socket's name starts with a NUL byte and has no terminator.
    if (socket_[0] == '@') address.sun_path[0] = '\0';
    const auto length =
        static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + socket_.size() + (socket_[0] == '/' ? 1 : 0));

    const Descriptor fd(socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (fd.get() < 0) return false;
    const ssize_t sent =
        sendto(fd.get(), state.data(), state.size(), MSG_NOSIGNAL, reinterpret_cast<const sockaddr*>(&address), length);
    return sent == static_cast<ssize_t>(state.size());
}

}  // namespace imapfront::process
