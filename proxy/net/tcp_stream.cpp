#include "proxy/net/tcp_stream.h"

#include "proxy/net/endpoint.h"

#include <algorithm>
#include <climits>
#include <utility>

namespace imapfront::net {

namespace detail {

StreamBox::~StreamBox() {
    if (owner) owner->box_ = nullptr;
}

StreamBox* new_stream_box(uv_loop_t* loop) {
    auto* box = new StreamBox;
    uv_tcp_init(loop, &box->tcp);
    box->tcp.data = static_cast<HandleBox*>(box);
    return box;
}

}  // namespace detail

namespace {

// A write request owns its bytes; it is freed by its callback, which libuv
// runs even when the handle is closed first (with UV_ECANCELED).
struct WriteRequest {
    uv_write_t request{};
    std::string bytes;
};

detail::StreamBox* box_of(const uv_handle_t* handle) {
    return static_cast<detail::StreamBox*>(static_cast<detail::HandleBox*>(handle->data));
}

Endpoint address_of(const uv_tcp_t* tcp, int (*query)(const uv_tcp_t*, sockaddr*, int*)) {
    sockaddr_storage storage{};
    int length = sizeof storage;
    if (query(tcp, reinterpret_cast<sockaddr*>(&storage), &length) != 0) return {};
    return detail::endpoint_from(reinterpret_cast<const sockaddr*>(&storage));
}

}  // namespace

TcpStream::TcpStream(detail::StreamBox* box) : box_(box) {
    box_->owner = this;
    uv_tcp_nodelay(&box_->tcp, 1);
}

Endpoint TcpStream::peer() const { return box_ ? address_of(&box_->tcp, uv_tcp_getpeername) : Endpoint{}; }

Endpoint TcpStream::local() const { return box_ ? address_of(&box_->tcp, uv_tcp_getsockname) : Endpoint{}; }

TcpStream::~TcpStream() {
    if (!box_) return;
    box_->owner = nullptr;
    detail::close_and_delete(reinterpret_cast<uv_handle_t*>(&box_->tcp));
}

uv_stream_t* TcpStream::raw_stream() const { return reinterpret_cast<uv_stream_t*>(&box_->tcp); }

void TcpStream::set_handler(StreamHandler* handler) {
    handler_ = handler;
    update_reading();
}

void TcpStream::update_reading() {
    const bool wanted = box_ && handler_ && !paused_ && phase_ == Phase::open && !reported_closed_;
    if (wanted && !reading_) {
        reading_ = uv_read_start(raw_stream(), detail::alloc_read_buffer, on_read_cb) == 0;
    } else if (!wanted && reading_) {
        if (box_) uv_read_stop(raw_stream());
        reading_ = false;
    }
}

void TcpStream::pause_reading() {
    paused_ = true;
    update_reading();
}

void TcpStream::resume_reading() {
    paused_ = false;
    update_reading();
    // Plaintext already decrypted into the engine would otherwise wait for
    // the next packet; deliver it from a fresh stack, not inside our caller.
    if (tls_ && tls_->has_input()) defer_if_alive([](TcpStream& self) { self.process_tls_input(); });
}

void TcpStream::write(std::string bytes) { send(bytes, &bytes); }

void TcpStream::write_view(std::string_view bytes) { send(bytes, nullptr); }

void TcpStream::send(std::string_view bytes, std::string* owned) {
    if (phase_ != Phase::open || bytes.empty()) return;
    if (tls_) {
        tls_->send(bytes);
        flush_tls_output();
    } else {
        // A write libuv completes by itself costs an epoll_ctl on the next
        // loop turn; one the kernel takes at once here costs nothing more.
        const std::size_t written = write_now(bytes);
        if (written == 0 && owned) {
            queue_write(std::move(*owned));
        } else if (written < bytes.size()) {
            queue_write(std::string(bytes.substr(written)));
        }
    }
    if (pending_write_bytes() > high_watermark) above_high_ = true;
}

std::size_t TcpStream::write_now(std::string_view bytes) {
    // Only with nothing queued may bytes go ahead of the queue: order is kept.
    if (!box_ || bytes.empty() || uv_stream_get_write_queue_size(raw_stream()) != 0) return 0;
    uv_buf_t buf = uv_buf_init(const_cast<char*>(bytes.data()),
                               static_cast<unsigned>(std::min<std::size_t>(bytes.size(), UINT_MAX)));
    const int written = uv_try_write(raw_stream(), &buf, 1);
    return written > 0 ? static_cast<std::size_t>(written) : 0;
}

void TcpStream::queue_write(std::string bytes) {
    if (!box_ || bytes.empty()) return;
    auto* request = new WriteRequest;
    request->bytes = std::move(bytes);
    const uv_buf_t buf = uv_buf_init(request->bytes.data(), static_cast<unsigned>(request->bytes.size()));
    const int rc = uv_write(&request->request, raw_stream(), &buf, 1, on_write_cb);
    if (rc != 0) {
        delete request;
        const std::string reason = uv_err_name(rc);
        defer_if_alive([reason](TcpStream& self) { self.fail(reason); });
    }
}

void TcpStream::on_write_cb(uv_write_t* request, int status) {
    auto* owned = reinterpret_cast<WriteRequest*>(request);
    detail::StreamBox* box = box_of(reinterpret_cast<uv_handle_t*>(request->handle));
    delete owned;
    if (box->owner) box->owner->on_write_done(status);
}

void TcpStream::on_write_done(int status) {
    if (status == UV_ECANCELED) return;
    if (status < 0) {
        fail(uv_err_name(status));
        return;
    }
    if (above_high_ && pending_write_bytes() <= low_watermark) {
        above_high_ = false;
        if (handler_ && !reported_closed_) handler_->on_drained();
    }
}

std::size_t TcpStream::pending_write_bytes() const {
    std::size_t pending = box_ ? uv_stream_get_write_queue_size(raw_stream()) : 0;
    if (tls_) pending += tls_->buffered_bytes();
    return pending;
}

void TcpStream::on_read_cb(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
    uv_loop_t* loop = stream->loop;
    detail::StreamBox* box = box_of(reinterpret_cast<uv_handle_t*>(stream));
    if (box->owner) box->owner->on_read(nread, buf);
    detail::release_read_buffer(loop, buf);
}

void TcpStream::on_read(ssize_t nread, const uv_buf_t* buf) {
    if (nread == 0) return;
    if (nread < 0) {
        fail(nread == UV_EOF ? "peer closed" : uv_err_name(static_cast<int>(nread)));
        return;
    }
    const std::string_view bytes(buf->base, static_cast<std::size_t>(nread));
    if (tls_) {
        tls_->receive(bytes);
        process_tls_input();
    } else if (handler_) {
        handler_->on_data(bytes);
    }
}

void TcpStream::process_tls_input() {
    detail::StreamBox* box = box_;
    while (box && box->owner == this && phase_ == Phase::open && !paused_ && !reported_closed_) {
        std::string plaintext;
        const TlsEngine::Progress progress = tls_->advance(plaintext, detail::read_buffer_size);
        flush_tls_output();
        if (!progress.error.empty()) {
            fail_tls(progress.error);
            return;
        }
        if (progress.handshake_completed) {
            tls_ready_ = true;
            if (handler_) handler_->on_tls_ready();
            if (box->owner != this) return;
        }
        if (!plaintext.empty() && handler_) {
            handler_->on_data(plaintext);
            if (box->owner != this) return;
        }
        if (progress.peer_closed) {
            fail("peer closed");
            return;
        }
        if (plaintext.empty() && !progress.handshake_completed) return;
    }
}

void TcpStream::flush_tls_output() {
    tls_->consume_output(write_now(tls_->output()));
    if (!tls_->output().empty()) queue_write(tls_->take_output());
}

void TcpStream::start_tls_server(std::shared_ptr<TlsServerContext> context, std::string_view received) {
    tls_ = TlsEngine::server(std::move(context));
    if (!received.empty()) {
        tls_->receive(received);
        defer_if_alive([](TcpStream& self) { self.process_tls_input(); });
    }
}

void TcpStream::start_tls_client(std::shared_ptr<TlsClientContext> context, const std::string& server_name) {
    tls_ = TlsEngine::client(std::move(context), server_name);
    std::string no_plaintext_yet;
    const TlsEngine::Progress progress = tls_->advance(no_plaintext_yet, 0);  // emits the ClientHello
    flush_tls_output();
    if (!progress.error.empty()) {
        defer_if_alive([reason = progress.error](TcpStream& self) { self.fail_tls(reason); });
    }
}

void TcpStream::close() {
    if (phase_ != Phase::open) return;
    if (tls_ && tls_->established()) {
        tls_->close_notify();
        flush_tls_output();
    }
    start_shutdown("closed");
}

void TcpStream::abort() {
    if (phase_ == Phase::closed) return;
    fail(close_reason_.empty() ? "aborted" : close_reason_);
}

void TcpStream::start_shutdown(std::string reason) {
    if (phase_ != Phase::open) return;
    phase_ = Phase::shutting_down;
    close_reason_ = std::move(reason);
    update_reading();
    // The shutdown callback runs once every queued write has reached the kernel
    // (or with UV_ECANCELED when the handle closes first); it frees the request.
    auto* request = new uv_shutdown_t;
    if (!box_ || uv_shutdown(request, raw_stream(), on_shutdown_cb) != 0) {
        delete request;
        defer_if_alive([](TcpStream& self) { self.finish_close(); });
    }
}

void TcpStream::on_shutdown_cb(uv_shutdown_t* request, int) {
    detail::StreamBox* box = box_of(reinterpret_cast<uv_handle_t*>(request->handle));
    delete request;
    if (box->owner) box->owner->finish_close();
}

void TcpStream::finish_close() {
    if (phase_ == Phase::closed) return;
    phase_ = Phase::closed;
    if (box_) detail::close_and_delete(reinterpret_cast<uv_handle_t*>(&box_->tcp));
    report_closed(close_reason_);
}

void TcpStream::fail(std::string reason) {
    if (phase_ == Phase::closed) return;
    phase_ = Phase::closed;
    update_reading();
    if (box_) detail::close_and_delete(reinterpret_cast<uv_handle_t*>(&box_->tcp));
    report_closed(reason);
}

void TcpStream::fail_tls(const std::string& reason) {
    // Report first so no plaintext can follow, then let the alert go out.
    detail::StreamBox* box = box_;
    report_closed(reason);
    if (box && box->owner == this) start_shutdown(reason);
}

void TcpStream::report_closed(const std::string& reason) {
    if (reported_closed_) return;
    reported_closed_ = true;
    update_reading();
    if (handler_) handler_->on_closed(reason);
}

void TcpStream::defer_if_alive(std::function<void(TcpStream&)> fn) {
    if (!box_) return;
    if (!self_) self_ = std::make_shared<TcpStream*>(this);
    std::weak_ptr<TcpStream*> weak = self_;
    detail::defer_on(box_->tcp.loop, [weak, fn = std::move(fn)] {
        if (auto self = weak.lock()) fn(**self);
    });
}

}  // namespace imapfront::net
