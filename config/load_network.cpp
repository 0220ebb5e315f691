// tls: and listeners: sections.
#include "config/names.h"
#include "config/sections.h"
#include "config/values.h"

namespace imapfront::config {

namespace {

const Choices<TlsMode> listener_tls_modes = {
    {"none", TlsMode::None}, {"starttls", TlsMode::StartTls}, {"implicit", TlsMode::Implicit}};

void read_certificate(SchemaReader& reader, const Field& item, Config& config) {
    const auto fields = reader.object(item, {"cert", "key"});
    if (!fields) {
        return;
    }
    Certificate certificate;
    if (const Field* cert = reader.required(*fields, "cert")) {
        certificate.cert_path = reader.readable_path(*cert, "certificate").value_or("");
    }
    if (const Field* key = reader.required(*fields, "key")) {
        certificate.key_path = reader.readable_path(*key, "private key").value_or("");
    }
    config.certificates.push_back(std::move(certificate));
}

void read_trusted_networks(SchemaReader& reader, const Field& field, Listener& listener) {
    for (const Field& item : reader.sequence(field)) {
        const auto text = reader.text(item);
        if (!text) {
            continue;
        }
        auto network = parse_cidr(*text);
        if (network.value) {
            listener.trusted_networks.push_back(*network.value);
        } else {
            reader.error(item, network.problem + ", got '" + *text + "'");
        }
    }
}

void read_default_vhost(SchemaReader& reader, const Field& field, const Config& config, Listener& listener) {
    const auto name = reader.text(field);
    if (!name) {
        return;
    }
    std::string key = domain_key(*name);
    if (const auto alias = config.aliases.find(key); alias != config.aliases.end()) {
        key = alias->second;
    }
    if (config.vhosts.count(key) == 0) {
        reader.error(field, "default_vhost '" + *name + "' names no vhost (" + defined_names(config.vhosts) + ")");
        return;
    }
    listener.default_vhost = key;
}

bool name_taken(const Config& config, const std::string& name) {
    for (const Listener& listener : config.listeners) {
        if (listener.name == name) {
            return true;
        }
    }
    return false;
}

void read_listener(SchemaReader& reader, const Field& item, Config& config) {
    const auto fields = reader.object(item, {"name", "address", "tls", "default_vhost", "allow_plaintext_auth",
                                             "proxy_protocol", "trusted_networks"});
    if (!fields) {
        return;
    }
    Listener listener;
    if (const Field* address = reader.required(*fields, "address")) {
        listener.address = reader.address(*address, true).value_or(Address{});
        listener.name = address->value.IsScalar() ? address->value.Scalar() : std::string{};
    }
    if (const Field* name = fields->find("name")) {
        const auto text = reader.text(*name);
        if (text && text->empty()) {
            reader.error(*name, "expected a non-empty name");
        } else if (text) {
            listener.name = *text;
        }
    }
    if (!listener.name.empty() && name_taken(config, listener.name)) {
        reader.error(item, "listener name '" + listener.name + "' is used twice");
    }
    if (const Field* tls = fields->find("tls")) {
        listener.tls = reader.choice(*tls, listener_tls_modes).value_or(TlsMode::None);
        if (listener.tls != TlsMode::None && config.certificates.empty()) {
            reader.error(*tls, "tls: " + tls->value.Scalar() + " needs a certificate in tls.certificates");
        }
    }
    if (const Field* vhost = fields->find("default_vhost")) {
        read_default_vhost(reader, *vhost, config, listener);
    }
    reader.set(*fields, "allow_plaintext_auth", listener.allow_plaintext_auth,
               [&](const Field& f) { return reader.flag(f); });
    reader.set(*fields, "proxy_protocol", listener.proxy_protocol, [&](const Field& f) { return reader.flag(f); });
    if (const Field* networks = fields->find("trusted_networks")) {
        read_trusted_networks(reader, *networks, listener);
    }
    if (listener.proxy_protocol && listener.trusted_networks.empty()) {
        reader.error(fields->find("proxy_protocol")->mark(),
                     item.path +
                         ": proxy_protocol: true needs trusted_networks (the peers allowed to send "
                         "a PROXY header)");
    }
    config.listeners.push_back(std::move(listener));
}

}  // namespace

void read_tls(SchemaReader& reader, const Field& field, Config& config) {
    const auto fields = reader.object(field, {"certificates"});
    if (!fields) {
        return;
    }
    if (const Field* certificates = fields->find("certificates")) {
        for (const Field& item : reader.sequence(*certificates)) {
            read_certificate(reader, item, config);
        }
    }
}

void read_listeners(SchemaReader& reader, const Field& field, Config& config) {
    const auto items = reader.sequence(field);
    if (field.value.IsSequence() && items.empty()) {
        reader.error(field, "expected at least one listener");
    }
    for (const Field& item : items) {
        read_listener(reader, item, config);
    }
}

}  // namespace imapfront::config
