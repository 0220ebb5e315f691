#include "proxy/session/backend_link.h"

#include "proxy/admin/metrics.h"
#include "proxy/net/tls_context.h"
#include "proxy/session/internal_tags.h"

#include <utility>
#include <vector>

namespace imapfront::session {

namespace {

// Every link to a backend hears the same capability list after login: links
// on one thread share a copy instead of holding ~400 bytes each. The few
// lists a thread sees are kept for its lifetime; past that they go unshared.
std::shared_ptr<const std::string> shared_capabilities(std::string list) {
    constexpr std::size_t max_kept = 32;
    thread_local std::vector<std::shared_ptr<const std::string>> kept;
    for (const auto& known : kept) {
        if (*known == list) return known;
    }
    auto made = std::make_shared<const std::string>(std::move(list));
    if (kept.size() < max_kept) kept.push_back(made);
    return made;
}

}  // namespace

BackendLink::BackendLink(net::EventLoop& loop, admin::Metrics& metrics, BackendLinkOwner& owner, LinkTarget target)
    : loop_(loop),
      metrics_(metrics.backend(target.backend->name)),
      owner_(&owner),
      identity_(std::move(target.identity)),
      backend_(target.backend),
      timeout_(loop),
      setup_(std::make_unique<Setup>(Setup{std::move(target.tls),
                                           target.timeout,
                                           std::move(target.proxy_header),
                                           BackendLogin(std::move(target.plan)),
                                           {}})) {
    metrics_.connections.add(1);
}

BackendLink::~BackendLink() {
    if (stream_) stream_->set_handler(nullptr);
    metrics_.connections.add(-1);
}

void BackendLink::start() {
    timeout_.start(setup_->timeout, [this] {
        fail({FailureKind::Connect, "backend did not complete login in time", {}});
    });
    const auto& address = backend_->address;
    connect_ = std::make_unique<net::TcpConnect>(loop_, address.host, address.port,
                                                 [this](std::unique_ptr<net::Stream> stream, std::string error) {
                                                     on_connected(std::move(stream), std::move(error));
                                                 });
}

void BackendLink::on_connected(std::unique_ptr<net::Stream> stream, std::string error) {
    // The connector is inside its own callback: free it once the stack unwinds.
    loop_.defer([finished = std::shared_ptr<net::TcpConnect>(std::move(connect_))] {});
    if (!stream) {
        fail({FailureKind::Connect, std::move(error), {}});
        return;
    }
    stream_ = std::move(stream);
    stream_->set_handler(this);
    if (!setup_->proxy_header.empty()) stream_->write(std::exchange(setup_->proxy_header, {}));
    if (backend_->tls == config::TlsMode::Implicit) {
        phase_ = Phase::Handshake;
        stream_->start_tls_client(setup_->tls, backend_->server_name);
    } else {
        phase_ = Phase::LoggingIn;
    }
}

void BackendLink::on_tls_ready() {
    if (phase_ == Phase::Handshake) {
        phase_ = Phase::LoggingIn;
        return;
    }
    if (phase_ == Phase::LoggingIn) apply(setup_->login.on_tls_ready());
}

void BackendLink::on_data(std::string_view bytes) {
    if (phase_ == Phase::LoggingIn) {
        login_bytes(bytes);
        return;
    }
    if (phase_ != Phase::Ready) return;
    while (!bytes.empty() && phase_ == Phase::Ready) {
        const imap::ResponseEvent event = framer_.next(bytes);
        bytes.remove_prefix(event.consumed);
        if (event.kind == imap::ResponseEvent::Kind::NeedMore) break;
        owner_->on_link_response(*this, event);
    }
    if (phase_ == Phase::Ready) owner_->on_link_input_done(*this);
}

void BackendLink::login_bytes(std::string_view bytes) {
    while (!bytes.empty() && phase_ == Phase::LoggingIn) {
        const imap::ResponseEvent event = framer_.next(bytes);
        bytes.remove_prefix(event.consumed);
        switch (event.kind) {
        case imap::ResponseEvent::Kind::NeedMore: return;
        case imap::ResponseEvent::Kind::Error:
            fail({FailureKind::Protocol, "malformed response during login", {}});
            return;
        case imap::ResponseEvent::Kind::LiteralData: break;  // login replies carry nothing we need in literals
        case imap::ResponseEvent::Kind::Line:
            setup_->reply_line.append(event.data);
            if (event.response_complete) {
                const std::string line = std::exchange(setup_->reply_line, {});
                apply(setup_->login.on_line(line));
            }
            break;
        }
    }
    if (phase_ == Phase::Ready && !bytes.empty()) on_data(bytes);
}

void BackendLink::apply(LoginStep step) {
    switch (step.kind) {
    case LoginStep::Kind::Wait: return;
    case LoginStep::Kind::Send: stream_->write(std::move(step.bytes)); return;
    case LoginStep::Kind::StartTls:
        if (!setup_->tls) {
            fail({FailureKind::Tls, "no TLS context for backend", {}});
            return;
        }
        stream_->start_tls_client(setup_->tls, backend_->server_name);
        return;
    case LoginStep::Kind::Done:
        timeout_.stop();
        capabilities_ = shared_capabilities(std::move(step.capabilities));
        // An idle link keeps neither the password nor the login's buffers.
        setup_.reset();
        phase_ = Phase::Ready;
        owner_->on_link_ready(*this);
        return;
    case LoginStep::Kind::Failed: fail(std::move(step.failure)); return;
    }
}

void BackendLink::fail(Failure failure) {
    if (phase_ == Phase::Closed) return;
    const bool was_ready = phase_ == Phase::Ready;
    phase_ = Phase::Closed;
    timeout_.stop();
    if (stream_) {
        stream_->set_handler(nullptr);
        stream_->close();
    }
    if (was_ready) {
        owner_->on_link_closed(*this, failure.detail);
    } else {
        owner_->on_link_failed(*this, failure);
    }
}

void BackendLink::on_closed(std::string_view reason) {
    const bool tls_phase = phase_ == Phase::Handshake;
    fail(
        {tls_phase ? FailureKind::Tls : FailureKind::Connect, "backend connection closed: " + std::string(reason), {}});
}

void BackendLink::on_drained() { owner_->on_link_drained(*this); }

void BackendLink::write(std::string bytes) {
    if (stream_ && phase_ == Phase::Ready) stream_->write(std::move(bytes));
}

void BackendLink::write_view(std::string_view bytes) {
    if (stream_ && phase_ == Phase::Ready) stream_->write_view(bytes);
}

const std::string& BackendLink::capabilities() const {
    static const std::string none;
    return capabilities_ ? *capabilities_ : none;
}

bool BackendLink::above_high_watermark() const { return stream_ && stream_->above_high_watermark(); }

void BackendLink::pause_reading() {
    if (stream_) stream_->pause_reading();
}

void BackendLink::resume_reading() {
    if (stream_) stream_->resume_reading();
}

void BackendLink::logout() {
    if (!stream_ || phase_ == Phase::Closed) return;
    stream_->set_handler(nullptr);
    if (phase_ == Phase::Ready) stream_->write(std::string(internal_logout));
    phase_ = Phase::Closed;
    timeout_.stop();
    stream_->close();
}

void BackendLink::abort() {
    if (!stream_ || phase_ == Phase::Closed) return;
    stream_->set_handler(nullptr);
    phase_ = Phase::Closed;
    timeout_.stop();
    stream_->abort();
}

}  // namespace imapfront::session
