// A routing config shared by the routing tests, loaded through the real
// loader so the tests see the same keys and defaults as production.
#pragma once

#include "routing/route.h"
#include "tests/unit/config/config_test_support.h"

#include <cstdlib>
#include <set>
#include <string>

namespace imapfront::test {

inline std::shared_ptr<const config::Config> routing_config() {
    ::setenv("IMAPFRONT_TEST_ROUTING_MASTER", "secret", 1);
    return must_load(R"(
listeners: [{ address: "127.0.0.1:1143" }]
backends:
  a1: { address: "10.0.0.11:143" }
  a2: { address: "10.0.0.12:143" }
  b1: { address: "10.0.0.21:143" }
  b2: { address: "10.0.0.22:143" }
pools:
  cluster-a:
    servers: [a1, a2]
    master: { user: proxy, password: "env:IMAPFRONT_TEST_ROUTING_MASTER" }
  cluster-b:
    servers: [b1, b2]
    balance: first
    master: { user: proxy, password: "env:IMAPFRONT_TEST_ROUTING_MASTER" }
vhosts:
  abcd.com: { pool: cluster-a, aliases: [imap.abcd.com] }
  defg.com: { pool: cluster-b, username: local }
  down.com: { pool: cluster-a, status: maintenance }
accounts:
  carol@abcd.com: { pool: cluster-b }
profiles:
  bob: [Bob1@abcd.com, bob2@defg.com]
)");
}

// Health view over a fixed set of down servers.
inline routing::IsUp all_up_except(std::set<std::string> down = {}) {
    return [down = std::move(down)](const std::string& name) { return down.count(name) == 0; };
}

}  // namespace imapfront::test
