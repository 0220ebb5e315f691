// Typed access to the YAML tree with error collection. Every check reports
// "what was expected" at the node's file:line:col and carries on, so one
// load lists every problem. Private to config/: yaml-cpp stays in here.
#pragma once

#include "config/config.h"

#include <yaml-cpp/yaml.h>

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace imapfront::config {

// One value in the tree with the key that introduced it (if any) and its
// dotted path for messages, e.g. "pools.cluster-a.health.interval".
struct Field {
    YAML::Node key;  // null node for sequence items and the document root
    YAML::Node value;
    std::string path;

    // The value's position; an empty value has none of its own, so the key's.
    YAML::Mark mark() const;
    std::string key_text() const;
};

// The keys of a map that passed the allowed-key check.
class Fields {
public:
    Fields(Field self, std::vector<Field> entries) : self_(std::move(self)), entries_(std::move(entries)) {}

    const Field* find(std::string_view key) const;
    const Field& self() const { return self_; }

private:
    Field self_;
    std::vector<Field> entries_;
};

template <typename E>
using Choices = std::initializer_list<std::pair<std::string_view, E>>;

class SchemaReader {
public:
    SchemaReader(std::string file, std::string base_dir, std::vector<ConfigError>& errors)
        : file_(std::move(file)),
          base_dir_(std::move(base_dir)),
          errors_(errors) {}

    void error(const YAML::Mark& at, std::string message);
    void error(const Field& at, const std::string& message) { error(at.mark(), at.path + ": " + message); }

    // A map whose keys are all in `allowed`; reports unknown and repeated keys.
    std::optional<Fields> object(const Field& field, std::initializer_list<std::string_view> allowed);
    // A map of user-chosen names to values (backends, pools, vhosts, ...).
    std::vector<Field> named_entries(const Field& field);
    std::vector<Field> sequence(const Field& field);

    // Reports "missing required key" at the map when absent.
    const Field* required(const Fields& fields, std::string_view key);

    std::optional<std::string> text(const Field& field);
    std::optional<bool> flag(const Field& field);
    std::optional<unsigned long long> count(const Field& field, unsigned long long min, unsigned long long max);
    std::optional<Duration> duration(const Field& field, Duration min);
    std::optional<Address> address(const Field& field, bool allow_port_zero);

    // A path resolved against the config folder, checked to be readable.
    std::optional<std::string> readable_path(const Field& field, std::string_view what);

    template <typename E>
    std::optional<E> choice(const Field& field, Choices<E> choices) {
        const auto word = text(field);
        if (!word) {
            return std::nullopt;
        }
        for (const auto& [name, value] : choices) {
            if (*word == name) {
                return value;
            }
        }
        std::string allowed;
        for (const auto& choice_entry : choices) {
            allowed += (allowed.empty() ? "" : ", ") + std::string(choice_entry.first);
        }
        error(field, "expected one of " + allowed + ", got '" + *word + "'");
        return std::nullopt;
    }

    // Stores the parsed value into `target` when present and valid.
    template <typename T, typename Parse>
    void set(const Fields& fields, std::string_view key, T& target, Parse parse) {
        if (const Field* field = fields.find(key)) {
            if (auto value = parse(*field)) {
                target = static_cast<T>(*value);
            }
        }
    }

    const std::string& file() const { return file_; }
    const std::string& base_dir() const { return base_dir_; }
    bool ok() const { return errors_.empty(); }

private:
    std::string file_;
    std::string base_dir_;
    std::vector<ConfigError>& errors_;
};

// "name" of a sequence item or map entry: path plus "[i]" or ".name".
std::string item_path(const std::string& parent, std::size_t index);
std::string entry_path(const std::string& parent, std::string_view name);

}  // namespace imapfront::config
