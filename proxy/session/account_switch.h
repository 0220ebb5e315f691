// AccountSwitch: one SELECTA (draft-lu-imap-multi-account) on its way. It
// deselects the old mailbox without expunging, finds or opens the target
// identity's link (master credentials), hears that link until it is logged
// in, brings it up to the session's ID and ENABLEd extensions, and reports
// the result to the relay.
#pragma once

#include "proxy/session/backend_link.h"
#include "proxy/session/link_set.h"
#include "proxy/session/session_core.h"

#include <string>
#include <vector>

namespace imapfront::session {

class SwitchOwner {
public:
    virtual void on_switch_deselected() = 0;
    virtual void on_switch_done(BackendLink& target) = 0;
    virtual void on_switch_failed(std::string answer) = 0;

protected:
    ~SwitchOwner() = default;
};

// What a link must be brought up to before it serves the client.
struct ClientSetup {
    std::string id_arguments;          // the client's last ID, replayed on new links
    std::vector<std::string> enabled;  // extensions the client ENABLEd (upper-case)
};

class AccountSwitch final : private BackendLinkOwner {
public:
    AccountSwitch(SessionCore& core, LinkSet& links, SwitchOwner& owner, std::string tag, std::string identity);

    // The SELECTA's tag, under which the switch is answered.
    const std::string& tag() const { return tag_; }

    // `deselect`: a mailbox is selected on the active link and must be left first.
    void start(bool deselect, const ClientSetup& setup);

private:
    void to_target();
    void bring_up_to_date(BackendLink& link, bool new_link);
    void fail(std::string answer);

    void on_link_ready(BackendLink& link) override;
    void on_link_failed(BackendLink& link, const Failure& failure) override;
    void on_link_response(BackendLink& link, const imap::ResponseEvent& event) override;
    void on_link_closed(BackendLink& link, std::string_view reason) override;
    void on_link_drained(BackendLink&) override {}
    void on_link_input_done(BackendLink&) override {}

    SessionCore& core_;
    LinkSet& links_;
    SwitchOwner& owner_;
    std::string tag_;
    std::string identity_;  // config spelling
    ClientSetup setup_;
    int replays_pending_ = 0;
    bool finished_ = false;
};

}  // namespace imapfront::session
