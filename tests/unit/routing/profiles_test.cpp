#include "routing/profiles.h"
#include "tests/unit/routing/routing_test_config.h"

#include <catch2/catch.hpp>

using namespace imapfront::routing;
using imapfront::test::routing_config;
using Identities = std::vector<std::string>;

TEST_CASE("a profile member authenticates every member, spelled as in config", "[routing]") {
    const auto config = routing_config();
    CHECK(authenticated_identities(*config, "bob2@defg.com") == Identities{"Bob1@abcd.com", "bob2@defg.com"});
    CHECK(authenticated_identities(*config, "BOB1@imap.abcd.com.") == Identities{"Bob1@abcd.com", "bob2@defg.com"});
}

TEST_CASE("an identity outside any profile authenticates only itself", "[routing]") {
    const auto config = routing_config();
    CHECK(authenticated_identities(*config, "alice@abcd.com") == Identities{"alice@abcd.com"});
}

TEST_CASE("find_authenticated compares case-insensitively and returns the config spelling", "[routing]") {
    const Identities authenticated{"Bob1@abcd.com", "bob2@defg.com"};
    CHECK(find_authenticated(authenticated, "bob1@ABCD.com.") == "Bob1@abcd.com");
    CHECK(find_authenticated(authenticated, "bob3@abcd.com").empty());
}
