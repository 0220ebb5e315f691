#include "proxy/net/tcp.h"

#include "proxy/net/endpoint.h"
#include "proxy/net/event_loop.h"
#include "proxy/net/loop_internal.h"
#include "proxy/net/tcp_stream.h"

#include <netdb.h>

namespace imapfront::net {

// Shared by the TcpConnect and its in-flight requests; each request keeps it
// alive until its callback has run, so a cancelled attempt frees safely.
namespace detail {

struct ConnectState {
    uv_loop_t* loop = nullptr;
    std::string host;
    std::uint16_t port = 0;
    TcpConnect::DoneFn done;
    bool cancelled = false;
    uv_getaddrinfo_t* resolving = nullptr;
    addrinfo* addresses = nullptr;
    addrinfo* next_address = nullptr;
    detail::StreamBox* connecting = nullptr;
    std::string connecting_to;
    std::string last_error;

    ConnectState() = default;
    ConnectState(const ConnectState&) = delete;
    ConnectState& operator=(const ConnectState&) = delete;
    ~ConnectState() {
        if (addresses) uv_freeaddrinfo(addresses);
    }
};

}  // namespace detail

struct TcpConnect::State : detail::ConnectState {};

namespace {

using State = detail::ConnectState;

struct ResolveRequest {
    uv_getaddrinfo_t request{};
    std::shared_ptr<State> state;
};

struct ConnectRequest {
    uv_connect_t request{};
    std::shared_ptr<State> state;
};

void finish(State& state, std::unique_ptr<Stream> stream, const std::string& error) {
    if (state.cancelled || !state.done) return;
    // Moved out first: the callback may destroy the TcpConnect.
    auto done = std::move(state.done);
    state.done = nullptr;
    done(std::move(stream), error);
}

void on_connected(uv_connect_t* request, int status);

void try_next_address(const std::shared_ptr<State>& state) {
    while (state->next_address) {
        const addrinfo* address = state->next_address;
        state->next_address = address->ai_next;
        if (address->ai_family != AF_INET && address->ai_family != AF_INET6) continue;
        const std::string target = detail::endpoint_text(detail::endpoint_from(address->ai_addr));
        detail::StreamBox* box = detail::new_stream_box(state->loop);
        auto* connect = new ConnectRequest;
        connect->state = state;
        const int rc = uv_tcp_connect(&connect->request, &box->tcp, address->ai_addr, on_connected);
        if (rc == 0) {
            state->connecting = box;
            state->connecting_to = target;
            return;
        }
        delete connect;
        detail::close_and_delete(reinterpret_cast<uv_handle_t*>(&box->tcp));
        state->last_error = "connect " + target + ": " + uv_strerror(rc);
    }
    finish(*state, nullptr,
           state->last_error.empty() ? "resolve " + state->host + ": no usable address" : state->last_error);
}

void on_connected(uv_connect_t* request, int status) {
    std::unique_ptr<ConnectRequest> connect(reinterpret_cast<ConnectRequest*>(request));
    const std::shared_ptr<State> state = connect->state;
    detail::StreamBox* box = state->connecting;
    state->connecting = nullptr;
    // Cancelled: the TcpConnect's destructor already closed the handle.
    if (state->cancelled) return;
    if (status < 0) {
        state->last_error = "connect " + state->connecting_to + ": " + uv_strerror(status);
        detail::close_and_delete(reinterpret_cast<uv_handle_t*>(&box->tcp));
        try_next_address(state);
        return;
    }
    finish(*state, std::make_unique<TcpStream>(box), "");
}

void on_resolved(uv_getaddrinfo_t* request, int status, addrinfo* addresses) {
    std::unique_ptr<ResolveRequest> resolve(reinterpret_cast<ResolveRequest*>(request));
    const std::shared_ptr<State> state = resolve->state;
    state->resolving = nullptr;
    if (state->cancelled) {
        uv_freeaddrinfo(addresses);
        return;
    }
    if (status < 0) {
        finish(*state, nullptr, "resolve " + state->host + ": " + uv_strerror(status));
        return;
    }
    state->addresses = addresses;
    state->next_address = addresses;
    try_next_address(state);
}

// Runs `fn` on the next loop turn unless the TcpConnect is gone by then.
void defer_while_alive(const std::shared_ptr<State>& state, std::function<void(const std::shared_ptr<State>&)> fn) {
    std::weak_ptr<State> weak = state;
    detail::defer_on(state->loop, [weak, fn = std::move(fn)] {
        if (auto alive = weak.lock()) fn(alive);
    });
}

}  // namespace

TcpConnect::TcpConnect(EventLoop& loop, const std::string& host, std::uint16_t port, DoneFn done)
    : state_(std::make_shared<State>()) {
    state_->loop = loop.raw();
    state_->host = host;
    state_->port = port;
    state_->done = std::move(done);

    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    const std::string service = std::to_string(port);

    // An address literal needs no resolver: parsing it here spares the
    // thread-pool round trip (two thread hand-offs) on every backend login.
    addrinfo numeric_hints = hints;
    numeric_hints.ai_flags |= AI_NUMERICHOST;
    addrinfo* numeric = nullptr;
    if (getaddrinfo(host.c_str(), service.c_str(), &numeric_hints, &numeric) == 0) {
        state_->addresses = numeric;
        state_->next_address = numeric;
        // Connect from the next loop turn: a failure must not call back inside the constructor.
        defer_while_alive(state_, [](const std::shared_ptr<detail::ConnectState>& state) {
            if (!state->cancelled) try_next_address(state);
        });
        return;
    }

    auto* resolve = new ResolveRequest;
    resolve->state = state_;
    const int rc = uv_getaddrinfo(state_->loop, &resolve->request, on_resolved, host.c_str(), service.c_str(), &hints);
    if (rc == 0) {
        state_->resolving = &resolve->request;
        return;
    }
    delete resolve;
    // The callback never runs inside the constructor; report on the next turn.
    const std::string error = "resolve " + host + ": " + uv_strerror(rc);
    defer_while_alive(state_,
                      [error](const std::shared_ptr<detail::ConnectState>& state) { finish(*state, nullptr, error); });
}

TcpConnect::~TcpConnect() {
    state_->cancelled = true;
    state_->done = nullptr;
    // A resolve already running in the thread pool cannot be cancelled; its
    // callback then sees `cancelled` and only frees.
    if (state_->resolving) uv_cancel(reinterpret_cast<uv_req_t*>(state_->resolving));
    if (state_->connecting) {
        detail::close_and_delete(reinterpret_cast<uv_handle_t*>(&state_->connecting->tcp));
        state_->connecting = nullptr;
    }
}

}  // namespace imapfront::net
