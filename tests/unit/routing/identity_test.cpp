#include "routing/identity.h"

#include <catch2/catch.hpp>

using namespace imapfront::routing;

TEST_CASE("identities split at the last @", "[routing]") {
    const auto split = split_identity("a@b@Example.com");
    CHECK(split.local == "a@b");
    CHECK(split.domain == "Example.com");
    const auto bare = split_identity("bob");
    CHECK(bare.local == "bob");
    CHECK(bare.domain.empty());
}

TEST_CASE("identity keys are lower-case without the domain's trailing dot", "[routing]") {
    CHECK(identity_key("Bob@Example.COM.") == "bob@example.com");
    CHECK(identity_key("Bob") == "bob");
    CHECK(domain_key("Example.COM.") == "example.com");
    CHECK(domain_key("") == "");
}
