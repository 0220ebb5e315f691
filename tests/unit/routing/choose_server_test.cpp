#include "routing/route.h"
#include "tests/unit/routing/routing_test_config.h"

#include <catch2/catch.hpp>

#include <map>

using namespace imapfront::routing;
using imapfront::config::Balance;
using imapfront::config::Config;
using imapfront::config::Pool;
using imapfront::test::all_up_except;

namespace {

Config config_with_servers(int count) {
    Config config;
    Pool pool;
    pool.name = "p";
    for (int i = 1; i <= count; ++i) {
        const std::string name = "s" + std::to_string(i);
        config.backends[name].name = name;
        pool.servers.push_back(name);
    }
    config.pools["p"] = pool;
    return config;
}

std::string user(int i) { return "user" + std::to_string(i) + "@example.com"; }

std::string chosen(const Config& config, const std::string& key, const IsUp& is_up) {
    const auto* backend = choose_server(config, config.pools.at("p"), key, is_up);
    return backend == nullptr ? std::string{} : backend->name;
}

constexpr int users = 10000;

}  // namespace

TEST_CASE("hash: the same identity always gets the same server", "[routing]") {
    const Config config = config_with_servers(4);
    for (int i = 0; i < 100; ++i) {
        const std::string first = chosen(config, user(i), all_up_except());
        CHECK(chosen(config, user(i), all_up_except()) == first);
        CHECK(chosen(config_with_servers(4), user(i), all_up_except()) == first);
    }
}

TEST_CASE("hash: identities spread roughly evenly over 4 servers", "[routing]") {
    const Config config = config_with_servers(4);
    std::map<std::string, int> per_server;
    for (int i = 0; i < users; ++i) {
        ++per_server[chosen(config, user(i), all_up_except())];
    }
    REQUIRE(per_server.size() == 4);
    for (const auto& [server, count] : per_server) {
        INFO(server << " got " << count);
        CHECK(count > users / 4 * 85 / 100);
        CHECK(count < users / 4 * 115 / 100);
    }
}

TEST_CASE("hash: a 5th server takes about 1/5 of users, all from the others to itself", "[routing]") {
    const Config four = config_with_servers(4);
    const Config five = config_with_servers(5);
    int moved = 0;
    for (int i = 0; i < users; ++i) {
        const std::string before = chosen(four, user(i), all_up_except());
        const std::string after = chosen(five, user(i), all_up_except());
        if (before != after) {
            ++moved;
            CHECK(after == "s5");
        }
    }
    const double share = static_cast<double>(moved) / users;
    INFO("moved share " << share);
    CHECK(share > 0.15);
    CHECK(share < 0.25);
}

TEST_CASE("hash: a down server's users move, the others stay", "[routing]") {
    const Config config = config_with_servers(4);
    int moved = 0;
    for (int i = 0; i < users; ++i) {
        const std::string before = chosen(config, user(i), all_up_except());
        const std::string after = chosen(config, user(i), all_up_except({"s2"}));
        CHECK(after != "s2");
        if (before != "s2") {
            CHECK(after == before);
        } else {
            ++moved;
        }
    }
    CHECK(moved > 0);
}

TEST_CASE("first: the first up server in config order, failing over in order", "[routing]") {
    Config config = config_with_servers(3);
    config.pools.at("p").balance = Balance::First;
    CHECK(chosen(config, user(1), all_up_except()) == "s1");
    CHECK(chosen(config, user(2), all_up_except()) == "s1");
    CHECK(chosen(config, user(1), all_up_except({"s1"})) == "s2");
    CHECK(chosen(config, user(1), all_up_except({"s1", "s2"})) == "s3");
    CHECK(chosen(config, user(1), all_up_except({"s1", "s2", "s3"})).empty());
}

TEST_CASE("hash: no server up gives none", "[routing]") {
    const Config config = config_with_servers(2);
    CHECK(chosen(config, user(1), all_up_except({"s1", "s2"})).empty());
}
