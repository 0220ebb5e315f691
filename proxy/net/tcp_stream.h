// TcpStream: the Stream implementation over a connected uv_tcp_t, with an
// optional TlsEngine between the socket and the handler.
//
// The handle lives in a StreamBox on the heap, freed by the close callback.
// The box points back at its TcpStream while both exist; whichever goes first
// unhooks itself from the other, so no callback reaches a dead object.
#pragma once

#include "proxy/net/loop_internal.h"
#include "proxy/net/stream.h"
#include "proxy/net/tls_engine.h"

#include <functional>
#include <memory>
#include <string>

namespace imapfront::net {

class TcpStream;

namespace detail {

struct StreamBox : HandleBox {
    uv_tcp_t tcp{};
    TcpStream* owner = nullptr;
    ~StreamBox() override;
};

// An initialised, not yet connected TCP handle with data -> box.
StreamBox* new_stream_box(uv_loop_t* loop);

}  // namespace detail

class TcpStream final : public Stream {
public:
    // Takes over a connected handle (TCP_NODELAY is switched on here).
    explicit TcpStream(detail::StreamBox* box);
    ~TcpStream() override;
    TcpStream(const TcpStream&) = delete;
    TcpStream& operator=(const TcpStream&) = delete;

    void set_handler(StreamHandler* handler) override;
    void write(std::string bytes) override;
    void write_view(std::string_view bytes) override;
    std::size_t pending_write_bytes() const override;
    void pause_reading() override;
    void resume_reading() override;
    void start_tls_server(std::shared_ptr<TlsServerContext> context, std::string_view received) override;
    void start_tls_client(std::shared_ptr<TlsClientContext> context, const std::string& server_name) override;
    bool tls_active() const override { return tls_ready_; }
    std::string sni() const override { return tls_ready_ ? tls_->server_name() : std::string(); }
    void close() override;
    void abort() override;
    Endpoint peer() const override;
    Endpoint local() const override;

private:
    enum class Phase { open, shutting_down, closed };

    friend struct detail::StreamBox;
    static void on_read_cb(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf);
    static void on_write_cb(uv_write_t* request, int status);
    static void on_shutdown_cb(uv_shutdown_t* request, int status);

    void on_read(ssize_t nread, const uv_buf_t* buf);
    void on_write_done(int status);
    void process_tls_input();
    void flush_tls_output();
    // write() and write_view(): `owned`, when given, holds `bytes` and may be moved into the queue.
    void send(std::string_view bytes, std::string* owned);
    // Hands bytes to the kernel at once if nothing is queued; returns how many it took.
    std::size_t write_now(std::string_view bytes);
    void queue_write(std::string bytes);
    void update_reading();
    void start_shutdown(std::string reason);
    void finish_close();
    void fail(std::string reason);
    void fail_tls(const std::string& reason);
    void report_closed(const std::string& reason);
    void defer_if_alive(std::function<void(TcpStream&)> fn);
    uv_stream_t* raw_stream() const;

    detail::StreamBox* box_;  // null once the handle is freed
    StreamHandler* handler_ = nullptr;
    std::unique_ptr<TlsEngine> tls_;
    bool tls_ready_ = false;
    Phase phase_ = Phase::open;
    std::string close_reason_;
    bool reported_closed_ = false;
    bool paused_ = false;
    bool reading_ = false;
    bool above_high_ = false;
    std::shared_ptr<TcpStream*> self_;  // deferred calls hold weak_ptrs to it; made by the first one
};

}  // namespace imapfront::net
