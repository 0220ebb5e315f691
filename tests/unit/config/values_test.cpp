#include "config/values.h"

#include <catch2/catch.hpp>

using namespace imapfront::config;

TEST_CASE("durations take one unit of ms, s, m or h", "[config]") {
    CHECK(parse_duration("2000ms").value == Duration{2000});
    CHECK(parse_duration("5s").value == Duration{5000});
    CHECK(parse_duration("30m").value == Duration{30 * 60 * 1000});
    CHECK(parse_duration("1h").value == Duration{3600 * 1000});
    CHECK(parse_duration("0s").value == Duration{0});
}

TEST_CASE("durations without a unit or with a bad number are refused", "[config]") {
    for (const char* text : {"5", "s", "", "-5s", "5 s", "1.5s", "5d", "1h30m", "99999999999999999999s"}) {
        INFO(text);
        const auto parsed = parse_duration(text);
        CHECK_FALSE(parsed.value);
        CHECK_THAT(parsed.problem, Catch::Contains("duration"));
    }
    CHECK(parse_duration("169h").problem == "duration too long (at most 168h)");
}

TEST_CASE("addresses are host:port or [ipv6]:port", "[config]") {
    const auto v4 = parse_address("10.0.0.11:143", false);
    REQUIRE(v4.value);
    CHECK(v4.value->host == "10.0.0.11");
    CHECK(v4.value->port == 143);
    const auto v6 = parse_address("[2001:db8::1]:993", false);
    REQUIRE(v6.value);
    CHECK(v6.value->host == "2001:db8::1");
    CHECK(v6.value->port == 993);
    const auto name = parse_address("cyrus-b1.mail.svc:143", false);
    REQUIRE(name.value);
    CHECK(name.value->host == "cyrus-b1.mail.svc");
}

TEST_CASE("bad addresses and ports are refused with the reason", "[config]") {
    CHECK(parse_address("10.0.0.11", false).problem == "expected host:port or [ipv6]:port");
    CHECK(parse_address("2001:db8::1:143", false).problem == "an IPv6 address needs brackets: [ipv6]:port");
    CHECK(parse_address("[10.0.0.1]:143", false).problem == "expected an IPv6 address inside [ ]");
    CHECK(parse_address("host:65536", false).problem == "expected a port number from 1 to 65535");
    CHECK(parse_address("host:0", false).problem == "expected a port number from 1 to 65535");
    CHECK(parse_address("host:abc", false).problem == "expected a port number from 1 to 65535");
    CHECK(parse_address("bad host:143", false).problem == "expected a host name or IP address before ':port'");
    CHECK(parse_address(":143", false).problem == "expected a host name or IP address before ':port'");
}

TEST_CASE("port 0 is allowed only where asked for", "[config]") {
    const auto any = parse_address("127.0.0.1:0", true);
    REQUIRE(any.value);
    CHECK(any.value->port == 0);
}

TEST_CASE("networks are CIDR or single addresses", "[config]") {
    CHECK(parse_cidr("10.0.0.0/8").value == "10.0.0.0/8");
    CHECK(parse_cidr("2001:db8::/32").value);
    CHECK(parse_cidr("192.0.2.7").value);
    CHECK(parse_cidr("10.0.0.0/33").problem == "expected a prefix length from 0 to 32");
    CHECK(parse_cidr("::/129").problem == "expected a prefix length from 0 to 128");
    CHECK(parse_cidr("10.0.0/8").problem == "expected a network such as 10.0.0.0/8 or 2001:db8::/32");
    CHECK_FALSE(parse_cidr("10.0.0.0/").value);
}

TEST_CASE("counts are whole numbers within bounds", "[config]") {
    CHECK(parse_count("8", 1, 64).value == 8ULL);
    CHECK(parse_count("0", 1, 64).problem == "expected a whole number from 1 to 64");
    CHECK_FALSE(parse_count("65", 1, 64).value);
    CHECK_FALSE(parse_count("-1", 1, 64).value);
    CHECK_FALSE(parse_count("1e3", 1, 5000).value);
}
