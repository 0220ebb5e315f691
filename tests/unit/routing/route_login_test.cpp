#include "routing/route.h"
#include "tests/unit/routing/routing_test_config.h"

#include <catch2/catch.hpp>

using namespace imapfront::routing;
using imapfront::test::all_up_except;
using imapfront::test::routing_config;

TEST_CASE("after VHOST a bare name joins that vhost", "[routing]") {
    const auto config = routing_config();
    const Route route = route_login(*config, {"ABCD.com", "", ""}, "Alice", all_up_except());
    REQUIRE(route.error == RouteError::None);
    CHECK(route.identity == "Alice@abcd.com");
    CHECK(route.key == "alice@abcd.com");
    CHECK(route.backend_user == "Alice@abcd.com");
    CHECK(route.vhost->name == "abcd.com");
    CHECK(route.pool->name == "cluster-a");
    REQUIRE(route.server != nullptr);
}

TEST_CASE("after VHOST a full address must be in the same vhost", "[routing]") {
    const auto config = routing_config();
    const VhostSources sources{"imap.abcd.com", "", ""};
    CHECK(route_login(*config, sources, "alice@abcd.com", all_up_except()).error == RouteError::None);
    CHECK(route_login(*config, sources, "alice@IMAP.abcd.com.", all_up_except()).error == RouteError::None);
    CHECK(route_login(*config, sources, "alice@defg.com", all_up_except()).error == RouteError::DomainMismatch);
    CHECK(route_login(*config, sources, "alice@nowhere.com", all_up_except()).error == RouteError::DomainMismatch);
}

TEST_CASE("without VHOST a full address keeps its own domain", "[routing]") {
    const auto config = routing_config();
    const VhostSources sources{"", "abcd.com", "abcd.com"};
    const Route route = route_login(*config, sources, "dave@defg.com", all_up_except());
    REQUIRE(route.error == RouteError::None);
    CHECK(route.vhost->name == "defg.com");
    CHECK(route_login(*config, sources, "dave@nowhere.com", all_up_except()).error == RouteError::UnknownDomain);
}

TEST_CASE("without VHOST a bare name takes SNI, else the listener default, else fails", "[routing]") {
    const auto config = routing_config();
    CHECK(route_login(*config, {"", "imap.abcd.com", "defg.com"}, "erin", all_up_except()).identity == "erin@abcd.com");
    CHECK(route_login(*config, {"", "mx.unknown.org", "defg.com"}, "erin", all_up_except()).identity ==
          "erin@defg.com");
    CHECK(route_login(*config, {"", "", "defg.com"}, "erin", all_up_except()).identity == "erin@defg.com");
    CHECK(route_login(*config, {"", "mx.unknown.org", ""}, "erin", all_up_except()).error == RouteError::NoDomain);
    CHECK(route_login(*config, {"", "", ""}, "erin", all_up_except()).error == RouteError::NoDomain);
}

TEST_CASE("an alias login uses the canonical vhost name", "[routing]") {
    const auto config = routing_config();
    const Route route = route_login(*config, {}, "Frank@Imap.ABCD.com", all_up_except());
    CHECK(route.identity == "Frank@abcd.com");
    CHECK(route.backend_user == "Frank@abcd.com");
}

TEST_CASE("username: local gives the backend the local part as typed", "[routing]") {
    const auto config = routing_config();
    const Route route = route_login(*config, {}, "Grace@DEFG.com", all_up_except());
    CHECK(route.identity == "Grace@defg.com");
    CHECK(route.backend_user == "Grace");
}

TEST_CASE("an account override wins over the vhost pool", "[routing]") {
    const auto config = routing_config();
    const Route carol = route_login(*config, {}, "CAROL@abcd.com", all_up_except());
    REQUIRE(carol.error == RouteError::None);
    CHECK(carol.pool->name == "cluster-b");
    CHECK(carol.server->name == "b1");
    CHECK(route_login(*config, {}, "carl@abcd.com", all_up_except()).pool->name == "cluster-a");
}

TEST_CASE("a vhost in maintenance refuses logins", "[routing]") {
    const auto config = routing_config();
    const Route route = route_login(*config, {}, "x@down.com", all_up_except());
    CHECK(route.error == RouteError::Maintenance);
    REQUIRE(route.vhost != nullptr);
    CHECK(route.vhost->maintenance_text == "Service under maintenance");
}

TEST_CASE("a pool with no server up gives NoServer", "[routing]") {
    const auto config = routing_config();
    const Route route = route_login(*config, {}, "x@abcd.com", all_up_except({"a1", "a2"}));
    CHECK(route.error == RouteError::NoServer);
    CHECK(route.server == nullptr);
}

TEST_CASE("profile members are routed from their full address", "[routing]") {
    const auto config = routing_config();
    const Route bob2 = route_identity(*config, "bob2@defg.com", all_up_except());
    REQUIRE(bob2.error == RouteError::None);
    CHECK(bob2.pool->name == "cluster-b");
    CHECK(bob2.backend_user == "bob2");
    CHECK(route_identity(*config, "Bob1@abcd.com", all_up_except()).backend_user == "Bob1@abcd.com");
    CHECK(route_identity(*config, "bob", all_up_except()).error == RouteError::NoDomain);
    CHECK(route_identity(*config, "bob@nowhere.com", all_up_except()).error == RouteError::UnknownDomain);
}

TEST_CASE("VHOST arguments are checked against names, aliases, status and health", "[routing]") {
    const auto config = routing_config();
    CHECK(check_vhost(*config, "abcd.com", all_up_except()) == VhostCheck::Ok);
    CHECK(check_vhost(*config, "IMAP.abcd.com.", all_up_except()) == VhostCheck::Ok);
    CHECK(check_vhost(*config, "nowhere.com", all_up_except()) == VhostCheck::Unknown);
    CHECK(check_vhost(*config, "down.com", all_up_except()) == VhostCheck::Maintenance);
    CHECK(check_vhost(*config, "abcd.com", all_up_except({"a1"})) == VhostCheck::Ok);
    CHECK(check_vhost(*config, "abcd.com", all_up_except({"a1", "a2"})) == VhostCheck::Unavailable);
    CHECK(find_vhost(*config, "Imap.Abcd.Com")->name == "abcd.com");
    CHECK(find_vhost(*config, "imap") == nullptr);
}
