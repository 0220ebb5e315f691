#include "proxy/net/tcp.h"
#include "proxy/net/tls_context.h"

#include "net_test_support.h"

#include <catch2/catch.hpp>

using namespace imapfront::net;
using namespace std::chrono_literals;
using testing::tls_file;

namespace {

char pattern_byte(std::size_t offset) { return static_cast<char>((offset * 131 + offset / 7919) & 0xff); }

// Echoes with backpressure: reading stops while its own output is above the
// high watermark and resumes on on_drained.
struct Echo : StreamHandler {
    std::unique_ptr<Stream> stream;
    int pauses = 0;
    int drains = 0;
    std::function<void()> paused_hook;

    void on_data(std::string_view bytes) override {
        stream->write(std::string(bytes));
        if (stream->above_high_watermark()) {
            ++pauses;
            stream->pause_reading();
            if (paused_hook) paused_hook();
        }
    }
    void on_closed(std::string_view) override {}
    void on_drained() override {
        ++drains;
        stream->resume_reading();
    }
};

// Sends `total` pattern bytes as fast as the watermarks allow and checks
// every echoed byte in order.
struct Sender : StreamHandler {
    EventLoop& loop;
    Stream* stream = nullptr;
    std::size_t total;
    std::size_t sent = 0;
    std::size_t received = 0;
    std::size_t first_mismatch = std::string::npos;
    int drains = 0;
    std::string closed_reason;

    Sender(EventLoop& l, std::size_t t) : loop(l), total(t) {}

    // Not reading until the echo has paused forces its output past the high
    // watermark (20 MiB is more than the kernel's socket buffers hold).
    void start() {
        stream->pause_reading();
        pump();
    }

    void pump() {
        while (sent < total && !stream->above_high_watermark()) {
            std::string chunk(std::min<std::size_t>(64 * 1024, total - sent), '\0');
            for (char& c : chunk) c = pattern_byte(sent++);
            stream->write(std::move(chunk));
        }
    }
    void on_data(std::string_view bytes) override {
        for (char c : bytes) {
            if (first_mismatch == std::string::npos && c != pattern_byte(received)) first_mismatch = received;
            ++received;
        }
        if (received >= total) loop.stop();
    }
    void on_closed(std::string_view reason) override {
        closed_reason = reason;
        loop.stop();
    }
    void on_tls_ready() override { start(); }
    void on_drained() override {
        ++drains;
        pump();
    }
};

struct Transfer {
    std::shared_ptr<TlsServerContext> server_tls;
    std::shared_ptr<TlsClientContext> client_tls;
};

void run_transfer(std::size_t total, const Transfer& tls) {
    EventLoop loop;
    Echo echo;
    TcpListener listener(loop, "127.0.0.1", 0, [&](std::unique_ptr<Stream> s) {
        echo.stream = std::move(s);
        if (tls.server_tls) echo.stream->start_tls_server(tls.server_tls);
        echo.stream->set_handler(&echo);
    });
    Sender sender(loop, total);
    echo.paused_hook = [&] { sender.stream->resume_reading(); };
    std::unique_ptr<Stream> client;
    TcpConnect connect(loop, "127.0.0.1", listener.port(), [&](std::unique_ptr<Stream> s, std::string error) {
        REQUIRE(error.empty());
        client = std::move(s);
        sender.stream = client.get();
        client->set_handler(&sender);
        if (tls.client_tls) {
            client->start_tls_client(tls.client_tls, "localhost");
        } else {
            sender.start();
        }
    });
    REQUIRE(testing::run_until_stopped(loop, 30s));
    CHECK(sender.closed_reason.empty());
    CHECK(sender.sent == total);
    CHECK(sender.received == total);
    CHECK(sender.first_mismatch == std::string::npos);
    CHECK(echo.pauses >= 1);
    CHECK(echo.drains == echo.pauses);
    CHECK(sender.drains >= 1);
}

}  // namespace

TEST_CASE("20 MiB echo with pause, resume and drained notifications", "[net][bulk]") {
    run_transfer(20 * 1024 * 1024, {});
}

TEST_CASE("20 MiB echo over TLS with backpressure", "[net][bulk][tls]") {
    run_transfer(20 * 1024 * 1024, {TlsServerContext::create({{tls_file("abcd.pem"), tls_file("abcd.key")}}),
                                    TlsClientContext::create(tls_file("ca.pem"))});
}
