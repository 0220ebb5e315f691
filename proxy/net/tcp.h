// TCP listeners and outgoing connections on an EventLoop.
#pragma once

#include "proxy/net/stream.h"

#include <functional>
#include <memory>
#include <string>

namespace imapfront::net {

class EventLoop;

class TcpListener {
public:
    using AcceptFn = std::function<void(std::unique_ptr<Stream>)>;

    // Binds (SO_REUSEADDR, and SO_REUSEPORT so several loops can share a
    // port) and listens. Throws std::runtime_error naming the address on failure.
    TcpListener(EventLoop& loop, const std::string& host, std::uint16_t port, AcceptFn on_accept);
    ~TcpListener();
    TcpListener(const TcpListener&) = delete;
    TcpListener& operator=(const TcpListener&) = delete;

    std::uint16_t port() const;  // the bound port (useful with port 0)

private:
    struct Handle;
    Handle* handle_;
};

// Resolves `host` with libuv's getaddrinfo and connects to the first address
// that accepts, all with TCP_NODELAY. Destroying the TcpConnect before the
// callback cancels it: the callback then never fires.
class TcpConnect {
public:
    using DoneFn = std::function<void(std::unique_ptr<Stream> stream, std::string error)>;

    TcpConnect(EventLoop& loop, const std::string& host, std::uint16_t port, DoneFn done);
    ~TcpConnect();
    TcpConnect(const TcpConnect&) = delete;
    TcpConnect& operator=(const TcpConnect&) = delete;

private:
    struct State;
    std::shared_ptr<State> state_;
};

}  // namespace imapfront::net
