// LoginAttempt: the backend link of a LOGIN or AUTHENTICATE while it
// connects and logs in. It hears that link's events and reports one
// outcome: the logged-in link, handed over, or the failure.
#pragma once

#include "proxy/session/backend_link.h"

#include <memory>
#include <string>

namespace imapfront::session {

class LoginAttemptOwner {
public:
    virtual void on_login_succeeded(std::unique_ptr<BackendLink> link) = 0;
    virtual void on_login_failed(const std::string& backend_name, const Failure& failure) = 0;

protected:
    ~LoginAttemptOwner() = default;
};

class LoginAttempt final : private BackendLinkOwner {
public:
    LoginAttempt(net::EventLoop& loop, admin::Metrics& metrics, LoginAttemptOwner& owner, std::string tag,
                 LinkTarget target);
    ~LoginAttempt() override;
    LoginAttempt(const LoginAttempt&) = delete;
    LoginAttempt& operator=(const LoginAttempt&) = delete;

    void start();
    // The session closes: the link is logged out and reports nothing more.
    void abandon();
    // The client's tag, under which the login is answered.
    const std::string& tag() const { return tag_; }
    const BackendLink* link() const { return link_.get(); }

private:
    void on_link_ready(BackendLink& link) override;
    void on_link_failed(BackendLink& link, const Failure& failure) override;
    void on_link_response(BackendLink&, const imap::ResponseEvent&) override {}
    void on_link_closed(BackendLink& link, std::string_view reason) override;
    void on_link_drained(BackendLink&) override {}
    void on_link_input_done(BackendLink&) override {}

    LoginAttemptOwner& owner_;
    std::string tag_;
    std::unique_ptr<BackendLink> link_;
};

}  // namespace imapfront::session
