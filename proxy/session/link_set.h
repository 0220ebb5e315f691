// LinkSet: the backend links of a logged-in session, one per identity, at
// most multiaccount.max_links. One of them is active (the relay hears its
// events); a switch target is heard by its AccountSwitch; the others are
// inactive and heard here: their unsolicited responses are dropped, they are
// kept alive with NOOP, and a close retires just that link.
//
// Internal commands (deselect, replays, keepalives) are sent through here
// under the session's own random tags; whoever hears the link hands their
// completions back with complete_internal().
#pragma once

#include "proxy/net/event_loop.h"
#include "proxy/session/backend_link.h"
#include "proxy/session/internal_tags.h"
#include "proxy/session/session_core.h"

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace imapfront::session {

class LinkSet final : private BackendLinkOwner {
public:
    LinkSet(SessionCore& core, net::EventLoop& loop, std::size_t max_links);
    ~LinkSet() override;
    LinkSet(const LinkSet&) = delete;
    LinkSet& operator=(const LinkSet&) = delete;

    // Takes a logged-in link (the login's) and makes it the active one.
    BackendLink& adopt_active(std::unique_ptr<BackendLink> link, BackendLinkOwner& listener);
    // Opens a link for `target`, heard by `listener` until it is activated
    // or retired; evicts the least recently used inactive link when full.
    BackendLink& open(LinkTarget target, BackendLinkOwner& listener);
    // `link` becomes the active one, heard by `listener`; the former active
    // link becomes inactive.
    void activate(BackendLink& link, BackendLinkOwner& listener);
    // Hands `link` back to the set as an inactive link.
    void deactivate(BackendLink& link);
    // Frees `link` once the current callback has unwound.
    void retire(BackendLink& link);

    BackendLink* active() const { return active_; }
    BackendLink* find(std::string_view identity_key) const;
    std::size_t size() const { return links_.size(); }

    void send_internal(BackendLink& link, std::string_view command, std::function<void(bool ok)> done);
    // True when `tag` was an internal command on `link` (its callback ran).
    bool complete_internal(BackendLink& link, std::string_view tag, std::string_view status);
    bool internal_tag(std::string_view tag) const { return tags_.owns(tag); }

    // The extensions ENABLEd on `link` so far (upper-case names); null when
    // `link` is not one of the set's.
    std::vector<std::string>* enabled_on(const BackendLink& link);

    void pause_reading();
    void resume_reading();
    // Every link is logged out (or, `abort`, closed without a word) and freed.
    void close_all(bool abort);

private:
    struct Entry {
        std::unique_ptr<BackendLink> link;
        std::vector<std::string> enabled;
    };
    struct InternalCommand {
        std::string tag;
        BackendLink* link = nullptr;
        std::function<void(bool ok)> done;
    };

    Entry* entry(const BackendLink& link);
    void make_room();
    void keep_inactive_links_alive();
    void schedule_keepalive();

    void on_link_ready(BackendLink&) override {}
    void on_link_failed(BackendLink& link, const Failure& failure) override;
    void on_link_response(BackendLink& link, const imap::ResponseEvent& event) override;
    void on_link_closed(BackendLink& link, std::string_view reason) override;
    void on_link_drained(BackendLink&) override {}
    void on_link_input_done(BackendLink&) override {}

    SessionCore& core_;
    net::EventLoop& loop_;
    std::size_t max_links_;
    std::vector<Entry> links_;  // least recently active first
    BackendLink* active_ = nullptr;
    std::vector<InternalCommand> internal_;
    InternalTags tags_;
    net::Timer keepalive_timer_;
};

}  // namespace imapfront::session
