#include "proxy/session/internal_tags.h"

#include <catch2/catch.hpp>

#include <set>
#include <string>

using imapfront::session::InternalTags;

TEST_CASE("internal tags are distinct and recognised as the session's own", "[session][tags]") {
    InternalTags tags;
    std::set<std::string> seen;
    for (int i = 0; i < 100; ++i) {
        const std::string tag = tags.next();
        CHECK(tags.owns(tag));
        CHECK(seen.insert(tag).second);
        for (const char c : tag) CHECK((std::isalnum(static_cast<unsigned char>(c)) || c == '.'));
    }
}

TEST_CASE("two sessions' internal tags differ, so a client cannot predict them", "[session][tags]") {
    InternalTags first;
    InternalTags second;
    const std::string a = first.next();
    const std::string b = second.next();
    CHECK(a != b);
    CHECK_FALSE(first.owns(b));
    CHECK_FALSE(second.owns(a));
    // The counting tags of stage one.
    CHECK_FALSE(first.owns("ifk1"));
    CHECK_FALSE(first.owns("a1"));
}
