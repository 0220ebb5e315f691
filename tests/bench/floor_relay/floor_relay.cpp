// imapfront_floor_relay: the cheapest relay a user-space proxy can be, as a
// benchmark reference. One thread, level-triggered epoll, TCP_NODELAY, one
// read and one write per chunk, no protocol work at all: whatever CPU it
// spends per round trip is what the kernel charges any proxy for moving the
// bytes through two sockets. See tests/bench/README.md.
//
// usage: imapfront_floor_relay LISTEN_PORT BACKEND_PORT   (both on 127.0.0.1)
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <unordered_map>
#include <vector>

namespace {

constexpr std::size_t kChunk = 64 * 1024;

class Descriptor {
public:
    explicit Descriptor(int fd) : fd_(fd) {}
    ~Descriptor() {
        if (fd_ >= 0) ::close(fd_);
    }
    Descriptor(const Descriptor&) = delete;
    Descriptor& operator=(const Descriptor&) = delete;
    int get() const { return fd_; }

private:
    int fd_;
};

sockaddr_in loopback(int port) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<std::uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return address;
}

void set_nodelay(int fd) {
    int on = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
}

// Bytes read from one socket and not yet written to the other. While any are
// pending the source is not read, so a slow reader stops its writer.
struct Direction {
    std::array<char, kChunk> bytes;
    std::size_t start = 0;
    std::size_t end = 0;
    bool pending() const { return start < end; }
};

// A client (side 0) and its backend connection (side 1). Each socket's epoll
// data is the pair's address with the side in its lowest bit, which a
// Pair's alignment leaves free.
struct Pair {
    Pair(int client_fd, int backend_fd) : sockets{Descriptor(client_fd), Descriptor(backend_fd)} {}
    Descriptor sockets[2];
    Direction towards[2];  // towards[i]: bytes waiting to be written to sockets[i]
    std::uint32_t interest[2] = {EPOLLIN, EPOLLIN};
    bool open = true;
};

class Relay {
public:
    Relay(int listen_port, int backend_port)
        : epoll_(::epoll_create1(EPOLL_CLOEXEC)),
          listener_(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)),
          backend_(loopback(backend_port)) {
        int on = 1;
        ::setsockopt(listener_.get(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
        sockaddr_in address = loopback(listen_port);
        if (::bind(listener_.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
            ::listen(listener_.get(), 1024) != 0) {
            std::perror("imapfront_floor_relay: listen");
            std::exit(1);
        }
        epoll_event event{EPOLLIN, {.ptr = nullptr}};
        ::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, listener_.get(), &event);
    }

    void run() {
        std::array<epoll_event, 64> events;
        for (;;) {
            int ready = ::epoll_wait(epoll_.get(), events.data(), static_cast<int>(events.size()), -1);
            if (ready < 0) {
                if (errno == EINTR) continue;
                return;
            }
            for (std::size_t i = 0; i < static_cast<std::size_t>(ready); ++i) {
                if (events[i].data.ptr == nullptr) {
                    accept_clients();
                } else {
                    // Events of this batch may name a pair closed earlier in it.
                    auto tagged = reinterpret_cast<std::uintptr_t>(events[i].data.ptr);
                    on_ready(reinterpret_cast<Pair*>(tagged & ~std::uintptr_t{1}), static_cast<int>(tagged & 1),
                             events[i].events);
                }
            }
            closed_.clear();
        }
    }

private:
    void accept_clients() {
        for (;;) {
            int client = ::accept4(listener_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
            if (client < 0) return;
            // A blocking connect keeps the relay minimal; on loopback it is
            // immediate, and only the scenarios on open sessions use the floor.
            int backend = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
            if (::connect(backend, reinterpret_cast<const sockaddr*>(&backend_), sizeof backend_) != 0) {
                ::close(backend);
                ::close(client);
                continue;
            }
            ::fcntl(backend, F_SETFL, O_NONBLOCK);
            set_nodelay(client);
            set_nodelay(backend);
            auto pair = std::make_unique<Pair>(client, backend);
            for (int side = 0; side < 2; ++side) {
                epoll_event event{EPOLLIN, {.ptr = tag(pair.get(), side)}};
                ::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, pair->sockets[side].get(), &event);
            }
            Pair* key = pair.get();
            pairs_.emplace(key, std::move(pair));
        }
    }

    static void* tag(Pair* pair, int side) {
        return reinterpret_cast<void*>(reinterpret_cast<std::uintptr_t>(pair) | static_cast<std::uintptr_t>(side));
    }

    void on_ready(Pair* pair, int side, std::uint32_t events) {
        if (!pair->open) return;
        if (events & (EPOLLERR | EPOLLHUP)) return close(pair);
        int other = 1 - side;
        if ((events & EPOLLOUT) && !flush(*pair, side)) return close(pair);
        if ((events & EPOLLIN) && !pair->towards[other].pending()) {
            Direction& out = pair->towards[other];
            ssize_t got = ::read(pair->sockets[side].get(), out.bytes.data(), out.bytes.size());
            if (got == 0 || (got < 0 && errno != EAGAIN && errno != EINTR)) return close(pair);
            if (got > 0) {
                out.start = 0;
                out.end = static_cast<std::size_t>(got);
                if (!flush(*pair, other)) return close(pair);
            }
        }
        update_interest(*pair);
    }

    // Writes what waits for sockets[side]; false when that socket failed.
    static bool flush(Pair& pair, int side) {
        Direction& out = pair.towards[side];
        while (out.pending()) {
            ssize_t wrote =
                ::send(pair.sockets[side].get(), out.bytes.data() + out.start, out.end - out.start, MSG_NOSIGNAL);
            if (wrote < 0) return errno == EAGAIN || errno == EINTR;
            out.start += static_cast<std::size_t>(wrote);
        }
        return true;
    }

    void update_interest(Pair& pair) {
        for (int side = 0; side < 2; ++side) {
            std::uint32_t wanted = (pair.towards[1 - side].pending() ? 0u : std::uint32_t{EPOLLIN}) |
                                   (pair.towards[side].pending() ? std::uint32_t{EPOLLOUT} : 0u);
            if (wanted == pair.interest[side]) continue;
            pair.interest[side] = wanted;
            epoll_event event{wanted, {.ptr = tag(&pair, side)}};
            ::epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, pair.sockets[side].get(), &event);
        }
    }

    void close(Pair* pair) {
        auto found = pairs_.find(pair);
        pair->open = false;
        closed_.push_back(std::move(found->second));
        pairs_.erase(found);
    }

    Descriptor epoll_;
    Descriptor listener_;
    sockaddr_in backend_;
    std::unordered_map<Pair*, std::unique_ptr<Pair>> pairs_;
    std::vector<std::unique_ptr<Pair>> closed_;
};

}  // namespace

int main(int argc, char** argv) {
    if (argc != 3) {
        std::fprintf(stderr, "usage: imapfront_floor_relay LISTEN_PORT BACKEND_PORT\n");
        return 2;
    }
    std::signal(SIGPIPE, SIG_IGN);
    Relay relay(std::atoi(argv[1]), std::atoi(argv[2]));
    relay.run();
    return 0;
}
