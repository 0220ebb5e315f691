#include "proxy/session/backend_link.h"

#include "proxy/admin/metrics.h"
#include "proxy/net/tls_context.h"

#include <utility>

namespace imapfront::session {

BackendLink::BackendLink(net::EventLoop& loop, BackendLinkOwner& owner, LinkTarget target)
    : loop_(loop), owner_(owner), target_(std::move(target)), timeout_(loop), login_(target_.plan) {
    admin::Metrics::global().backend(target_.backend->name).connections.add(1);
}

BackendLink::~BackendLink() {
    if (stream_) stream_->set_handler(nullptr);
    admin::Metrics::global().backend(target_.backend->name).connections.add(-1);
}

void BackendLink::start() {
    timeout_.start(target_.timeout, [this] {
        fail({FailureKind::Connect, "backend did not complete login in time", {}});
    });
    const auto& address = target_.backend->address;
    connect_ = std::make_unique<net::TcpConnect>(
        loop_, address.host, address.port,
        [this](std::unique_ptr<net::Stream> stream, std::string error) { on_connected(std::move(stream), std::move(error)); });
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
    if (!target_.proxy_header.empty()) stream_->write(std::exchange(target_.proxy_header, {}));
    if (target_.backend->tls == config::TlsMode::Implicit) {
        phase_ = Phase::Handshake;
        stream_->start_tls_client(target_.tls, target_.backend->server_name);
    } else {
        phase_ = Phase::LoggingIn;
    }
}

void BackendLink::on_tls_ready() {
    if (phase_ == Phase::Handshake) {
        phase_ = Phase::LoggingIn;
        return;
    }
    if (phase_ == Phase::LoggingIn) apply(login_.on_tls_ready());
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
        owner_.on_link_response(*this, event);
    }
    if (phase_ == Phase::Ready) owner_.on_link_input_done(*this);
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
            login_line_.append(event.data);
            if (event.response_complete) {
                const std::string line = std::exchange(login_line_, {});
                apply(login_.on_line(line));
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
        if (!target_.tls) {
            fail({FailureKind::Tls, "no TLS context for backend", {}});
            return;
        }
        stream_->start_tls_client(target_.tls, target_.backend->server_name);
        return;
    case LoginStep::Kind::Done:
        timeout_.stop();
        capabilities_ = std::move(step.capabilities);
        phase_ = Phase::Ready;
        owner_.on_link_ready(*this);
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
        owner_.on_link_closed(*this, failure.detail);
    } else {
        owner_.on_link_failed(*this, failure);
    }
}

void BackendLink::on_closed(std::string_view reason) {
    const bool tls_phase = phase_ == Phase::Handshake;
    fail({tls_phase ? FailureKind::Tls : FailureKind::Connect, "backend connection closed: " + std::string(reason), {}});
}

void BackendLink::on_drained() { owner_.on_link_drained(*this); }

void BackendLink::write(std::string bytes) {
    if (stream_ && phase_ == Phase::Ready) stream_->write(std::move(bytes));
}

void BackendLink::write_view(std::string_view bytes) {
    if (stream_ && phase_ == Phase::Ready) stream_->write_view(bytes);
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
    if (phase_ == Phase::Ready) stream_->write("ifq LOGOUT\r\n");
    phase_ = Phase::Closed;
    timeout_.stop();
    stream_->close();
}

}  // namespace imapfront::session
