// TlsEngine: one TLS connection as a pure state machine over a BIO of our
// own that reads from and writes to plain strings. Ciphertext goes in with
// receive() and comes out with output()/consume_output() or take_output();
// plaintext comes out of advance() and goes in with send(). No sockets, so
// tests can run a client engine against a server engine in memory; Stream
// wires one to a TCP connection.
//
// Why not OpenSSL's memory BIO: it zero-fills every byte it grows by and its
// bytes must be copied out again; here records land once in `output_`, the
// socket is written from there, and both buffers are freed whenever they run
// empty, so an idle connection holds no ciphertext memory.
#pragma once

#include "proxy/net/tls_context.h"

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

struct ssl_st;

namespace imapfront::net {

class TlsEngine {
public:
    static std::unique_ptr<TlsEngine> server(std::shared_ptr<TlsServerContext> context);
    // Verifies the peer's chain against the context's CA and its name against
    // `server_name` (a DNS name, also sent as SNI, or an IP literal).
    static std::unique_ptr<TlsEngine> client(std::shared_ptr<TlsClientContext> context, const std::string& server_name);
    ~TlsEngine();
    TlsEngine(const TlsEngine&) = delete;
    TlsEngine& operator=(const TlsEngine&) = delete;

    // Ciphertext from the peer.
    void receive(std::string_view ciphertext);

    struct Progress {
        bool handshake_completed = false;  // the handshake finished during this call
        bool peer_closed = false;          // the peer sent close_notify
        std::string error;                 // non-empty: fatal; the engine is dead
    };
    // Drives the handshake and appends at most `limit` decrypted bytes to
    // `plaintext`. Call again while has_input() to get the rest.
    Progress advance(std::string& plaintext, std::size_t limit);

    // Plaintext for the peer; held back until the handshake is done.
    void send(std::string_view plaintext);
    // Ciphertext to put on the wire (handshake messages, records, alerts):
    // look at it, then say how much went out...
    std::string_view output() const;
    void consume_output(std::size_t bytes);
    // ...or take all of it.
    std::string take_output();

    bool established() const { return established_; }
    bool failed() const { return !error_.empty(); }
    // Received ciphertext or decrypted plaintext still inside the engine.
    bool has_input() const;
    // Plaintext waiting for the handshake plus ciphertext not yet taken.
    std::size_t buffered_bytes() const;
    // Queues close_notify (after any held plaintext).
    void close_notify();
    // Server side: the SNI name the client sent, lower-cased; empty if none.
    std::string server_name() const;
    // The common name of the certificate the peer presented; empty if none.
    std::string peer_common_name() const;

private:
    // OpenSSL reaches the engine only through its BIO (tls_engine.cpp).
    friend struct TlsEngineBio;

    // The BIO's side: ciphertext for OpenSSL to read, records it wrote.
    std::size_t read_ciphertext(char* into, std::size_t capacity);
    void write_ciphertext(std::string_view record);
    std::size_t ciphertext_waiting() const { return input_.size() - input_offset_; }

    TlsEngine(std::shared_ptr<void> context, ssl_st* ssl);
    std::size_t write_plaintext(std::string_view plaintext);
    void flush_plaintext();
    std::string describe_failure(int ssl_error);

    std::shared_ptr<void> context_;  // keeps the SSL_CTX and SNI table alive
    ssl_st* ssl_;
    std::string input_;  // received ciphertext; [input_offset_, end) unread
    std::size_t input_offset_ = 0;
    std::string output_;  // ciphertext for the wire; [output_offset_, end) unsent
    std::size_t output_offset_ = 0;
    std::string held_plaintext_;
    bool established_ = false;
    bool closing_ = false;
    std::string error_;
};

}  // namespace imapfront::net
