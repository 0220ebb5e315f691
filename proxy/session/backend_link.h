// BackendLink: one connection from imapfront to a backend IMAP server, for
// one identity. It connects, does TLS, and runs BackendLogin; once logged in
// it frames the backend's responses and hands each framing event to its
// owner. The owner (the client session) decides what reaches the client.
#pragma once

#include "config/config.h"
#include "proxy/imap/response_framer.h"
#include "proxy/net/event_loop.h"
#include "proxy/net/stream.h"
#include "proxy/net/tcp.h"
#include "proxy/session/backend_login.h"

#include <chrono>
#include <memory>
#include <string>

namespace imapfront::net {
class TlsClientContext;
}

namespace imapfront::admin {
class Metrics;
struct BackendMetrics;
}  // namespace imapfront::admin

namespace imapfront::session {

class BackendLink;

class BackendLinkOwner {
public:
    virtual ~BackendLinkOwner() = default;
    virtual void on_link_ready(BackendLink& link) = 0;
    virtual void on_link_failed(BackendLink& link, const Failure& failure) = 0;
    virtual void on_link_response(BackendLink& link, const imap::ResponseEvent& event) = 0;
    virtual void on_link_closed(BackendLink& link, std::string_view reason) = 0;
    virtual void on_link_drained(BackendLink& link) = 0;
    // Every response event of one read has been handed over: time to flush.
    virtual void on_link_input_done(BackendLink& link) = 0;
};

struct LinkTarget {
    std::string identity;  // the identity this link is logged in as (config or client spelling)
    const config::Backend* backend = nullptr;
    std::shared_ptr<net::TlsClientContext> tls;  // null when the backend is plain
    LoginPlan plan;
    std::chrono::milliseconds timeout{10000};  // connect + TLS + login
    std::string proxy_header;                  // PROXY v2 header sent before anything else; empty: none
};

class BackendLink final : private net::StreamHandler {
public:
    BackendLink(net::EventLoop& loop, admin::Metrics& metrics, BackendLinkOwner& owner, LinkTarget target);
    ~BackendLink() override;
    BackendLink(const BackendLink&) = delete;
    BackendLink& operator=(const BackendLink&) = delete;

    void start();
    bool ready() const { return phase_ == Phase::Ready; }
    // Who hears this link's events from now on: the login attempt, then the
    // relay while it is the active link, an account switch while it is the
    // switch's target, the link set while it is inactive.
    void set_owner(BackendLinkOwner& owner) { owner_ = &owner; }

    void write(std::string bytes);
    void write_view(std::string_view bytes);
    bool above_high_watermark() const;
    void pause_reading();
    void resume_reading();
    // Sends LOGOUT and closes once written; no callback fires afterwards.
    void logout();
    // Closes without a word, for a link left in the middle of a command;
    // no callback fires afterwards.
    void abort();

    const std::string& identity() const { return identity_; }
    const std::string& backend_name() const { return backend_->name; }
    // The backend's capability list after login, as the backend sent it; empty before.
    const std::string& capabilities() const;

private:
    enum class Phase { Connecting, Handshake, LoggingIn, Ready, Closed };

    // What the link needs only until it is logged in; freed then.
    struct Setup {
        std::shared_ptr<net::TlsClientContext> tls;
        std::chrono::milliseconds timeout;
        std::string proxy_header;
        BackendLogin login;
        std::string reply_line;  // a login reply line, collected across literal chunks
    };

    void on_connected(std::unique_ptr<net::Stream> stream, std::string error);
    void on_data(std::string_view bytes) override;
    void on_closed(std::string_view reason) override;
    void on_tls_ready() override;
    void on_drained() override;

    void login_bytes(std::string_view bytes);
    void apply(LoginStep step);
    void fail(Failure failure);

    net::EventLoop& loop_;
    admin::BackendMetrics& metrics_;
    BackendLinkOwner* owner_;
    std::string identity_;
    const config::Backend* backend_;
    Phase phase_ = Phase::Connecting;
    std::unique_ptr<net::TcpConnect> connect_;
    std::unique_ptr<net::Stream> stream_;
    net::Timer timeout_;
    std::unique_ptr<Setup> setup_;  // null once logged in
    imap::ResponseFramer framer_;
    std::shared_ptr<const std::string> capabilities_;
};

}  // namespace imapfront::session
