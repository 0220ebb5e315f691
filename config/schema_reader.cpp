#include "config/schema_reader.h"

#include "config/values.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>

namespace imapfront::config {

namespace {

std::string kind_of(const YAML::Node& node) {
    switch (node.Type()) {
    case YAML::NodeType::Map: return "a map";
    case YAML::NodeType::Sequence: return "a list";
    case YAML::NodeType::Scalar: return "a scalar";
    default: return "nothing";
    }
}

std::string where(const std::string& path) { return path.empty() ? "the top level" : path; }

}  // namespace

YAML::Mark Field::mark() const {
    if (value.IsDefined() && !value.IsNull()) {
        return value.Mark();
    }
    if (key.IsDefined() && !key.IsNull()) {
        return key.Mark();
    }
    return value.Mark();
}

std::string Field::key_text() const { return key.IsScalar() ? key.Scalar() : std::string{}; }

const Field* Fields::find(std::string_view key) const {
    for (const Field& entry : entries_) {
        if (entry.key_text() == key) {
            return &entry;
        }
    }
    return nullptr;
}

std::string item_path(const std::string& parent, std::size_t index) {
    return parent + "[" + std::to_string(index) + "]";
}

std::string entry_path(const std::string& parent, std::string_view name) {
    return parent.empty() ? std::string(name) : parent + "." + std::string(name);
}

void SchemaReader::error(const YAML::Mark& at, std::string message) {
    ConfigError error;
    error.file = file_;
    if (at.line >= 0) {
        error.line = at.line + 1;
        error.column = at.column + 1;
    }
    error.message = std::move(message);
    errors_.push_back(std::move(error));
}

std::vector<Field> SchemaReader::named_entries(const Field& field) {
    std::vector<Field> entries;
    if (!field.value.IsMap()) {
        error(field.mark(), where(field.path) + ": expected a map of names, got " + kind_of(field.value));
        return entries;
    }
    for (auto it = field.value.begin(); it != field.value.end(); ++it) {
        const YAML::Node key = it->first;
        if (!key.IsScalar() || key.Scalar().empty()) {
            error(key.Mark(), where(field.path) + ": expected a non-empty name as key, got " + kind_of(key));
            continue;
        }
        bool repeated = false;
        for (const Field& earlier : entries) {
            repeated = repeated || earlier.key_text() == key.Scalar();
        }
        if (repeated) {
            error(key.Mark(), where(field.path) + ": '" + key.Scalar() + "' is given twice");
            continue;
        }
        entries.push_back(Field{key, it->second, entry_path(field.path, key.Scalar())});
    }
    return entries;
}

std::optional<Fields> SchemaReader::object(const Field& field, std::initializer_list<std::string_view> allowed) {
    if (!field.value.IsMap()) {
        error(field.mark(), where(field.path) + ": expected a map, got " + kind_of(field.value));
        return std::nullopt;
    }
    std::string allowed_list;
    for (const auto name : allowed) {
        allowed_list += (allowed_list.empty() ? "" : ", ") + std::string(name);
    }
    std::vector<Field> entries;
    for (Field& entry : named_entries(field)) {
        bool known = false;
        for (const auto name : allowed) {
            known = known || entry.key_text() == name;
        }
        if (!known) {
            error(entry.key.Mark(),
                  "unknown key '" + entry.key_text() + "' in " + where(field.path) + "; allowed keys: " + allowed_list);
            continue;
        }
        entries.push_back(std::move(entry));
    }
    return Fields(field, std::move(entries));
}

std::vector<Field> SchemaReader::sequence(const Field& field) {
    std::vector<Field> items;
    if (!field.value.IsSequence()) {
        error(field, "expected a list, got " + kind_of(field.value));
        return items;
    }
    std::size_t index = 0;
    for (const YAML::Node& item : field.value) {
        // An item has no key of its own; the list's key stands in for empty items.
        items.push_back(Field{field.key, item, item_path(field.path, index++)});
    }
    return items;
}

const Field* SchemaReader::required(const Fields& fields, std::string_view key) {
    const Field* field = fields.find(key);
    if (field == nullptr) {
        error(fields.self().mark(), where(fields.self().path) + ": missing required key '" + std::string(key) + "'");
    }
    return field;
}

std::optional<std::string> SchemaReader::text(const Field& field) {
    if (!field.value.IsScalar()) {
        error(field, "expected a string, got " + kind_of(field.value));
        return std::nullopt;
    }
    return field.value.Scalar();
}

std::optional<bool> SchemaReader::flag(const Field& field) {
    if (field.value.IsScalar()) {
        if (field.value.Scalar() == "true") {
            return true;
        }
        if (field.value.Scalar() == "false") {
            return false;
        }
    }
    error(field, "expected true or false");
    return std::nullopt;
}

std::optional<unsigned long long> SchemaReader::count(const Field& field, unsigned long long min,
                                                      unsigned long long max) {
    const auto word = text(field);
    if (!word) {
        return std::nullopt;
    }
    auto parsed = parse_count(*word, min, max);
    if (!parsed.value) {
        error(field, parsed.problem + ", got '" + *word + "'");
    }
    return parsed.value;
}

std::optional<Duration> SchemaReader::duration(const Field& field, Duration min) {
    const auto word = text(field);
    if (!word) {
        return std::nullopt;
    }
    auto parsed = parse_duration(*word);
    if (!parsed.value) {
        error(field, parsed.problem + ", got '" + *word + "'");
        return std::nullopt;
    }
    if (*parsed.value < min) {
        error(field, "expected a duration of at least " + std::to_string(min.count()) + "ms, got '" + *word + "'");
        return std::nullopt;
    }
    return parsed.value;
}

std::optional<Address> SchemaReader::address(const Field& field, bool allow_port_zero) {
    const auto word = text(field);
    if (!word) {
        return std::nullopt;
    }
    auto parsed = parse_address(*word, allow_port_zero);
    if (!parsed.value) {
        error(field, parsed.problem + ", got '" + *word + "'");
    }
    return parsed.value;
}

std::optional<std::string> SchemaReader::readable_path(const Field& field, std::string_view what) {
    const auto written = text(field);
    if (!written) {
        return std::nullopt;
    }
    if (written->empty()) {
        error(field, "expected the path of the " + std::string(what) + " file");
        return std::nullopt;
    }
    const std::string path = (std::filesystem::path(base_dir_) / *written).lexically_normal().string();
    struct stat info {};
    if (::stat(path.c_str(), &info) != 0) {
        error(field, "cannot read " + std::string(what) + " file '" + path + "': " + std::strerror(errno));
        return std::nullopt;
    }
    if (!S_ISREG(info.st_mode)) {
        error(field, "cannot read " + std::string(what) + " file '" + path + "': not a regular file");
        return std::nullopt;
    }
    std::ifstream probe(path, std::ios::binary);
    if (!probe) {
        error(field, "cannot read " + std::string(what) + " file '" + path + "': permission denied");
        return std::nullopt;
    }
    return path;
}

}  // namespace imapfront::config
