// LISTA and SELECTA (draft-lu-imap-multi-account-01): one login authenticates
// every identity of a profile; SELECTA moves the session to another
// identity's backend link without a new login (see AccountSwitch).
#include "proxy/admin/metrics.h"
#include "proxy/imap/arguments.h"
#include "proxy/session/relay.h"
#include "routing/profiles.h"

#include <utility>

namespace imapfront::session {
namespace {

std::string response_astring(std::string_view value) {
    if (auto quoted = imap::quote_for_response(value)) return *quoted;
    return "{" + std::to_string(value.size()) + "}\r\n" + std::string(value);
}

}  // namespace

Decision Relay::cmd_lista(const LocalCommand& command) {
    const imap::ParsedArguments args = imap::parse_astrings(command.wire);
    admin::Metrics& metrics = core_.context().metrics;
    if (!args.ok || args.values.size() != 1) {
        metrics.lista(admin::MultiResult::Bad).add();
        return Decision::reply(command.tag + " BAD LISTA needs one user identifier\r\n");
    }
    const std::string identity = authenticated_identity(args.values.front());
    if (identity.empty()) {
        metrics.lista(admin::MultiResult::Rejected).add();
        return Decision::reply(command.tag + " NO LISTA failure: user identifier rejected\r\n");
    }
    const config::Config& config = core_.context().config;
    const std::vector<std::string> members = routing::authenticated_identities(config, identity);
    std::string reply;
    // The draft's count line would corrupt the client's view of a selected mailbox.
    if (config.multiaccount.lista_count == config::ListaCount::Draft && !mailbox_selected_) {
        reply += "* " + std::to_string(members.size()) + " EXISTS\r\n";
    }
    for (const auto& member : members) reply += "* LISTA " + response_astring(member) + "\r\n";
    metrics.lista(admin::MultiResult::Ok).add();
    return Decision::reply(reply + command.tag + " OK LISTA completed\r\n");
}

Decision Relay::cmd_selecta(const LocalCommand& command) {
    const imap::ParsedArguments args = imap::parse_astrings(command.wire);
    admin::Metrics& metrics = core_.context().metrics;
    if (!args.ok || args.values.size() != 1) {
        metrics.selecta(admin::MultiResult::Bad).add();
        return Decision::reply(command.tag + " BAD SELECTA needs one user identifier\r\n");
    }
    std::string identity = authenticated_identity(args.values.front());
    if (identity.empty()) {
        metrics.selecta(admin::MultiResult::Rejected).add();
        core_.log(LogLevel::Info, "selecta", {{"result", "rejected"}});
        return Decision::reply(command.tag + " NO SELECTA failure: user identifier rejected\r\n");
    }
    core_.enter(State::Switching);
    switch_ = std::make_unique<AccountSwitch>(core_, links_, static_cast<SwitchOwner&>(*this), command.tag,
                                              std::move(identity));
    switch_->start(mailbox_selected_ && links_.active(), setup_);
    return {};
}

}  // namespace imapfront::session
