#include "proxy/net/proxy_protocol.h"

#include <catch2/catch.hpp>

#include <initializer_list>
#include <string>

using namespace imapfront::net;
using Status = ProxyParse::Status;
using namespace std::string_literals;

namespace {

const std::string kV2Signature = "\r\n\r\n\0\r\nQUIT\n"s;
const std::string kClientBytes = "a1 CAPABILITY\r\n";

std::string bytes(std::initializer_list<int> values) {
    std::string out;
    for (int value : values) {
        out.push_back(static_cast<char>(value));
    }
    return out;
}

std::string v2_header(int version_command, int family, const std::string& block) {
    const auto length = block.size();
    return kV2Signature +
           bytes({version_command, family, static_cast<int>(length >> 8), static_cast<int>(length & 0xff)}) + block;
}

// 192.0.2.10:51000 -> 198.51.100.1:143
std::string v2_ipv4_block() { return bytes({192, 0, 2, 10, 198, 51, 100, 1, 0xc7, 0x38, 0x00, 0x8f}); }

// 2001:db8::7:52000 -> 2001:db8::1:993
std::string v2_ipv6_block() {
    return bytes({0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,    0,    0x07, 0x20, 0x01,
                  0x0d, 0xb8, 0,    0,    0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0xcb, 0x20, 0x03, 0xe1});
}

// Every proper prefix of a valid header must ask for more; the whole header,
// with the client's first bytes behind it, must parse and consume only itself.
ProxyParse parse_complete(const std::string& header) {
    for (std::size_t cut = 0; cut < header.size(); ++cut) {
        INFO("cut at " << cut);
        REQUIRE(parse_proxy_header(std::string_view(header).substr(0, cut)).status == Status::NeedMore);
    }
    const auto alone = parse_proxy_header(header);
    const auto followed = parse_proxy_header(header + kClientBytes);
    REQUIRE(alone.status == Status::Done);
    REQUIRE(followed.status == Status::Done);
    CHECK(alone.consumed == header.size());
    CHECK(followed.consumed == header.size());
    return followed;
}

std::string invalid_reason(const std::string& input) {
    const auto result = parse_proxy_header(input);
    INFO("input: " << input);
    REQUIRE(result.status == Status::Invalid);
    CHECK_FALSE(result.error.empty());
    return result.error;
}

}  // namespace

TEST_CASE("v1 TCP4 gives the client and destination addresses", "[proxy_protocol]") {
    const auto result = parse_complete("PROXY TCP4 192.0.2.10 198.51.100.1 51000 143\r\n");
    CHECK_FALSE(result.addresses.local);
    CHECK(result.addresses.source_ip == "192.0.2.10");
    CHECK(result.addresses.source_port == 51000);
    CHECK(result.addresses.destination_ip == "198.51.100.1");
    CHECK(result.addresses.destination_port == 143);
}

TEST_CASE("v1 TCP6 addresses come back in canonical form", "[proxy_protocol]") {
    const auto result = parse_complete("PROXY TCP6 2001:DB8:0::7 2001:db8::1 0 65535\r\n");
    CHECK(result.addresses.source_ip == "2001:db8::7");
    CHECK(result.addresses.source_port == 0);
    CHECK(result.addresses.destination_ip == "2001:db8::1");
    CHECK(result.addresses.destination_port == 65535);
}

TEST_CASE("v1 UNKNOWN keeps the connection's own addresses, whatever follows it", "[proxy_protocol]") {
    CHECK(parse_complete("PROXY UNKNOWN\r\n").addresses.local);
    const auto result = parse_complete("PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n");
    CHECK(result.addresses.local);
    CHECK(result.addresses.source_ip.empty());
}

TEST_CASE("a v1 line of exactly 107 bytes is accepted", "[proxy_protocol]") {
    const std::string line =
        "PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
        "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n";
    REQUIRE(line.size() == 104);
    const std::string longest = "PROXY UNKNOWN " + std::string(91, 'x') + "\r\n";
    REQUIRE(longest.size() == 107);
    CHECK(parse_complete(line).addresses.source_port == 65535);
    CHECK(parse_complete(longest).addresses.local);
}

TEST_CASE("v2 PROXY over TCP/IPv4", "[proxy_protocol]") {
    const auto result = parse_complete(v2_header(0x21, 0x11, v2_ipv4_block()));
    CHECK_FALSE(result.addresses.local);
    CHECK(result.addresses.source_ip == "192.0.2.10");
    CHECK(result.addresses.source_port == 51000);
    CHECK(result.addresses.destination_ip == "198.51.100.1");
    CHECK(result.addresses.destination_port == 143);
}

TEST_CASE("v2 PROXY over TCP/IPv6", "[proxy_protocol]") {
    const auto result = parse_complete(v2_header(0x21, 0x21, v2_ipv6_block()));
    CHECK(result.addresses.source_ip == "2001:db8::7");
    CHECK(result.addresses.source_port == 52000);
    CHECK(result.addresses.destination_ip == "2001:db8::1");
    CHECK(result.addresses.destination_port == 993);
}

TEST_CASE("v2 TLVs after the addresses are skipped with the header", "[proxy_protocol]") {
    // PP2_TYPE_ALPN "imap", then PP2_TYPE_AUTHORITY "mail.abcd.com".
    const std::string tlvs = bytes({0x01, 0x00, 0x04}) + "imap" + bytes({0x02, 0x00, 0x0d}) + "mail.abcd.com";
    const std::string header = v2_header(0x21, 0x11, v2_ipv4_block() + tlvs);
    const auto result = parse_complete(header);
    CHECK(result.consumed == 16 + 12 + tlvs.size());
    CHECK(result.addresses.source_ip == "192.0.2.10");
}

TEST_CASE("v2 LOCAL and UNSPEC keep the connection's own addresses", "[proxy_protocol]") {
    CHECK(parse_complete(v2_header(0x20, 0x00, "")).addresses.local);
    // LOCAL ignores whatever address block the sender put there.
    CHECK(parse_complete(v2_header(0x20, 0x11, v2_ipv4_block())).addresses.local);
    CHECK(parse_complete(v2_header(0x21, 0x00, "")).addresses.local);
}

TEST_CASE("plain IMAP on a PROXY listener is refused at its first byte", "[proxy_protocol]") {
    CHECK_THAT(invalid_reason("a LOGIN bob secret\r\n"), Catch::Contains("not a PROXY"));
    CHECK(parse_proxy_header("a").status == Status::Invalid);
    CHECK(parse_proxy_header("PROXX").status == Status::Invalid);
}

TEST_CASE("malformed v1 headers are invalid with a reason", "[proxy_protocol]") {
    CHECK_THAT(invalid_reason("PROXY TCP4 192.0.2.10 198.51.100.1 51000 65536\r\n"), Catch::Contains("port"));
    CHECK_THAT(invalid_reason("PROXY TCP4 192.0.2.10 198.51.100.1 5l000 143\r\n"), Catch::Contains("port"));
    CHECK_THAT(invalid_reason("PROXY TCP4 192.0.2.10 198.51.100.1 -1 143\r\n"), Catch::Contains("port"));
    CHECK_THAT(invalid_reason("PROXY TCP4 192.0.2.10 198.51.100.1 0143 143\r\n"), Catch::Contains("port"));
    CHECK_THAT(invalid_reason("PROXY TCP4 192.0.2.10 198.51.100.1  143\r\n"), Catch::Contains("port"));
    CHECK_THAT(invalid_reason("PROXY TCP4 2001:db8::7 198.51.100.1 1 2\r\n"), Catch::Contains("IPv4"));
    CHECK_THAT(invalid_reason("PROXY TCP6 192.0.2.10 2001:db8::1 1 2\r\n"), Catch::Contains("IPv6"));
    CHECK_THAT(invalid_reason("PROXY TCP4 192.0.2.300 198.51.100.1 1 2\r\n"), Catch::Contains("address"));
    CHECK_THAT(invalid_reason("PROXY TCP4 192.0.2.10 198.51.100.1 1\r\n"), Catch::Contains("expected"));
    CHECK_THAT(invalid_reason("PROXY TCP4 192.0.2.10 198.51.100.1 1 2 3\r\n"), Catch::Contains("expected"));
    CHECK_THAT(invalid_reason("PROXY UDP4 192.0.2.10 198.51.100.1 1 2\r\n"), Catch::Contains("protocol"));
    CHECK_THAT(invalid_reason("PROXY TCP4 192.0.2.10 198.51.100.1 1 2\n"), Catch::Contains("CRLF"));
    CHECK_THAT(invalid_reason("PROXY \r\n"), Catch::Contains("protocol"));
}

TEST_CASE("a v1 line without CRLF within 107 bytes is invalid", "[proxy_protocol]") {
    const std::string unterminated = "PROXY UNKNOWN " + std::string(93, 'x');
    REQUIRE(unterminated.size() == 107);
    CHECK(parse_proxy_header(unterminated.substr(0, 106)).status == Status::NeedMore);
    CHECK_THAT(invalid_reason(unterminated), Catch::Contains("107"));
    CHECK_THAT(invalid_reason(unterminated + "\r\n"), Catch::Contains("107"));
}

TEST_CASE("malformed v2 headers are invalid with a reason", "[proxy_protocol]") {
    std::string bad_signature = v2_header(0x21, 0x11, v2_ipv4_block());
    bad_signature[11] = 'X';
    CHECK_THAT(invalid_reason(bad_signature), Catch::Contains("not a PROXY"));
    CHECK_THAT(invalid_reason(v2_header(0x11, 0x11, v2_ipv4_block())), Catch::Contains("version"));
    CHECK_THAT(invalid_reason(v2_header(0x22, 0x11, v2_ipv4_block())), Catch::Contains("command"));
    // The version byte alone is enough to refuse.
    CHECK(parse_proxy_header(kV2Signature + bytes({0x31})).status == Status::Invalid);
    CHECK_THAT(invalid_reason(v2_header(0x21, 0x11, v2_ipv4_block().substr(0, 11))), Catch::Contains("too short"));
    CHECK_THAT(invalid_reason(v2_header(0x21, 0x21, v2_ipv4_block())), Catch::Contains("too short"));
    CHECK_THAT(invalid_reason(v2_header(0x21, 0x12, v2_ipv4_block())), Catch::Contains("unsupported"));
    CHECK_THAT(invalid_reason(v2_header(0x21, 0x31, std::string(216, '\0'))), Catch::Contains("unsupported"));
}

TEST_CASE("a truncated v2 header waits for the length it announced", "[proxy_protocol]") {
    const std::string header = v2_header(0x21, 0x11, v2_ipv4_block() + std::string(100, 'x'));
    CHECK(parse_proxy_header(header.substr(0, header.size() - 1)).status == Status::NeedMore);
    CHECK(parse_proxy_header(header).status == Status::Done);
}

TEST_CASE("build_proxy_v2 round-trips through the parser", "[proxy_protocol]") {
    SECTION("IPv4") {
        const auto header = build_proxy_v2("192.0.2.10", 51000, "198.51.100.1", 143);
        REQUIRE(header);
        CHECK(*header == v2_header(0x21, 0x11, v2_ipv4_block()));
        const auto result = parse_complete(*header);
        CHECK(result.addresses.source_ip == "192.0.2.10");
        CHECK(result.addresses.destination_port == 143);
    }
    SECTION("IPv6") {
        const auto header = build_proxy_v2("2001:db8::7", 52000, "2001:db8::1", 993);
        REQUIRE(header);
        CHECK(*header == v2_header(0x21, 0x21, v2_ipv6_block()));
        CHECK(parse_complete(*header).addresses.source_ip == "2001:db8::7");
    }
    SECTION("an IPv4 end beside an IPv6 one travels IPv4-mapped") {
        const auto header = build_proxy_v2("192.0.2.10", 1, "2001:db8::1", 2);
        REQUIRE(header);
        const auto result = parse_complete(*header);
        CHECK(result.addresses.source_ip == "::ffff:192.0.2.10");
        CHECK(result.addresses.destination_ip == "2001:db8::1");
    }
    SECTION("anything but an IP literal is refused") {
        CHECK_FALSE(build_proxy_v2("mail.abcd.com", 1, "192.0.2.1", 2));
        CHECK_FALSE(build_proxy_v2("192.0.2.1", 1, "", 2));
        CHECK_FALSE(build_proxy_v2("[::1]", 1, "::1", 2));
    }
}

TEST_CASE("address_in_networks matches IPv4 CIDR blocks", "[proxy_protocol]") {
    const std::vector<std::string> networks = {"10.0.0.0/8", "192.168.1.0/25"};
    CHECK(address_in_networks("10.255.3.4", networks));
    CHECK(address_in_networks("192.168.1.127", networks));
    CHECK_FALSE(address_in_networks("192.168.1.128", networks));
    CHECK_FALSE(address_in_networks("11.0.0.1", networks));
    CHECK(address_in_networks("203.0.113.9", {"203.0.113.9/32"}));
    CHECK_FALSE(address_in_networks("203.0.113.8", {"203.0.113.9/32"}));
    CHECK(address_in_networks("203.0.113.9", {"0.0.0.0/0"}));
    CHECK_FALSE(address_in_networks("10.0.0.1", {}));
}

TEST_CASE("address_in_networks matches IPv6 CIDR blocks", "[proxy_protocol]") {
    CHECK(address_in_networks("2001:db8:1::5", {"2001:db8::/32"}));
    CHECK_FALSE(address_in_networks("2001:db9::5", {"2001:db8::/32"}));
    CHECK(address_in_networks("fd00::1", {"fc00::/7"}));
    CHECK(address_in_networks("::1", {"::1/128"}));
    CHECK_FALSE(address_in_networks("::2", {"::1/128"}));
    CHECK(address_in_networks("2001:db8::1", {"::/0"}));
    CHECK_FALSE(address_in_networks("2001:db8::1", {"10.0.0.0/8", "0.0.0.0/0"}));
}

TEST_CASE("an IPv4-mapped client matches IPv4 networks and the other way round", "[proxy_protocol]") {
    CHECK(address_in_networks("::ffff:10.1.2.3", {"10.0.0.0/8"}));
    CHECK_FALSE(address_in_networks("::ffff:11.1.2.3", {"10.0.0.0/8"}));
    CHECK(address_in_networks("10.1.2.3", {"::ffff:10.0.0.0/104"}));
}

TEST_CASE("a bare address is a network of one", "[proxy_protocol]") {
    CHECK(address_in_networks("127.0.0.1", {"127.0.0.1"}));
    CHECK_FALSE(address_in_networks("127.0.0.2", {"127.0.0.1"}));
    CHECK(address_in_networks("::1", {"::1"}));
}

TEST_CASE("malformed networks and addresses never match", "[proxy_protocol]") {
    for (const std::string network : {"10.0.0.0/33", "::/129", "10.0.0.0/", "10.0.0.0/x", "10.0.0/8", "/8", "", "any",
                                      "10.0.0.0/8/8", "10.0.0.0/-1"}) {
        INFO(network);
        CHECK_FALSE(address_in_networks("10.0.0.1", {network}));
    }
    CHECK_FALSE(address_in_networks("10.0.0.256", {"0.0.0.0/0"}));
    CHECK_FALSE(address_in_networks("", {"0.0.0.0/0", "::/0"}));
    // A malformed entry does not hide a good one after it.
    CHECK(address_in_networks("10.0.0.1", {"bogus", "10.0.0.0/8"}));
}

TEST_CASE("the v2 LOCAL header of a health check parses as the sender's own connection", "[proxy_protocol]") {
    const std::string header = build_proxy_v2_local();
    CHECK(header.size() == 16);
    const ProxyParse parsed = parse_proxy_header(header + "* OK");
    REQUIRE(parsed.status == ProxyParse::Status::Done);
    CHECK(parsed.consumed == 16);
    CHECK(parsed.addresses.local);
}
