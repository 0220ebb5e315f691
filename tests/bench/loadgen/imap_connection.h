#pragma once

#include "event_loop.h"
#include "tls_client.h"

#include <cstdint>
#include <functional>
#include <string>

namespace loadgen {

struct Endpoint {
    std::string host = "127.0.0.1";
    std::uint16_t port = 0;
    TlsClient* tls = nullptr;  // null for plaintext
    std::string server_name = "imap.bench.test";
};

// One IMAP client connection on the event loop, one command in flight at a
// time. Responses are framed just enough to find tagged replies: literals
// are counted and skipped, never copied, so a 20 MiB FETCH costs the client
// little more than its reads.
class ImapConnection : public Pollable {
public:
    using Done = std::function<void(bool ok)>;  // ok: greeting "* OK" / tagged OK
    using Failed = std::function<void(const std::string& why)>;

    explicit ImapConnection(EventLoop& loop) : loop_(loop) {}
    ~ImapConnection() override;
    ImapConnection(const ImapConnection&) = delete;
    ImapConnection& operator=(const ImapConnection&) = delete;

    // Connects (and handshakes); on_greeting fires on the server greeting.
    void open(const Endpoint& endpoint, Done on_greeting, Failed on_failure);
    // Sends "<tag> text" and calls on_done at the tagged reply.
    void command(const std::string& text, Done on_done);
    // For IDLE: called once at the next "+" continuation.
    void on_continuation(std::function<void()> callback) { on_continuation_ = std::move(callback); }
    void send_raw(const std::string& bytes);
    void close();

    bool is_open() const { return fd_ >= 0; }
    std::uint64_t literal_bytes() const { return literal_bytes_; }

    void on_events(std::uint32_t events) override;

private:
    enum class Phase { closed, connecting, handshaking, open };

    void fail(const std::string& why);
    void advance_handshake();
    void read_available();
    void consume(const char* data, std::size_t size);
    void handle_line();
    void flush();
    void update_interest();

    EventLoop& loop_;
    TlsClient* tls_ = nullptr;
    SSL* ssl_ = nullptr;
    int fd_ = -1;
    Phase phase_ = Phase::closed;
    bool greeted_ = false;
    bool want_write_ = false;
    bool in_literal_response_ = false;  // the line after a literal continues a response
    std::uint64_t literal_left_ = 0;
    std::uint64_t literal_bytes_ = 0;
    std::uint64_t next_tag_ = 0;
    std::string pending_tag_;
    std::string line_;
    std::string out_;
    Done on_greeting_;
    Done on_done_;
    Failed on_failure_;
    std::function<void()> on_continuation_;
};

}  // namespace loadgen
