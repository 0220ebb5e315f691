// One reader per top-level section of the routing YAML. They run in
// dependency order (backends before pools before vhosts, ...) so each
// reference is checked where it is written, with its position.
#pragma once

#include "config/config.h"
#include "config/schema_reader.h"

namespace imapfront::config {

void read_backends(SchemaReader& reader, const Field& field, Config& config);
void read_pools(SchemaReader& reader, const Field& field, Config& config);
void read_vhosts(SchemaReader& reader, const Field& field, Config& config);
void read_accounts(SchemaReader& reader, const Field& field, Config& config);
void read_profiles(SchemaReader& reader, const Field& field, Config& config);
void read_tls(SchemaReader& reader, const Field& field, Config& config);
void read_listeners(SchemaReader& reader, const Field& field, Config& config);
void read_multiaccount(SchemaReader& reader, const Field& field, Config& config);
void read_limits(SchemaReader& reader, const Field& field, Config& config);
void read_admin(SchemaReader& reader, const Field& field, Config& config);
void read_log(SchemaReader& reader, const Field& field, Config& config);

// The names defined in a map, for "defined ones are: ..." hints.
template <typename Map>
std::string defined_names(const Map& map) {
    if (map.empty()) {
        return "none are defined";
    }
    std::string names = "defined: ";
    bool first = true;
    for (const auto& entry : map) {
        names += (first ? "" : ", ") + entry.first;
        first = false;
    }
    return names;
}

}  // namespace imapfront::config
