// backends: and pools: sections.
#include "config/secrets.h"
#include "config/sections.h"

#include <algorithm>

namespace imapfront::config {

namespace {

const Choices<TlsMode> backend_tls_modes = {
    {"none", TlsMode::None}, {"starttls", TlsMode::StartTls}, {"implicit", TlsMode::Implicit}};

void read_backend(SchemaReader& reader, const Field& entry, Config& config) {
    const auto fields = reader.object(entry, {"address", "tls", "ca", "server_name"});
    if (!fields) {
        return;
    }
    Backend backend;
    backend.name = entry.key_text();
    if (const Field* address = reader.required(*fields, "address")) {
        backend.address = reader.address(*address, false).value_or(Address{});
    }
    reader.set(*fields, "tls", backend.tls, [&](const Field& f) { return reader.choice(f, backend_tls_modes); });
    reader.set(*fields, "ca", backend.ca_path, [&](const Field& f) { return reader.readable_path(f, "CA"); });
    reader.set(*fields, "server_name", backend.server_name, [&](const Field& f) { return reader.text(f); });
    if (backend.server_name.empty()) {
        backend.server_name = backend.address.host;
    }
    config.backends.emplace(backend.name, std::move(backend));
}

std::optional<std::string> read_master_password(SchemaReader& reader, const Fields& fields) {
    const Field* file = fields.find("password_file");
    const Field* env = fields.find("password");
    if ((file == nullptr) == (env == nullptr)) {
        reader.error(fields.self(), "expected exactly one of password_file or password: \"env:NAME\"");
        return std::nullopt;
    }
    if (file != nullptr) {
        const auto path = reader.readable_path(*file, "password");
        if (!path) {
            return std::nullopt;
        }
        auto secret = read_password_file(*path);
        if (!secret.value) {
            reader.error(*file, secret.problem);
        }
        return std::move(secret.value);
    }
    if (!env->value.IsScalar()) {
        reader.error(*env, "expected \"env:NAME\"");
        return std::nullopt;
    }
    auto secret = read_password_env(env->value.Scalar());
    if (!secret.value) {
        reader.error(*env, secret.problem);
    }
    return std::move(secret.value);
}

std::optional<Master> read_master(SchemaReader& reader, const Field& field) {
    const auto fields = reader.object(field, {"user", "password_file", "password", "style", "separator"});
    if (!fields) {
        return std::nullopt;
    }
    Master master;
    if (const Field* user = reader.required(*fields, "user")) {
        master.user = reader.text(*user).value_or("");
        if (master.user.empty() && user->value.IsScalar()) {
            reader.error(*user, "expected a non-empty user name");
        }
    }
    master.password = read_master_password(reader, *fields).value_or("");
    reader.set(*fields, "style", master.style, [&](const Field& f) {
        return reader.choice(
            f, Choices<MasterStyle>{{"authzid", MasterStyle::Authzid}, {"separator", MasterStyle::Separator}});
    });
    if (const Field* separator = fields->find("separator")) {
        const auto text = reader.text(*separator);
        if (text && text->empty()) {
            reader.error(*separator, "expected a non-empty separator such as \"*\"");
        } else if (text) {
            master.separator = *text;
        }
    }
    return master;
}

void read_health(SchemaReader& reader, const Field& field, Health& health) {
    const auto fields = reader.object(field, {"interval", "timeout", "fall", "rise"});
    if (!fields) {
        return;
    }
    const Duration one_ms{1};
    reader.set(*fields, "interval", health.interval, [&](const Field& f) { return reader.duration(f, one_ms); });
    reader.set(*fields, "timeout", health.timeout, [&](const Field& f) { return reader.duration(f, one_ms); });
    reader.set(*fields, "fall", health.fall, [&](const Field& f) { return reader.count(f, 1, 1000); });
    reader.set(*fields, "rise", health.rise, [&](const Field& f) { return reader.count(f, 1, 1000); });
}

void read_servers(SchemaReader& reader, const Field& field, const Config& config, Pool& pool) {
    const auto items = reader.sequence(field);
    if (field.value.IsSequence() && items.empty()) {
        reader.error(field, "expected at least one backend name");
    }
    for (const Field& item : items) {
        const auto name = reader.text(item);
        if (!name) {
            continue;
        }
        if (config.backends.count(*name) == 0) {
            reader.error(item, "undefined backend '" + *name + "' (" + defined_names(config.backends) + ")");
        } else if (std::find(pool.servers.begin(), pool.servers.end(), *name) != pool.servers.end()) {
            reader.error(item, "backend '" + *name + "' is listed twice");
        } else {
            pool.servers.push_back(*name);
        }
    }
}

void read_pool(SchemaReader& reader, const Field& entry, Config& config) {
    const auto fields = reader.object(entry, {"servers", "balance", "master", "forward_client_ip", "health"});
    if (!fields) {
        return;
    }
    Pool pool;
    pool.name = entry.key_text();
    if (const Field* servers = reader.required(*fields, "servers")) {
        read_servers(reader, *servers, config, pool);
    }
    reader.set(*fields, "balance", pool.balance, [&](const Field& f) {
        return reader.choice(f, Choices<Balance>{{"hash", Balance::Hash}, {"first", Balance::First}});
    });
    if (const Field* master = fields->find("master")) {
        pool.master = read_master(reader, *master);
    }
    reader.set(*fields, "forward_client_ip", pool.forward_client_ip, [&](const Field& f) {
        return reader.choice(f, Choices<ForwardClientIp>{{"none", ForwardClientIp::None},
                                                         {"id", ForwardClientIp::Id},
                                                         {"proxy-v2", ForwardClientIp::ProxyV2}});
    });
    if (const Field* health = fields->find("health")) {
        read_health(reader, *health, pool.health);
    }
    config.pools.emplace(pool.name, std::move(pool));
}

}  // namespace

void read_backends(SchemaReader& reader, const Field& field, Config& config) {
    for (const Field& entry : reader.named_entries(field)) {
        read_backend(reader, entry, config);
    }
}

void read_pools(SchemaReader& reader, const Field& field, Config& config) {
    for (const Field& entry : reader.named_entries(field)) {
        read_pool(reader, entry, config);
    }
}

}  // namespace imapfront::config
