// Stream: one TCP connection, optionally with TLS on top (an OpenSSL engine
// over memory BIOs). The session sees plaintext bytes only.
//
// Ownership: the Stream object has one owner. Destroying it detaches the
// handler at once (no callback fires afterwards) and closes the socket; the
// libuv handle and in-flight write requests are freed by their own callbacks.
// Writes own their bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace imapfront::net {

class EventLoop;
class TlsServerContext;
class TlsClientContext;

class StreamHandler {
public:
    virtual ~StreamHandler() = default;
    // Plaintext bytes from the peer. The view is valid during the call only.
    virtual void on_data(std::string_view bytes) = 0;
    // The connection is gone (peer closed, I/O or TLS error, close() done).
    // Fires at most once; nothing fires after it.
    virtual void on_closed(std::string_view reason) = 0;
    // TLS handshake finished (both directions).
    virtual void on_tls_ready() {}
    // Pending write bytes fell to the low watermark after being above the high one.
    virtual void on_drained() {}
};

struct Endpoint {
    std::string ip;
    std::uint16_t port = 0;
};

class Stream {
public:
    static constexpr std::size_t high_watermark = 1024 * 1024;
    static constexpr std::size_t low_watermark = 256 * 1024;

    virtual ~Stream() = default;

    virtual void set_handler(StreamHandler* handler) = 0;
    virtual void write(std::string bytes) = 0;
    // Writes bytes the caller keeps: sent straight from the caller's buffer
    // when the socket takes them at once, copied only for what must wait.
    virtual void write_view(std::string_view bytes) = 0;
    // Bytes accepted by write() and not yet handed to the kernel (TLS overhead included).
    virtual std::size_t pending_write_bytes() const = 0;
    bool above_high_watermark() const { return pending_write_bytes() > high_watermark; }

    virtual void pause_reading() = 0;
    virtual void resume_reading() = 0;

    // Server side: bytes received from now on are TLS. Call right after writing
    // the STARTTLS OK (it is sent in plaintext first); plaintext the caller
    // has not processed yet must be dropped by the caller. `received` is TLS
    // data that already arrived (after a PROXY header, in the same read).
    virtual void start_tls_server(std::shared_ptr<TlsServerContext> context, std::string_view received = {}) = 0;
    // Client side: sends the ClientHello; verifies the peer's certificate for `server_name`.
    virtual void start_tls_client(std::shared_ptr<TlsClientContext> context, const std::string& server_name) = 0;
    virtual bool tls_active() const = 0;  // handshake complete
    virtual std::string sni() const = 0;  // server side: SNI name the client sent, lower-cased

    // Flushes pending writes, then closes; on_closed follows.
    virtual void close() = 0;
    // Closes at once, dropping writes the peer has not taken (a peer that
    // stops reading must not hold the connection open); on_closed follows.
    virtual void abort() = 0;

    // Asked of the socket each time (sessions need them once, so streams do
    // not keep copies); empty once the connection is closed.
    virtual Endpoint peer() const = 0;
    virtual Endpoint local() const = 0;
};

}  // namespace imapfront::net
