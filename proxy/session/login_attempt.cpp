#include "proxy/session/login_attempt.h"

#include <utility>

namespace imapfront::session {

LoginAttempt::LoginAttempt(net::EventLoop& loop, admin::Metrics& metrics, LoginAttemptOwner& owner, std::string tag,
                           LinkTarget target)
    : owner_(owner),
      tag_(std::move(tag)),
      link_(std::make_unique<BackendLink>(loop, metrics, static_cast<BackendLinkOwner&>(*this), std::move(target))) {}

LoginAttempt::~LoginAttempt() {
    if (link_) link_->logout();
}

void LoginAttempt::start() { link_->start(); }

void LoginAttempt::abandon() {
    if (link_) link_->logout();
}

void LoginAttempt::on_link_ready(BackendLink&) { owner_.on_login_succeeded(std::move(link_)); }

void LoginAttempt::on_link_failed(BackendLink& link, const Failure& failure) {
    owner_.on_login_failed(link.backend_name(), failure);
}

void LoginAttempt::on_link_closed(BackendLink& link, std::string_view reason) {
    // Only a logged-in link reports a close, and it is handed over by then.
    on_link_failed(link, {FailureKind::Connect, std::string(reason), {}});
}

}  // namespace imapfront::session
