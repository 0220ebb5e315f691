#include "proxy/session/link_set.h"

#include "proxy/admin/metrics.h"
#include "proxy/imap/status_line.h"
#include "proxy/session/session_host.h"
#include "routing/identity.h"

#include <algorithm>
#include <utility>

namespace imapfront::session {
namespace {

// Backends log idle sessions out after 30 minutes (RFC 3501's minimum);
// inactive links say NOOP well before that.
constexpr std::chrono::minutes keepalive_interval{4};

}  // namespace

LinkSet::LinkSet(SessionCore& core, net::EventLoop& loop, std::size_t max_links)
    : core_(core),
      loop_(loop),
      max_links_(max_links),
      keepalive_timer_(loop) {}

LinkSet::~LinkSet() { close_all(false); }

BackendLink& LinkSet::adopt_active(std::unique_ptr<BackendLink> link, BackendLinkOwner& listener) {
    links_.push_back({std::move(link), {}});
    BackendLink& adopted = *links_.back().link;
    activate(adopted, listener);
    return adopted;
}

BackendLink& LinkSet::open(LinkTarget target, BackendLinkOwner& listener) {
    make_room();
    links_.push_back({std::make_unique<BackendLink>(loop_, core_.context().metrics, listener, std::move(target)), {}});
    BackendLink& link = *links_.back().link;
    link.start();
    schedule_keepalive();
    return link;
}

void LinkSet::activate(BackendLink& link, BackendLinkOwner& listener) {
    if (active_ && active_ != &link) active_->set_owner(*this);
    active_ = &link;
    link.set_owner(listener);
    // Most recently active last: make_room() evicts from the front.
    const auto it = std::find_if(links_.begin(), links_.end(), [&](const Entry& e) { return e.link.get() == &link; });
    if (it != links_.end()) std::rotate(it, it + 1, links_.end());
}

void LinkSet::deactivate(BackendLink& link) {
    if (active_ == &link) active_ = nullptr;
    link.set_owner(*this);
}

void LinkSet::retire(BackendLink& link) {
    const auto it = std::find_if(links_.begin(), links_.end(), [&](const Entry& e) { return e.link.get() == &link; });
    if (it == links_.end()) return;
    if (active_ == &link) active_ = nullptr;
    std::erase_if(internal_, [&](const InternalCommand& command) { return command.link == &link; });
    // The link may be inside one of its own callbacks: free it once the stack unwinds.
    loop_.defer([retired = std::shared_ptr<BackendLink>(std::move(it->link))] {});
    links_.erase(it);
}

BackendLink* LinkSet::find(std::string_view identity_key) const {
    for (const Entry& e : links_) {
        if (routing::identity_key(e.link->identity()) == identity_key) return e.link.get();
    }
    return nullptr;
}

LinkSet::Entry* LinkSet::entry(const BackendLink& link) {
    for (Entry& e : links_) {
        if (e.link.get() == &link) return &e;
    }
    return nullptr;
}

std::vector<std::string>* LinkSet::enabled_on(const BackendLink& link) {
    Entry* found = entry(link);
    return found ? &found->enabled : nullptr;
}

void LinkSet::make_room() {
    while (links_.size() >= max_links_) {
        const auto victim =
            std::find_if(links_.begin(), links_.end(), [&](const Entry& e) { return e.link.get() != active_; });
        if (victim == links_.end()) return;
        BackendLink& link = *victim->link;
        link.logout();
        retire(link);
    }
}

void LinkSet::send_internal(BackendLink& link, std::string_view command, std::function<void(bool ok)> done) {
    std::string tag = tags_.next();
    link.write(tag + " " + std::string(command) + "\r\n");
    internal_.push_back({std::move(tag), &link, std::move(done)});
}

bool LinkSet::complete_internal(BackendLink& link, std::string_view tag, std::string_view status) {
    const auto it = std::find_if(internal_.begin(), internal_.end(), [&](const InternalCommand& command) {
        return command.link == &link && command.tag == tag;
    });
    if (it == internal_.end()) return false;
    std::function<void(bool)> done = std::move(it->done);
    internal_.erase(it);
    if (done) done(imap::iequals(status, "OK"));
    return true;
}

void LinkSet::keep_inactive_links_alive() {
    for (const Entry& e : links_) {
        if (e.link.get() != active_ && e.link->ready()) send_internal(*e.link, "NOOP", {});
    }
    schedule_keepalive();
}

void LinkSet::schedule_keepalive() {
    // With one link there is nothing inactive to keep alive: no timer at all.
    if (links_.size() > 1 && !keepalive_timer_.pending()) {
        keepalive_timer_.start(keepalive_interval, [this] { keep_inactive_links_alive(); });
    }
}

void LinkSet::pause_reading() {
    for (const Entry& e : links_) e.link->pause_reading();
}

void LinkSet::resume_reading() {
    for (const Entry& e : links_) e.link->resume_reading();
}

void LinkSet::close_all(bool abort) {
    keepalive_timer_.stop();
    internal_.clear();
    for (const Entry& e : links_) {
        if (abort) {
            e.link->abort();
        } else {
            e.link->logout();
        }
    }
    active_ = nullptr;
    if (links_.empty()) return;
    // A link may be inside one of its own callbacks: free them once the stack unwinds.
    auto closed = std::make_shared<std::vector<Entry>>(std::move(links_));
    links_.clear();
    loop_.defer([closed] {});
}

void LinkSet::on_link_failed(BackendLink& link, const Failure& failure) {
    if (blames_backend(failure)) {
        core_.context().host.backend_failed(link.backend_name());
        core_.context().metrics.backend(link.backend_name()).connect_failures.add();
    }
    retire(link);
}

void LinkSet::on_link_response(BackendLink& link, const imap::ResponseEvent& event) {
    // An inactive link's unsolicited updates concern a mailbox the client does
    // not see: dropped. Only our own commands' completions matter.
    if (event.kind != imap::ResponseEvent::Kind::Line || !event.response_complete) return;
    if (event.type == imap::ResponseType::Tagged) complete_internal(link, event.tag, event.status);
}

void LinkSet::on_link_closed(BackendLink& link, std::string_view reason) {
    core_.log(LogLevel::Info, "inactive_link_closed", {{"link_identity", link.identity()}, {"reason", reason}});
    retire(link);
}

}  // namespace imapfront::session
