// vhosts:, accounts: and profiles: sections. Names become keys through
// names.h so that lookups are case-insensitive; identities written with an
// alias domain are keyed under the canonical vhost name.
#include "config/names.h"
#include "config/sections.h"

#include <map>

namespace imapfront::config {

namespace {

std::string position(const YAML::Mark& mark) {
    return std::to_string(mark.line + 1) + ":" + std::to_string(mark.column + 1);
}

const Vhost* vhost_for(const Config& config, std::string_view domain) {
    const std::string key = domain_key(domain);
    const auto alias = config.aliases.find(key);
    const auto vhost = config.vhosts.find(alias == config.aliases.end() ? key : alias->second);
    return vhost == config.vhosts.end() ? nullptr : &vhost->second;
}

// An identity written in full whose domain is a vhost (name or alias).
struct ResolvedIdentity {
    const Vhost* vhost = nullptr;
    std::string key;  // identity_key under the canonical vhost name
};

std::optional<ResolvedIdentity> resolve_identity(SchemaReader& reader, const YAML::Mark& at, const std::string& what,
                                                 const std::string& identity, const Config& config) {
    const auto split = identity.rfind('@');
    if (split == std::string::npos || split == 0 || split + 1 == identity.size()) {
        reader.error(at, what + ": expected a full address local@domain, got '" + identity + "'");
        return std::nullopt;
    }
    const std::string domain = identity.substr(split + 1);
    const Vhost* vhost = vhost_for(config, domain);
    if (vhost == nullptr) {
        reader.error(at, what + ": domain '" + domain + "' of '" + identity + "' names no vhost (" +
                             defined_names(config.vhosts) + ")");
        return std::nullopt;
    }
    return ResolvedIdentity{vhost, identity_key(identity.substr(0, split + 1) + vhost->name)};
}

std::optional<std::string> read_pool_reference(SchemaReader& reader, const Fields& fields, const Config& config) {
    const Field* pool = reader.required(fields, "pool");
    if (pool == nullptr) {
        return std::nullopt;
    }
    const auto name = reader.text(*pool);
    if (name && config.pools.count(*name) == 0) {
        reader.error(*pool, "undefined pool '" + *name + "' (" + defined_names(config.pools) + ")");
    }
    return name;
}

class DomainNames {
public:
    explicit DomainNames(SchemaReader& reader) : reader_(reader) {}

    // False (with an error) when the key is already a vhost name or alias.
    bool claim(const YAML::Mark& at, const std::string& path, const std::string& key) {
        const auto [earlier, inserted] = first_seen_.emplace(key, at);
        if (!inserted) {
            reader_.error(at, path + ": '" + key + "' is defined twice as a vhost name or alias (first at " +
                                  position(earlier->second) + ")");
        }
        return inserted;
    }

private:
    SchemaReader& reader_;
    std::map<std::string, YAML::Mark> first_seen_;
};

void read_vhost(SchemaReader& reader, const Field& entry, DomainNames& names, Config& config) {
    Vhost vhost;
    vhost.name = domain_key(entry.key_text());
    const bool claimed = names.claim(entry.key.Mark(), entry.path, vhost.name);
    const auto fields = reader.object(entry, {"pool", "aliases", "username", "status", "maintenance_text"});
    if (!fields) {
        return;
    }
    vhost.pool = read_pool_reference(reader, *fields, config).value_or("");
    if (const Field* aliases = fields->find("aliases")) {
        for (const Field& item : reader.sequence(*aliases)) {
            const auto alias = reader.text(item);
            if (alias && names.claim(item.mark(), item.path, domain_key(*alias))) {
                vhost.aliases.push_back(domain_key(*alias));
            }
        }
    }
    reader.set(*fields, "username", vhost.username, [&](const Field& f) {
        return reader.choice(f, Choices<UsernameForm>{{"full", UsernameForm::Full}, {"local", UsernameForm::Local}});
    });
    reader.set(*fields, "status", vhost.status, [&](const Field& f) {
        return reader.choice(
            f, Choices<VhostStatus>{{"active", VhostStatus::Active}, {"maintenance", VhostStatus::Maintenance}});
    });
    reader.set(*fields, "maintenance_text", vhost.maintenance_text, [&](const Field& f) { return reader.text(f); });
    if (!claimed) {
        return;
    }
    for (const std::string& alias : vhost.aliases) {
        config.aliases.emplace(alias, vhost.name);
    }
    config.vhosts.emplace(vhost.name, std::move(vhost));
}

void read_profile(SchemaReader& reader, const Field& entry, Config& config) {
    const auto items = reader.sequence(entry);
    if (entry.value.IsSequence() && items.empty()) {
        reader.error(entry, "expected at least one identity");
    }
    Profile profile;
    profile.name = entry.key_text();
    const std::size_t index = config.profiles.size();
    for (const Field& item : items) {
        const auto member = reader.text(item);
        if (!member) {
            continue;
        }
        const auto resolved = resolve_identity(reader, item.mark(), item.path, *member, config);
        if (!resolved) {
            continue;
        }
        const auto account = config.accounts.find(resolved->key);
        const std::string& pool_name = account != config.accounts.end() ? account->second.pool : resolved->vhost->pool;
        const auto pool = config.pools.find(pool_name);
        if (pool == config.pools.end()) {
            reader.error(item, "pool '" + pool_name + "' of '" + *member + "' is not defined");
        } else if (!pool->second.master) {
            reader.error(item, "'" + *member + "' is routed to pool '" + pool_name +
                                   "', which has no master credentials (pools." + pool_name +
                                   ".master); profile members are logged in with them");
        }
        const auto [owner, inserted] = config.profile_of.emplace(resolved->key, index);
        if (!inserted) {
            const std::string& other = owner->second == index ? profile.name : config.profiles[owner->second].name;
            reader.error(item, "'" + *member + "' is already a member of profile '" + other +
                                   "' (an identity belongs to at most one profile)");
            continue;
        }
        profile.members.push_back(*member);
    }
    config.profiles.push_back(std::move(profile));
}

}  // namespace

void read_vhosts(SchemaReader& reader, const Field& field, Config& config) {
    DomainNames names(reader);
    for (const Field& entry : reader.named_entries(field)) {
        read_vhost(reader, entry, names, config);
    }
}

void read_accounts(SchemaReader& reader, const Field& field, Config& config) {
    for (const Field& entry : reader.named_entries(field)) {
        const auto resolved = resolve_identity(reader, entry.key.Mark(), entry.path, entry.key_text(), config);
        const auto fields = reader.object(entry, {"pool"});
        if (!fields) {
            continue;
        }
        const auto pool = read_pool_reference(reader, *fields, config);
        if (!resolved || !pool) {
            continue;
        }
        const auto [earlier, inserted] = config.accounts.emplace(resolved->key, Account{entry.key_text(), *pool});
        if (!inserted) {
            reader.error(entry.key.Mark(),
                         entry.path + ": account is defined twice (also as '" + earlier->second.identity + "')");
        }
    }
}

void read_profiles(SchemaReader& reader, const Field& field, Config& config) {
    for (const Field& entry : reader.named_entries(field)) {
        read_profile(reader, entry, config);
    }
}

}  // namespace imapfront::config
