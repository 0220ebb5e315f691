#include "proxy/session/account_switch.h"

#include "proxy/admin/metrics.h"
#include "proxy/imap/capabilities.h"
#include "proxy/session/internal_tags.h"
#include "proxy/session/link_target.h"
#include "proxy/session/session_host.h"
#include "routing/identity.h"
#include "routing/route.h"

#include <algorithm>
#include <utility>

namespace imapfront::session {
namespace {

constexpr std::string_view unavailable = "NO [UNAVAILABLE] SELECTA failure: backend of that identity unavailable";

std::string strip_line_end(std::string_view text) {
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.remove_suffix(1);
    return std::string(text);
}

// An argument list that can be replayed in one line (no literal inside).
bool single_line(std::string_view arguments) { return arguments.find_first_of("\r\n") == std::string_view::npos; }

// A mailbox name no server has: EXAMINE of it fails and, as RFC 3501 6.3.2
// says of a failed EXAMINE, leaves no mailbox selected.
std::string impossible_mailbox() { return "\"imapfront-deselect-" + std::to_string(thread_random()) + "\""; }

}  // namespace

AccountSwitch::AccountSwitch(SessionCore& core, LinkSet& links, SwitchOwner& owner, std::string tag,
                             std::string identity)
    : core_(core),
      links_(links),
      owner_(owner),
      tag_(std::move(tag)),
      identity_(std::move(identity)) {}

void AccountSwitch::start(bool deselect, const ClientSetup& setup) {
    setup_ = setup;
    BackendLink* active = links_.active();
    if (!deselect || !active) {
        to_target();
        return;
    }
    // Never CLOSE: it would expunge messages flagged \Deleted.
    const std::string command = imap::has_capability(active->capabilities(), "UNSELECT")
                                    ? std::string("UNSELECT")
                                    : "EXAMINE " + impossible_mailbox();
    links_.send_internal(*active, command, [this](bool) {
        owner_.on_switch_deselected();
        to_target();
    });
}

void AccountSwitch::to_target() {
    if (BackendLink* open = links_.find(routing::identity_key(identity_)); open && open->ready()) {
        bring_up_to_date(*open, false);
        return;
    }
    const SessionContext& context = core_.context();
    SessionHost& host = context.host;
    const auto is_up = [&host](const std::string& backend) { return host.backend_up(backend); };
    const routing::Route route = routing::route_identity(context.config, identity_, is_up);
    if (route.error != routing::RouteError::None || !route.pool->master) {
        fail("NO [UNAVAILABLE] SELECTA failure: no backend available for that identity");
        return;
    }
    LinkTarget target = make_link_target(context, core_.client().local(), route, master_credentials(route));
    target.identity = identity_;
    links_.open(std::move(target), *this);
}

void AccountSwitch::bring_up_to_date(BackendLink& link, bool new_link) {
    // The link must look like the one the client set up: same ID, same
    // ENABLEd extensions. Their answers stay between imapfront and the backend.
    std::vector<std::string> replays;
    if (const std::string id = strip_line_end(setup_.id_arguments); new_link && !id.empty() && single_line(id)) {
        replays.push_back("ID" + id);
    }
    std::string missing;
    if (std::vector<std::string>* link_enabled = links_.enabled_on(link)) {
        for (const std::string& extension : setup_.enabled) {
            if (std::find(link_enabled->begin(), link_enabled->end(), extension) != link_enabled->end()) continue;
            missing += " " + extension;
            link_enabled->push_back(extension);
        }
    }
    if (!missing.empty()) replays.push_back("ENABLE" + missing);
    if (replays.empty()) {
        finished_ = true;
        owner_.on_switch_done(link);
        return;
    }
    replays_pending_ = static_cast<int>(replays.size());
    BackendLink* target = &link;
    for (const std::string& replay : replays) {
        links_.send_internal(link, replay, [this, target](bool) {
            if (--replays_pending_ == 0 && !finished_) {
                finished_ = true;
                owner_.on_switch_done(*target);
            }
        });
    }
}

void AccountSwitch::fail(std::string answer) {
    if (finished_) return;
    finished_ = true;
    owner_.on_switch_failed(std::move(answer));
}

void AccountSwitch::on_link_ready(BackendLink& link) { bring_up_to_date(link, true); }

void AccountSwitch::on_link_failed(BackendLink& link, const Failure& failure) {
    const SessionContext& context = core_.context();
    if (blames_backend(failure)) {
        context.host.backend_failed(link.backend_name());
        context.metrics.backend(link.backend_name()).connect_failures.add();
    }
    core_.log(LogLevel::Warn, "selecta", {{"result", failure_name(failure.kind)}, {"reason", failure.detail}});
    links_.retire(link);
    fail(std::string(unavailable));
}

void AccountSwitch::on_link_response(BackendLink& link, const imap::ResponseEvent& event) {
    // Until the switch is done only the replays' completions matter.
    if (event.kind != imap::ResponseEvent::Kind::Line || !event.response_complete) return;
    if (event.type == imap::ResponseType::Tagged) links_.complete_internal(link, event.tag, event.status);
}

void AccountSwitch::on_link_closed(BackendLink& link, std::string_view reason) {
    core_.log(LogLevel::Warn, "selecta", {{"result", "closed"}, {"reason", reason}});
    links_.retire(link);
    fail(std::string(unavailable));
}

}  // namespace imapfront::session
