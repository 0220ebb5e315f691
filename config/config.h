// The routing configuration as an immutable snapshot. A session keeps the
// shared_ptr<const Config> it started with; a reload builds a new one.
// Names follow the routing YAML schema v1 of DESIGN.md.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace imapfront::config {

using Duration = std::chrono::milliseconds;

enum class TlsMode { None, StartTls, Implicit };

struct Address {
    std::string host;  // IPv4/IPv6 literal or DNS name; IPv6 written without brackets
    std::uint16_t port = 0;
};

struct Listener {
    std::string name;
    Address address;
    TlsMode tls = TlsMode::None;
    std::string default_vhost;  // empty: none
    bool allow_plaintext_auth = false;
    bool proxy_protocol = false;
    std::vector<std::string> trusted_networks;  // CIDR strings, validated
};

struct Certificate {
    std::string cert_path;  // absolute after loading
    std::string key_path;
};

struct Backend {
    std::string name;
    Address address;
    TlsMode tls = TlsMode::None;
    std::string ca_path;      // absolute; empty: system default verify paths
    std::string server_name;  // name to verify in its certificate; default address.host
};

enum class Balance { Hash, First };
enum class MasterStyle { Authzid, Separator };
enum class ForwardClientIp { None, Id, ProxyV2 };

struct Master {
    std::string user;
    std::string password;  // read from password_file or env:NAME at load time
    MasterStyle style = MasterStyle::Authzid;
    std::string separator = "*";
};

struct Health {
    Duration interval{5000};
    Duration timeout{2000};
    int fall = 3;
    int rise = 2;
};

struct Pool {
    std::string name;
    std::vector<std::string> servers;  // backend names, in config order
    Balance balance = Balance::Hash;
    std::optional<Master> master;
    ForwardClientIp forward_client_ip = ForwardClientIp::None;
    Health health;
};

enum class UsernameForm { Full, Local };
enum class VhostStatus { Active, Maintenance };

struct Vhost {
    std::string name;  // lower-case
    std::string pool;
    std::vector<std::string> aliases;  // lower-case
    UsernameForm username = UsernameForm::Full;
    VhostStatus status = VhostStatus::Active;
    std::string maintenance_text = "Service under maintenance";
};

struct Account {
    std::string identity;  // as written in config
    std::string pool;
};

struct Profile {
    std::string name;
    std::vector<std::string> members;  // identities as written, config order
};

enum class ListaCount { Draft, Off };

struct MultiAccount {
    ListaCount lista_count = ListaCount::Draft;
    std::size_t max_links = 8;
};

struct Limits {
    std::size_t max_connections = 50000;
    std::size_t max_connections_per_ip = 500;
    Duration login_timeout{60000};
    Duration idle_timeout{30 * 60 * 1000};
    std::size_t max_line = 65536;
    int auth_failures = 3;
    Duration auth_failure_delay{2000};
    Duration backend_timeout{10000};          // connect + greeting + login of one backend link
    std::size_t login_attempts_per_ip = 600;  // LOGIN/AUTHENTICATE per client address per minute
    Duration drain_timeout{30000};            // on SIGTERM: how long sessions get to finish before they are closed
};

struct Admin {
    std::optional<Address> address;
};

enum class LogFormat { Json, Text };
enum class LogLevel { Debug, Info, Warn, Error };

struct Log {
    LogFormat format = LogFormat::Json;
    LogLevel level = LogLevel::Info;
};

// Maps are keyed by lower-cased names (vhosts, aliases, accounts) so lookups
// are ASCII case-insensitive; the values keep the spelling written in config.
struct Config {
    std::string source_path;  // absolute path of the file it came from
    std::vector<Listener> listeners;
    std::vector<Certificate> certificates;
    std::map<std::string, Backend> backends;
    std::map<std::string, Pool> pools;
    std::map<std::string, Vhost> vhosts;         // by name
    std::map<std::string, std::string> aliases;  // alias -> vhost name
    std::map<std::string, Account> accounts;     // by lower-cased identity
    std::vector<Profile> profiles;
    std::map<std::string, std::size_t> profile_of;  // lower-cased identity -> index in profiles
    MultiAccount multiaccount;
    Limits limits;
    Admin admin;
    Log log;
};

struct ConfigError {
    std::string file;
    int line = 0;    // 1-based; 0 when not tied to a place
    int column = 0;  // 1-based
    std::string message;

    std::string to_string() const;  // "file:line:col: message"
};

struct LoadResult {
    std::shared_ptr<const Config> config;  // null when errors is non-empty
    std::vector<ConfigError> errors;
};

LoadResult load_file(const std::string& path);

// `name` is used in errors; relative paths resolve against `base_dir`.
LoadResult load_string(const std::string& yaml, const std::string& name, const std::string& base_dir);

}  // namespace imapfront::config
