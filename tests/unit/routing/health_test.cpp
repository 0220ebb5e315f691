#include "routing/health.h"

#include <catch2/catch.hpp>

#include <atomic>
#include <thread>
#include <vector>

using namespace imapfront::routing;
using imapfront::config::Config;
using imapfront::config::Pool;

namespace {

// One pool "p" holding `servers`, with the given fall/rise.
Config config_of(const std::vector<std::string>& servers, int fall, int rise) {
    Config config;
    Pool pool;
    pool.name = "p";
    pool.health.fall = fall;
    pool.health.rise = rise;
    for (const auto& name : servers) {
        config.backends[name].name = name;
        pool.servers.push_back(name);
    }
    config.pools["p"] = pool;
    return config;
}

void report_times(HealthTable& table, const std::string& backend, bool ok, int times) {
    for (int i = 0; i < times; ++i) table.report_check(backend, ok);
}

}  // namespace

TEST_CASE("tracked backends start up", "[routing][health]") {
    HealthTable table;
    table.track(config_of({"a", "b"}, 3, 2));
    CHECK(table.is_up("a"));
    CHECK(table.is_up("b"));
}

TEST_CASE("unknown backends count as up and ignore reports", "[routing][health]") {
    HealthTable table;
    CHECK(table.is_up("nobody"));
    table.track(config_of({"a"}, 1, 1));
    CHECK_FALSE(table.report_check("nobody", false));
    CHECK_FALSE(table.report_passive_failure("nobody"));
    CHECK(table.is_up("nobody"));
}

TEST_CASE("a backend goes down after fall failures in a row", "[routing][health]") {
    HealthTable table;
    table.track(config_of({"a"}, 3, 2));
    CHECK_FALSE(table.report_check("a", false));
    CHECK_FALSE(table.report_check("a", false));
    CHECK(table.is_up("a"));
    CHECK(table.report_check("a", false));
    CHECK_FALSE(table.is_up("a"));
    SECTION("further failures change nothing") {
        CHECK_FALSE(table.report_check("a", false));
        CHECK_FALSE(table.is_up("a"));
    }
}

TEST_CASE("a success breaks a run of failures", "[routing][health]") {
    HealthTable table;
    table.track(config_of({"a"}, 3, 2));
    report_times(table, "a", false, 2);
    CHECK_FALSE(table.report_check("a", true));
    report_times(table, "a", false, 2);
    CHECK(table.is_up("a"));
    CHECK(table.report_check("a", false));
    CHECK_FALSE(table.is_up("a"));
}

TEST_CASE("a down backend comes back after rise successes in a row", "[routing][health]") {
    HealthTable table;
    table.track(config_of({"a"}, 1, 3));
    REQUIRE(table.report_check("a", false));
    CHECK_FALSE(table.report_check("a", true));
    CHECK_FALSE(table.report_check("a", true));
    CHECK_FALSE(table.is_up("a"));
    CHECK(table.report_check("a", true));
    CHECK(table.is_up("a"));
}

TEST_CASE("a failure breaks a run of successes while down", "[routing][health]") {
    HealthTable table;
    table.track(config_of({"a"}, 1, 2));
    REQUIRE(table.report_check("a", false));
    CHECK_FALSE(table.report_check("a", true));
    CHECK_FALSE(table.report_check("a", false));
    CHECK_FALSE(table.report_check("a", true));
    CHECK_FALSE(table.is_up("a"));
    CHECK(table.report_check("a", true));
    CHECK(table.is_up("a"));
}

TEST_CASE("passive failures count like failed checks", "[routing][health]") {
    HealthTable table;
    table.track(config_of({"a"}, 2, 1));
    CHECK_FALSE(table.report_passive_failure("a"));
    CHECK(table.is_up("a"));
    CHECK(table.report_passive_failure("a"));
    CHECK_FALSE(table.is_up("a"));
    SECTION("and mix with active failures") {
        CHECK(table.report_check("a", true));
        CHECK_FALSE(table.report_passive_failure("a"));
        CHECK(table.report_check("a", false));
        CHECK_FALSE(table.is_up("a"));
    }
}

TEST_CASE("backends are independent", "[routing][health]") {
    HealthTable table;
    table.track(config_of({"a", "b"}, 1, 1));
    REQUIRE(table.report_check("a", false));
    CHECK_FALSE(table.is_up("a"));
    CHECK(table.is_up("b"));
}

TEST_CASE("a new config keeps the state of backends it still names", "[routing][health]") {
    HealthTable table;
    table.track(config_of({"a", "b"}, 1, 2));
    REQUIRE(table.report_check("a", false));
    table.report_check("b", false);  // b is down too; it leaves the config below

    table.track(config_of({"a", "c"}, 1, 2));
    CHECK_FALSE(table.is_up("a"));
    CHECK(table.is_up("c"));
    CHECK(table.is_up("b"));  // no longer tracked: unknown counts as up

    SECTION("the run of successes in progress survives too") {
        table.report_check("a", true);
        table.track(config_of({"a"}, 1, 2));
        CHECK(table.report_check("a", true));
        CHECK(table.is_up("a"));
    }
}

TEST_CASE("a new config's fall and rise apply to existing backends", "[routing][health]") {
    HealthTable table;
    table.track(config_of({"a"}, 5, 5));
    table.track(config_of({"a"}, 1, 1));
    CHECK(table.report_check("a", false));
    CHECK(table.report_check("a", true));
}

TEST_CASE("a backend in several pools takes the smallest fall and rise", "[routing][health]") {
    Config config = config_of({"a"}, 4, 1);
    Pool other;
    other.name = "q";
    other.servers = {"a"};
    other.health.fall = 2;
    other.health.rise = 3;
    config.pools["q"] = other;
    HealthTable table;
    table.track(config);
    CHECK_FALSE(table.report_check("a", false));
    CHECK(table.report_check("a", false));
    CHECK(table.report_check("a", true));
}

TEST_CASE("a backend in no pool uses the default fall", "[routing][health]") {
    Config config;
    config.backends["lone"].name = "lone";
    HealthTable table;
    table.track(config);
    const int fall = imapfront::config::Health{}.fall;
    for (int i = 1; i < fall; ++i) CHECK_FALSE(table.report_check("lone", false));
    CHECK(table.report_check("lone", false));
}

TEST_CASE("reports and reads from several threads agree on one transition", "[routing][health]") {
    HealthTable table;
    table.track(config_of({"a"}, 1000, 1));
    std::atomic<int> transitions{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&] {
            for (int i = 0; i < 250; ++i) {
                if (table.report_passive_failure("a")) ++transitions;
                (void)table.is_up("a");
            }
        });
    }
    for (auto& thread : threads) thread.join();
    CHECK(transitions == 1);
    CHECK_FALSE(table.is_up("a"));
}
