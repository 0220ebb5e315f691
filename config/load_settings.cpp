// multiaccount:, limits:, admin: and log: sections: plain settings with defaults.
#include "config/sections.h"

namespace imapfront::config {

void read_multiaccount(SchemaReader& reader, const Field& field, Config& config) {
    const auto fields = reader.object(field, {"lista_count", "max_links"});
    if (!fields) {
        return;
    }
    MultiAccount& multiaccount = config.multiaccount;
    reader.set(*fields, "lista_count", multiaccount.lista_count, [&](const Field& f) {
        return reader.choice(f, Choices<ListaCount>{{"draft", ListaCount::Draft}, {"off", ListaCount::Off}});
    });
    // Two at least: SELECTA keeps the active link and opens the next one
    // before it lets the old one go.
    reader.set(*fields, "max_links", multiaccount.max_links, [&](const Field& f) { return reader.count(f, 2, 64); });
}

void read_limits(SchemaReader& reader, const Field& field, Config& config) {
    const auto fields = reader.object(
        field, {"max_connections", "max_connections_per_ip", "login_timeout", "idle_timeout", "max_line",
                "auth_failures", "auth_failure_delay", "backend_timeout", "drain_timeout", "login_attempts_per_ip"});
    if (!fields) {
        return;
    }
    Limits& limits = config.limits;
    const auto positive_duration = [&](const Field& f) { return reader.duration(f, Duration{1}); };
    reader.set(*fields, "max_connections", limits.max_connections,
               [&](const Field& f) { return reader.count(f, 1, 10'000'000); });
    reader.set(*fields, "max_connections_per_ip", limits.max_connections_per_ip,
               [&](const Field& f) { return reader.count(f, 1, 10'000'000); });
    reader.set(*fields, "login_timeout", limits.login_timeout, positive_duration);
    reader.set(*fields, "idle_timeout", limits.idle_timeout, positive_duration);
    // RFC 7162 asks clients to keep lines under 8192 octets; below 1024 even LOGIN can fail.
    reader.set(*fields, "max_line", limits.max_line, [&](const Field& f) { return reader.count(f, 1024, 16 << 20); });
    reader.set(*fields, "auth_failures", limits.auth_failures, [&](const Field& f) { return reader.count(f, 1, 100); });
    reader.set(*fields, "auth_failure_delay", limits.auth_failure_delay,
               [&](const Field& f) { return reader.duration(f, Duration{0}); });
    reader.set(*fields, "backend_timeout", limits.backend_timeout, positive_duration);
    reader.set(*fields, "drain_timeout", limits.drain_timeout, positive_duration);
    reader.set(*fields, "login_attempts_per_ip", limits.login_attempts_per_ip,
               [&](const Field& f) { return reader.count(f, 1, 10'000'000); });
}

void read_admin(SchemaReader& reader, const Field& field, Config& config) {
    const auto fields = reader.object(field, {"address"});
    if (!fields) {
        return;
    }
    if (const Field* address = reader.required(*fields, "address")) {
        config.admin.address = reader.address(*address, true);
    }
}

void read_log(SchemaReader& reader, const Field& field, Config& config) {
    const auto fields = reader.object(field, {"format", "level"});
    if (!fields) {
        return;
    }
    reader.set(*fields, "format", config.log.format, [&](const Field& f) {
        return reader.choice(f, Choices<LogFormat>{{"json", LogFormat::Json}, {"text", LogFormat::Text}});
    });
    reader.set(*fields, "level", config.log.level, [&](const Field& f) {
        return reader.choice(f, Choices<LogLevel>{{"debug", LogLevel::Debug},
                                                  {"info", LogLevel::Info},
                                                  {"warn", LogLevel::Warn},
                                                  {"error", LogLevel::Error}});
    });
}

}  // namespace imapfront::config
