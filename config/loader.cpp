// Entry points: YAML text -> validated, immutable Config or a list of errors.
#include "config/config.h"
#include "config/sections.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace imapfront::config {

namespace {

using SectionReader = void (*)(SchemaReader&, const Field&, Config&);

struct Section {
    std::string_view key;
    SectionReader read;
};

// Dependency order: every reference points to a section read before it.
constexpr Section sections[] = {
    {"backends", read_backends},
    {"pools", read_pools},
    {"vhosts", read_vhosts},
    {"accounts", read_accounts},
    {"profiles", read_profiles},
    {"tls", read_tls},
    {"listeners", read_listeners},
    {"multiaccount", read_multiaccount},
    {"limits", read_limits},
    {"admin", read_admin},
    {"log", read_log},
};

void read_document(SchemaReader& reader, const YAML::Node& root, Config& config) {
    const auto fields =
        reader.object(Field{YAML::Node{}, root, ""}, {"listeners", "tls", "backends", "pools", "vhosts", "accounts",
                                                      "profiles", "multiaccount", "limits", "admin", "log"});
    if (!fields) {
        return;
    }
    reader.required(*fields, "listeners");
    for (const Section& section : sections) {
        if (const Field* field = fields->find(section.key)) {
            section.read(reader, *field, config);
        }
    }
}

void sort_by_position(std::vector<ConfigError>& errors) {
    std::stable_sort(errors.begin(), errors.end(), [](const ConfigError& a, const ConfigError& b) {
        return std::tie(a.line, a.column) < std::tie(b.line, b.column);
    });
}

}  // namespace

LoadResult load_string(const std::string& yaml, const std::string& name, const std::string& base_dir) {
    LoadResult result;
    SchemaReader reader(name, base_dir, result.errors);
    auto config = std::make_shared<Config>();
    config->source_path = name;
    try {
        const YAML::Node root = YAML::Load(yaml);
        read_document(reader, root, *config);
    } catch (const YAML::Exception& syntax) {
        reader.error(syntax.mark, "YAML syntax error: " + syntax.msg);
    }
    if (!result.errors.empty()) {
        sort_by_position(result.errors);
        return result;
    }
    result.config = std::move(config);
    return result;
}

LoadResult load_file(const std::string& path) {
    std::error_code ignored;
    const std::filesystem::path absolute = std::filesystem::absolute(path, ignored).lexically_normal();
    std::ifstream in(absolute, std::ios::binary);
    std::ostringstream text;
    if (in) {
        text << in.rdbuf();
    }
    if (!in) {
        LoadResult result;
        result.errors.push_back(ConfigError{path, 0, 0, "cannot read the config file"});
        return result;
    }
    LoadResult result = load_string(text.str(), absolute.string(), absolute.parent_path().string());
    if (result.config) {
        // Reload swaps snapshots: record where this one came from.
        auto config = std::make_shared<Config>(*result.config);
        config->source_path = absolute.string();
        result.config = std::move(config);
    }
    return result;
}

}  // namespace imapfront::config
