#include "proxy/net/tcp.h"

#include "proxy/net/endpoint.h"
#include "proxy/net/event_loop.h"
#include "proxy/net/loop_internal.h"
#include "proxy/net/tcp_stream.h"

#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>

namespace imapfront::net {

namespace {

constexpr int listen_backlog = 1024;

std::string address_text(const std::string& host, std::uint16_t port) {
    const bool v6 = host.find(':') != std::string::npos;
    return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

[[noreturn]] void throw_listen_error(const std::string& host, std::uint16_t port, const std::string& reason) {
    throw std::runtime_error("listen " + address_text(host, port) + ": " + reason);
}

// libuv 1.44 cannot set SO_REUSEPORT, so the socket is made and bound here
// and handed to uv_tcp_open.
int bound_socket(const std::string& host, std::uint16_t port) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    addrinfo* found = nullptr;
    const std::string service = std::to_string(port);
    if (int rc = getaddrinfo(host.empty() ? nullptr : host.c_str(), service.c_str(), &hints, &found); rc != 0) {
        throw_listen_error(host, port, gai_strerror(rc));
    }
    const int fd = socket(found->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int error = fd < 0 ? errno : 0;
    const int on = 1;
    if (error == 0 && (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) != 0 ||
                       setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof on) != 0 ||
                       bind(fd, found->ai_addr, found->ai_addrlen) != 0)) {
        error = errno;
    }
    freeaddrinfo(found);
    if (error != 0) {
        if (fd >= 0) ::close(fd);
        throw_listen_error(host, port, uv_strerror(uv_translate_sys_error(error)));
    }
    return fd;
}

}  // namespace

namespace detail {

struct ListenerBox : HandleBox {
    uv_tcp_t tcp{};
    TcpListener::AcceptFn on_accept;
    bool detached = false;  // the TcpListener is gone
};

}  // namespace detail

struct TcpListener::Handle : detail::ListenerBox {};

namespace {

void on_connection(uv_stream_t* server, int status) {
    auto* handle = static_cast<detail::ListenerBox*>(static_cast<detail::HandleBox*>(server->data));
    // A failed accept (EMFILE, ENFILE) already dropped that connection inside
    // libuv; there is nothing to hand out.
    if (handle->detached || status < 0) return;
    detail::StreamBox* client = detail::new_stream_box(server->loop);
    if (uv_accept(server, reinterpret_cast<uv_stream_t*>(&client->tcp)) != 0) {
        detail::close_and_delete(reinterpret_cast<uv_handle_t*>(&client->tcp));
        return;
    }
    handle->on_accept(std::make_unique<TcpStream>(client));
}

}  // namespace

TcpListener::TcpListener(EventLoop& loop, const std::string& host, std::uint16_t port, AcceptFn on_accept)
    : handle_(nullptr) {
    const int fd = bound_socket(host, port);
    handle_ = new Handle;
    handle_->on_accept = std::move(on_accept);
    uv_tcp_init(loop.raw(), &handle_->tcp);
    handle_->tcp.data = static_cast<detail::HandleBox*>(handle_);
    int rc = uv_tcp_open(&handle_->tcp, fd);
    if (rc != 0) ::close(fd);
    if (rc == 0) rc = uv_listen(reinterpret_cast<uv_stream_t*>(&handle_->tcp), listen_backlog, on_connection);
    if (rc != 0) {
        handle_->detached = true;
        detail::close_and_delete(reinterpret_cast<uv_handle_t*>(&handle_->tcp));
        throw_listen_error(host, port, uv_strerror(rc));
    }
}

TcpListener::~TcpListener() {
    // The accept callback may be running this destructor: leave on_accept to
    // be destroyed with the handle.
    handle_->detached = true;
    detail::close_and_delete(reinterpret_cast<uv_handle_t*>(&handle_->tcp));
}

std::uint16_t TcpListener::port() const {
    sockaddr_storage storage{};
    int length = sizeof storage;
    if (uv_tcp_getsockname(&handle_->tcp, reinterpret_cast<sockaddr*>(&storage), &length) != 0) return 0;
    return detail::endpoint_from(reinterpret_cast<const sockaddr*>(&storage)).port;
}

}  // namespace imapfront::net
