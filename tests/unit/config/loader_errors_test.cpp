// Every kind of error the loader reports, with its file:line:col and text.
#include "config/config.h"
#include "tests/unit/config/config_test_support.h"

#include <catch2/catch.hpp>

using imapfront::test::load_errors;
using imapfront::test::TempDir;
using Lines = std::vector<std::string>;

namespace {

// Lines 1-3 of most documents below: one valid listener, a backend and a pool.
const std::string base =
    "listeners: [{ address: \"127.0.0.1:1143\" }]\n"
    "backends: { b1: { address: \"127.0.0.1:143\" } }\n"
    "pools: { p: { servers: [b1] } }\n";

}  // namespace

TEST_CASE("YAML syntax errors carry their position", "[config]") {
    CHECK(load_errors("listeners: [{ address: x\nlog: 1\n") ==
          Lines{"t.yaml:2:4: YAML syntax error: end of map flow not found"});
    CHECK(load_errors("a: b: c\n") == Lines{"t.yaml:1:5: YAML syntax error: illegal map value"});
}

TEST_CASE("an empty document or a non-map top level is refused", "[config]") {
    CHECK(load_errors("") == Lines{"t.yaml: the top level: expected a map, got nothing"});
    CHECK(load_errors("- a\n") == Lines{"t.yaml:1:1: the top level: expected a map, got a list"});
}

TEST_CASE("missing required keys are named", "[config]") {
    CHECK(load_errors("log: { level: info }\n") ==
          Lines{"t.yaml:1:1: the top level: missing required key 'listeners'"});
    CHECK(load_errors("listeners: [{ name: x }]\n") ==
          Lines{"t.yaml:1:13: listeners[0]: missing required key 'address'"});
    CHECK(load_errors("listeners: []\n") == Lines{"t.yaml:1:12: listeners: expected at least one listener"});
    CHECK(load_errors(base + "backends2: 1\n").at(0) ==
          "t.yaml:4:1: unknown key 'backends2' in the top level; allowed keys: listeners, tls, backends, pools, "
          "vhosts, accounts, profiles, multiaccount, limits, admin, log");
    CHECK(load_errors("listeners: [{ address: \"127.0.0.1:1\" }]\nbackends: { b1: { tls: none } }\n") ==
          Lines{"t.yaml:2:17: backends.b1: missing required key 'address'"});
    CHECK(load_errors("listeners: [{ address: \"127.0.0.1:1\" }]\nbackends: { b1: { address: \"h:1\" } }\n"
                      "pools: { p: { servers: [] } }\nvhosts: { d.com: { aliases: [] } }\n") ==
          Lines{"t.yaml:3:24: pools.p.servers: expected at least one backend name",
                "t.yaml:4:18: vhosts.d.com: missing required key 'pool'"});
}

TEST_CASE("unknown keys list the allowed ones", "[config]") {
    CHECK(load_errors("listeners: [{ address: \"127.0.0.1:1143\", tls_mode: none }]\n") ==
          Lines{"t.yaml:1:42: unknown key 'tls_mode' in listeners[0]; allowed keys: name, address, tls, "
                "default_vhost, allow_plaintext_auth, proxy_protocol, trusted_networks"});
    CHECK(load_errors(base + "log: { level: info, level: debug }\n") ==
          Lines{"t.yaml:4:21: log: 'level' is given twice"});
}

TEST_CASE("wrong types say what was expected", "[config]") {
    CHECK(load_errors("listeners: { address: x }\n") == Lines{"t.yaml:1:12: listeners: expected a list, got a map"});
    CHECK(load_errors(base + "log: [json]\n") == Lines{"t.yaml:4:6: log: expected a map, got a list"});
    CHECK(load_errors(base + "vhosts: { d.com: { pool: [p] } }\n") ==
          Lines{"t.yaml:4:26: vhosts.d.com.pool: expected a string, got a list"});
    CHECK(load_errors(base + "limits:\n  max_line:\n") ==
          Lines{"t.yaml:5:3: limits.max_line: expected a string, got nothing"});
    CHECK(load_errors("listeners: [{ address: \"127.0.0.1:1143\", proxy_protocol: yes }]\n") ==
          Lines{"t.yaml:1:58: listeners[0].proxy_protocol: expected true or false"});
    CHECK(load_errors(base + "limits: { max_connections: many }\n") ==
          Lines{"t.yaml:4:28: limits.max_connections: expected a whole number from 1 to 10000000, got 'many'"});
}

TEST_CASE("bad enum values list the allowed ones", "[config]") {
    CHECK(load_errors("listeners: [{ address: \"127.0.0.1:1143\", tls: tls }]\n") ==
          Lines{"t.yaml:1:47: listeners[0].tls: expected one of none, starttls, implicit, got 'tls'"});
    CHECK(load_errors(base + "log: { format: xml, level: trace }\n") ==
          Lines{"t.yaml:4:16: log.format: expected one of json, text, got 'xml'",
                "t.yaml:4:28: log.level: expected one of debug, info, warn, error, got 'trace'"});
    CHECK(load_errors("listeners: [{ address: \"127.0.0.1:1\" }]\nbackends: { b1: { address: \"h:1\" } }\n"
                      "pools: { p: { servers: [b1], balance: random, forward_client_ip: header } }\n"
                      "vhosts: { d.com: { pool: p, username: email, status: down } }\n"
                      "multiaccount: { lista_count: yes }\n") ==
          Lines{"t.yaml:3:39: pools.p.balance: expected one of hash, first, got 'random'",
                "t.yaml:3:66: pools.p.forward_client_ip: expected one of none, id, proxy-v2, got 'header'",
                "t.yaml:4:39: vhosts.d.com.username: expected one of full, local, got 'email'",
                "t.yaml:4:54: vhosts.d.com.status: expected one of active, maintenance, got 'down'",
                "t.yaml:5:30: multiaccount.lista_count: expected one of draft, off, got 'yes'"});
}

TEST_CASE("multiaccount.max_links below two is refused, not raised in silence", "[config]") {
    CHECK(load_errors(base + "multiaccount: { max_links: 1 }\n") ==
          Lines{"t.yaml:4:28: multiaccount.max_links: expected a whole number from 2 to 64, got '1'"});
}

TEST_CASE("bad durations are refused", "[config]") {
    CHECK(load_errors(base + "limits: { login_timeout: 60, idle_timeout: 0s }\n") ==
          Lines{"t.yaml:4:26: limits.login_timeout: expected a duration with a unit of ms, s, m or h (such as 5s), "
                "got '60'",
                "t.yaml:4:44: limits.idle_timeout: expected a duration of at least 1ms, got '0s'"});
}

TEST_CASE("bad addresses, ports and networks are refused", "[config]") {
    CHECK(load_errors("listeners: [{ address: \"127.0.0.1\" }]\n") ==
          Lines{"t.yaml:1:24: listeners[0].address: expected host:port or [ipv6]:port, got '127.0.0.1'"});
    CHECK(load_errors("listeners: [{ address: \"127.0.0.1:1\" }]\nbackends: { b1: { address: \"h:0\" } }\n") ==
          Lines{"t.yaml:2:28: backends.b1.address: expected a port number from 1 to 65535, got 'h:0'"});
    CHECK(load_errors("listeners:\n  - address: \"127.0.0.1:1143\"\n    proxy_protocol: true\n"
                      "    trusted_networks: [10.0.0.0/8, 10.0.0.0/40]\n") ==
          Lines{"t.yaml:4:36: listeners[0].trusted_networks[1]: expected a prefix length from 0 to 32, "
                "got '10.0.0.0/40'"});
    CHECK(load_errors("listeners: [{ address: \"127.0.0.1:1143\", proxy_protocol: true }]\n") ==
          Lines{"t.yaml:1:58: listeners[0]: proxy_protocol: true needs trusted_networks (the peers allowed to "
                "send a PROXY header)"});
}

TEST_CASE("references to undefined pools and backends are refused", "[config]") {
    CHECK(load_errors("listeners: [{ address: \"127.0.0.1:1\" }]\nbackends: { b1: { address: \"h:1\" } }\n"
                      "pools: { p: { servers: [b1, b2, b1] } }\nvhosts: { d.com: { pool: q } }\n"
                      "accounts: { x@d.com: { pool: r } }\n") ==
          Lines{"t.yaml:3:29: pools.p.servers[1]: undefined backend 'b2' (defined: b1)",
                "t.yaml:3:33: pools.p.servers[2]: backend 'b1' is listed twice",
                "t.yaml:4:26: vhosts.d.com.pool: undefined pool 'q' (defined: p)",
                "t.yaml:5:30: accounts.x@d.com.pool: undefined pool 'r' (defined: p)"});
}

TEST_CASE("a vhost name or alias defined twice is refused", "[config]") {
    CHECK(load_errors(base + "vhosts:\n  d.com: { pool: p, aliases: [www.d.com] }\n  D.COM.: { pool: p }\n"
                             "  e.com: { pool: p, aliases: [WWW.d.com, e.com] }\n") ==
          Lines{"t.yaml:6:3: vhosts.D.COM.: 'd.com' is defined twice as a vhost name or alias (first at 5:3)",
                "t.yaml:7:31: vhosts.e.com.aliases[0]: 'www.d.com' is defined twice as a vhost name or alias "
                "(first at 5:31)",
                "t.yaml:7:42: vhosts.e.com.aliases[1]: 'e.com' is defined twice as a vhost name or alias "
                "(first at 7:3)"});
}

TEST_CASE("profile members must be unique, resolvable and have master credentials", "[config]") {
    ::setenv("IMAPFRONT_TEST_PW", "pw", 1);
    const std::string yaml =
        "listeners: [{ address: \"127.0.0.1:1\" }]\nbackends: { b1: { address: \"h:1\" } }\n"
        "pools:\n  m: { servers: [b1], master: { user: u, password: \"env:IMAPFRONT_TEST_PW\" } }\n"
        "  plain: { servers: [b1] }\n"
        "vhosts: { a.com: { pool: m }, b.com: { pool: plain } }\n"
        "accounts: { moved@a.com: { pool: plain } }\n"
        "profiles:\n"
        "  one: [x@a.com, y@b.com, moved@a.com]\n"
        "  two: [X@A.com., z@nowhere.com, bare]\n";
    CHECK(load_errors(yaml) ==
          Lines{"t.yaml:9:18: profiles.one[1]: 'y@b.com' is routed to pool 'plain', which has no master credentials "
                "(pools.plain.master); profile members are logged in with them",
                "t.yaml:9:27: profiles.one[2]: 'moved@a.com' is routed to pool 'plain', which has no master "
                "credentials (pools.plain.master); profile members are logged in with them",
                "t.yaml:10:9: profiles.two[0]: 'X@A.com.' is already a member of profile 'one' (an identity belongs "
                "to at most one profile)",
                "t.yaml:10:19: profiles.two[1]: domain 'nowhere.com' of 'z@nowhere.com' names no vhost (defined: "
                "a.com, b.com)",
                "t.yaml:10:34: profiles.two[2]: expected a full address local@domain, got 'bare'"});
    ::unsetenv("IMAPFRONT_TEST_PW");
}

TEST_CASE("listener names, default vhosts and TLS are checked", "[config]") {
    CHECK(load_errors("backends: { b1: { address: \"h:1\" } }\npools: { p: { servers: [b1] } }\n"
                      "vhosts: { d.com: { pool: p } }\n"
                      "listeners:\n"
                      "  - { name: a, address: \"127.0.0.1:1\", default_vhost: e.com }\n"
                      "  - { name: a, address: \"127.0.0.1:2\", tls: starttls }\n") ==
          Lines{"t.yaml:5:55: listeners[0].default_vhost: default_vhost 'e.com' names no vhost (defined: d.com)",
                "t.yaml:6:5: listeners[1]: listener name 'a' is used twice",
                "t.yaml:6:45: listeners[1].tls: tls: starttls needs a certificate in tls.certificates"});
}

TEST_CASE("unreadable files are reported with their absolute path", "[config]") {
    TempDir dir;
    const auto errors = load_errors(
        "listeners: [{ address: \"127.0.0.1:1\" }]\n"
        "tls: { certificates: [{ cert: missing.pem, key: /nonexistent/key.pem }] }\n"
        "backends: { b1: { address: \"h:1\", tls: starttls, ca: ca.pem } }\n",
        dir.path());
    CHECK(errors == Lines{"t.yaml:2:31: tls.certificates[0].cert: cannot read certificate file '" + dir.path() +
                              "/missing.pem': No such file or directory",
                          "t.yaml:2:49: tls.certificates[0].key: cannot read private key file "
                          "'/nonexistent/key.pem': No such file or directory",
                          "t.yaml:3:54: backends.b1.ca: cannot read CA file '" + dir.path() +
                              "/ca.pem': No such file or directory"});
}

TEST_CASE("master password problems never show the secret", "[config]") {
    TempDir dir;
    dir.write("open", "hunter2", 0644);
    dir.write("empty", "", 0600);
    ::unsetenv("IMAPFRONT_TEST_UNSET");
    const std::string yaml =
        "listeners: [{ address: \"127.0.0.1:1\" }]\nbackends: { b1: { address: \"h:1\" } }\n"
        "pools:\n"
        "  a: { servers: [b1], master: { user: u, password_file: open } }\n"
        "  b: { servers: [b1], master: { user: u, password_file: empty } }\n"
        "  c: { servers: [b1], master: { user: u, password: \"env:IMAPFRONT_TEST_UNSET\" } }\n"
        "  d: { servers: [b1], master: { user: u, password: hunter2 } }\n"
        "  e: { servers: [b1], master: { user: u } }\n";
    const auto errors = load_errors(yaml, dir.path());
    CHECK(errors ==
          Lines{"t.yaml:4:57: pools.a.master.password_file: password file '" + dir.path() +
                    "/open' is readable by group or others (mode 0644); run: chmod 600 " + dir.path() + "/open",
                "t.yaml:5:57: pools.b.master.password_file: password file '" + dir.path() + "/empty' is empty",
                "t.yaml:6:52: pools.c.master.password: environment variable IMAPFRONT_TEST_UNSET is not set or empty",
                "t.yaml:7:52: pools.d.master.password: expected \"env:NAME\" naming an environment variable (inline "
                "passwords are not accepted; use password_file for a secret file)",
                "t.yaml:8:31: pools.e.master: expected exactly one of password_file or password: \"env:NAME\""});
    for (const auto& line : errors) {
        CHECK_THAT(line, !Catch::Contains("hunter2"));
    }
}

TEST_CASE("all errors are collected, in file order", "[config]") {
    const auto errors =
        load_errors("log: { level: loud }\nlisteners: [{ address: nowhere }]\nlimits: { max_line: 1 }\n");
    CHECK(errors == Lines{"t.yaml:1:15: log.level: expected one of debug, info, warn, error, got 'loud'",
                          "t.yaml:2:24: listeners[0].address: expected host:port or [ipv6]:port, got 'nowhere'",
                          "t.yaml:3:21: limits.max_line: expected a whole number from 1024 to 16777216, got '1'"});
}
