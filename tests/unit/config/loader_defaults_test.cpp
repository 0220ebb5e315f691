#include "config/config.h"
#include "tests/unit/config/config_test_support.h"

#include <catch2/catch.hpp>

#include <cstdlib>
#include <sstream>

using namespace imapfront::config;
using imapfront::test::must_load;
using imapfront::test::TempDir;

TEST_CASE("a minimal config gets every documented default", "[config]") {
    const auto config = must_load("listeners:\n  - { address: \"127.0.0.1:1143\" }\n");
    REQUIRE(config->listeners.size() == 1);
    const Listener& listener = config->listeners[0];
    CHECK(listener.name == "127.0.0.1:1143");
    CHECK(listener.address.host == "127.0.0.1");
    CHECK(listener.address.port == 1143);
    CHECK(listener.tls == TlsMode::None);
    CHECK_FALSE(listener.allow_plaintext_auth);
    CHECK_FALSE(listener.proxy_protocol);
    CHECK(listener.default_vhost.empty());
    CHECK(config->multiaccount.lista_count == ListaCount::Draft);
    CHECK(config->multiaccount.max_links == 8);
    CHECK(config->limits.max_connections == 50000);
    CHECK(config->limits.max_connections_per_ip == 500);
    CHECK(config->limits.login_timeout == Duration{60000});
    CHECK(config->limits.idle_timeout == Duration{30 * 60 * 1000});
    CHECK(config->limits.max_line == 65536);
    CHECK(config->limits.auth_failures == 3);
    CHECK(config->limits.auth_failure_delay == Duration{2000});
    CHECK(config->limits.backend_timeout == Duration{10000});
    CHECK_FALSE(config->admin.address);
    CHECK(config->log.format == LogFormat::Json);
    CHECK(config->log.level == LogLevel::Info);
}

TEST_CASE("pool, vhost and backend defaults", "[config]") {
    const auto config = must_load(R"(
listeners: [{ address: "127.0.0.1:1143" }]
backends:
  b1: { address: "backend.example:143" }
pools:
  p: { servers: [b1] }
vhosts:
  Example.COM.: { pool: p }
)");
    const Backend& backend = config->backends.at("b1");
    CHECK(backend.tls == TlsMode::None);
    CHECK(backend.ca_path.empty());
    CHECK(backend.server_name == "backend.example");
    const Pool& pool = config->pools.at("p");
    CHECK(pool.balance == Balance::Hash);
    CHECK(pool.forward_client_ip == ForwardClientIp::None);
    CHECK_FALSE(pool.master);
    CHECK(pool.health.interval == Duration{5000});
    CHECK(pool.health.timeout == Duration{2000});
    CHECK(pool.health.fall == 3);
    CHECK(pool.health.rise == 2);
    REQUIRE(config->vhosts.count("example.com") == 1);
    const Vhost& vhost = config->vhosts.at("example.com");
    CHECK(vhost.name == "example.com");
    CHECK(vhost.username == UsernameForm::Full);
    CHECK(vhost.status == VhostStatus::Active);
    CHECK(vhost.maintenance_text == "Service under maintenance");
}

TEST_CASE("every value of the schema is read", "[config]") {
    TempDir dir;
    dir.write("tls/cert.pem", "cert");
    dir.write("tls/key.pem", "key");
    dir.write("ca.pem", "ca");
    dir.write("secrets/master", "s3cret\n");
    const auto config = must_load(R"(
listeners:
  - name: lb
    address: "[::1]:10143"
    tls: implicit
    default_vhost: IMAP.abcd.com
    allow_plaintext_auth: true
    proxy_protocol: true
    trusted_networks: ["10.0.0.0/8", "::1"]
tls:
  certificates: [{ cert: tls/cert.pem, key: tls/key.pem }]
backends:
  a1: { address: "10.0.0.11:993", tls: implicit, ca: ca.pem, server_name: mail.internal }
pools:
  pa:
    servers: [a1]
    balance: first
    master: { user: proxy, password_file: secrets/master, style: separator, separator: "%" }
    forward_client_ip: proxy-v2
    health: { interval: 1s, timeout: 500ms, fall: 5, rise: 4 }
vhosts:
  abcd.com: { pool: pa, aliases: [IMAP.abcd.com.], username: local, status: maintenance, maintenance_text: "Back at 6" }
accounts:
  Carol@ABCD.com: { pool: pa }
profiles:
  bob: [Bob1@imap.abcd.com, bob2@abcd.com]
multiaccount: { lista_count: "off", max_links: 3 }
limits: { max_connections: 10, max_connections_per_ip: 2, login_timeout: 5s, idle_timeout: 1h,
          max_line: 8192, auth_failures: 5, auth_failure_delay: 0s, backend_timeout: 2000ms }
admin: { address: "127.0.0.1:0" }
log: { format: text, level: debug }
)",
                                  dir.path());
    const Listener& listener = config->listeners.at(0);
    CHECK(listener.name == "lb");
    CHECK(listener.address.host == "::1");
    CHECK(listener.tls == TlsMode::Implicit);
    CHECK(listener.default_vhost == "abcd.com");
    CHECK(listener.allow_plaintext_auth);
    CHECK(listener.proxy_protocol);
    CHECK(listener.trusted_networks == std::vector<std::string>{"10.0.0.0/8", "::1"});
    REQUIRE(config->certificates.size() == 1);
    CHECK(config->certificates[0].cert_path == dir.path() + "/tls/cert.pem");
    CHECK(config->certificates[0].key_path == dir.path() + "/tls/key.pem");
    const Backend& backend = config->backends.at("a1");
    CHECK(backend.tls == TlsMode::Implicit);
    CHECK(backend.ca_path == dir.path() + "/ca.pem");
    CHECK(backend.server_name == "mail.internal");
    const Pool& pool = config->pools.at("pa");
    CHECK(pool.balance == Balance::First);
    REQUIRE(pool.master);
    CHECK(pool.master->user == "proxy");
    CHECK(pool.master->password == "s3cret");
    CHECK(pool.master->style == MasterStyle::Separator);
    CHECK(pool.master->separator == "%");
    CHECK(pool.forward_client_ip == ForwardClientIp::ProxyV2);
    CHECK(pool.health.interval == Duration{1000});
    CHECK(pool.health.timeout == Duration{500});
    CHECK(pool.health.fall == 5);
    CHECK(pool.health.rise == 4);
    const Vhost& vhost = config->vhosts.at("abcd.com");
    CHECK(vhost.aliases == std::vector<std::string>{"imap.abcd.com"});
    CHECK(config->aliases.at("imap.abcd.com") == "abcd.com");
    CHECK(vhost.username == UsernameForm::Local);
    CHECK(vhost.status == VhostStatus::Maintenance);
    CHECK(vhost.maintenance_text == "Back at 6");
    CHECK(config->accounts.at("carol@abcd.com").identity == "Carol@ABCD.com");
    CHECK(config->accounts.at("carol@abcd.com").pool == "pa");
    REQUIRE(config->profiles.size() == 1);
    CHECK(config->profiles[0].name == "bob");
    CHECK(config->profiles[0].members == std::vector<std::string>{"Bob1@imap.abcd.com", "bob2@abcd.com"});
    CHECK(config->profile_of.at("bob1@abcd.com") == 0);
    CHECK(config->profile_of.at("bob2@abcd.com") == 0);
    CHECK(config->multiaccount.lista_count == ListaCount::Off);
    CHECK(config->multiaccount.max_links == 3);
    CHECK(config->limits.max_connections == 10);
    CHECK(config->limits.max_connections_per_ip == 2);
    CHECK(config->limits.login_timeout == Duration{5000});
    CHECK(config->limits.idle_timeout == Duration{3600 * 1000});
    CHECK(config->limits.max_line == 8192);
    CHECK(config->limits.auth_failures == 5);
    CHECK(config->limits.auth_failure_delay == Duration{0});
    CHECK(config->limits.backend_timeout == Duration{2000});
    REQUIRE(config->admin.address);
    CHECK(config->admin.address->port == 0);
    CHECK(config->log.format == LogFormat::Text);
    CHECK(config->log.level == LogLevel::Debug);
}

TEST_CASE("a master password can come from the environment", "[config]") {
    ::setenv("IMAPFRONT_TEST_MASTER", "from-env", 1);
    const auto config = must_load(R"(
listeners: [{ address: "127.0.0.1:1143" }]
backends: { b: { address: "127.0.0.1:143" } }
pools:
  p: { servers: [b], master: { user: proxy, password: "env:IMAPFRONT_TEST_MASTER" } }
)");
    CHECK(config->pools.at("p").master->password == "from-env");
    CHECK(config->pools.at("p").master->style == MasterStyle::Authzid);
    CHECK(config->pools.at("p").master->separator == "*");
    ::unsetenv("IMAPFRONT_TEST_MASTER");
}

TEST_CASE("the example config in deploy/ loads", "[config]") {
    TempDir dir;
    std::ifstream example(std::string(IMAPFRONT_TEST_DATA) + "/../../deploy/imapfront.example.yaml");
    REQUIRE(example);
    std::ostringstream text;
    text << example.rdbuf();
    const std::string file = dir.write("imapfront.yaml", text.str(), 0644);
    dir.write("tls/abcd.pem", "cert");
    dir.write("tls/abcd.key", "key");
    dir.write("tls/backend-ca.pem", "ca");
    dir.write("secrets/master-a", "master-a-password\n", 0600);
    ::setenv("IMAPFRONT_MASTER_B", "master-b-password", 1);

    const LoadResult result = load_file(file);
    ::unsetenv("IMAPFRONT_MASTER_B");
    INFO(Catch::Detail::stringify(imapfront::test::error_lines(result)));
    REQUIRE(result.config);
    const Config& config = *result.config;
    CHECK(config.source_path == file);
    CHECK(config.listeners.size() == 3);
    CHECK(config.pools.at("cluster-a").master->password == "master-a-password");
    CHECK(config.pools.at("cluster-b").master->password == "master-b-password");
    CHECK(config.aliases.at("imap.abcd.com") == "abcd.com");
    CHECK(config.accounts.count("carol@abcd.com") == 1);
    CHECK(config.profiles.at(0).members == std::vector<std::string>{"bob1@abcd.com", "bob2@defg.com"});
    CHECK(config.admin.address->port == 9143);
}

TEST_CASE("load_file reports an unreadable file", "[config]") {
    const LoadResult result = load_file("/nonexistent/imapfront.yaml");
    CHECK_FALSE(result.config);
    REQUIRE(result.errors.size() == 1);
    CHECK(result.errors[0].to_string() == "/nonexistent/imapfront.yaml: cannot read the config file");
}
