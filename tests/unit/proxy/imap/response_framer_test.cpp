#include "proxy/imap/response_framer.h"

#include "framer_driver.h"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace imapfront::imap;
using imapfront::imap::test::feed_every_way;
using imapfront::imap::test::joined;
using namespace std::string_literals;

namespace {

struct Seen {
    ResponseEvent event;
    std::string data;
    ResponseType type;
    std::string tag;
    std::string status;
};

std::vector<Seen> frame(std::string_view input, Limits limits = {}) {
    feed_every_way<ResponseFramer>(input, limits);
    ResponseFramer framer(limits);
    std::vector<Seen> seen;
    for (int guard = 0; guard < 10000; ++guard) {
        const auto event = framer.next(input);
        if (event.kind == ResponseEvent::Kind::NeedMore) {
            break;
        }
        seen.push_back(
            {event, std::string(event.data), framer.type(), std::string(framer.tag()), std::string(framer.status())});
        input.remove_prefix(event.consumed);
        if (event.kind == ResponseEvent::Kind::Error) {
            break;
        }
    }
    return seen;
}

}  // namespace

TEST_CASE("response lines are typed as untagged, tagged or continuation", "[response_framer]") {
    const std::string input =
        "* OK [CAPABILITY IMAP4rev1] ready\r\n* 3 EXISTS\r\n+ \r\n+\r\na1 ok done\r\n"
        "* bye server going down\r\nA2 NO [AUTHENTICATIONFAILED] no\r\n* PREAUTH hi\r\n"
        "* CAPABILITY IMAP4rev1\r\n";
    const auto seen = frame(input);
    REQUIRE(seen.size() == 9);
    CHECK(seen[0].type == ResponseType::Untagged);
    CHECK(seen[0].status == "OK");
    CHECK(seen[1].type == ResponseType::Untagged);
    CHECK(seen[1].status.empty());
    CHECK(seen[2].type == ResponseType::Continuation);
    CHECK(seen[3].type == ResponseType::Continuation);
    CHECK(seen[4].type == ResponseType::Tagged);
    CHECK(seen[4].tag == "a1");
    CHECK(seen[4].status == "OK");
    CHECK(seen[5].status == "BYE");
    CHECK(seen[6].tag == "A2");
    CHECK(seen[6].status == "NO");
    CHECK(seen[7].status == "PREAUTH");
    CHECK(seen[8].status.empty());
    for (const auto& s : seen) {
        CHECK(s.event.first_line);
        CHECK(s.event.response_complete);
    }
    CHECK(joined(feed_every_way<ResponseFramer>(input)) == input);
}

TEST_CASE("FETCH literals are passed through without being scanned", "[response_framer]") {
    const std::string body = "a1 OK {3}\r\n* BYE\r\n";
    const std::string input = "* 1 FETCH (BODY[] {" + std::to_string(body.size()) + "}\r\n" + body +
                              " FLAGS (\\Seen) BINARY[1] ~{2}\r\n\0\x01)\r\na1 OK done\r\n"s;
    const auto seen = frame(input);
    REQUIRE(seen.size() == 6);
    REQUIRE(seen[0].event.literal);
    CHECK(*seen[0].event.literal == body.size());
    CHECK_FALSE(seen[0].event.response_complete);
    CHECK(seen[1].event.kind == ResponseEvent::Kind::LiteralData);
    CHECK(seen[1].data == body);
    CHECK(seen[1].event.literal_complete);
    CHECK_FALSE(seen[2].event.first_line);
    REQUIRE(seen[2].event.literal);
    CHECK(*seen[2].event.literal == 2);
    CHECK(seen[3].data == "\0\x01"s);
    CHECK(seen[4].data == ")\r\n");
    CHECK(seen[4].event.response_complete);
    CHECK(seen[4].type == ResponseType::Untagged);
    CHECK(seen[5].tag == "a1");
    CHECK(joined(feed_every_way<ResponseFramer>(input)) == input);
}

TEST_CASE("free text ending in braces announces no literal", "[response_framer]") {
    for (const std::string& input : std::vector<std::string>{
             "+ {5}\r\n", "a1 NO too big {5}\r\n", "* OK [ALERT] see {5}\r\n", "* BAD {5}\r\n",
             "* 1 FETCH (ENVELOPE (\"x {5}\"\r\n", "* SEARCH {5+}\r\n", "* LIST () \"/\" {5x}\r\n"}) {
        INFO(input);
        const auto seen = frame(input + "a2 OK\r\n");
        REQUIRE(seen.size() == 2);
        CHECK(seen[0].event.response_complete);
        CHECK_FALSE(seen[0].event.literal);
    }
}

TEST_CASE("a literal inside an open response code is a literal", "[response_framer]") {
    const auto seen = frame("a1 NO [BADCHARSET ({5}\r\nUTF-8)] unknown\r\n");
    REQUIRE(seen.size() == 3);
    REQUIRE(seen[0].event.literal);
    CHECK(*seen[0].event.literal == 5);
    CHECK(seen[1].data == "UTF-8");
    CHECK(seen[2].event.response_complete);
    CHECK(seen[2].status == "NO");
}

TEST_CASE("untagged data lines may announce literals", "[response_framer]") {
    const auto seen = frame("* LIST () \"/\" {3}\r\na b\r\n");
    REQUIRE(seen.size() == 3);
    REQUIRE(seen[0].event.literal);
    CHECK(seen[2].data == "\r\n");
}

TEST_CASE("response literal sizes that do not fit are an error", "[response_framer]") {
    const auto seen = frame("* 1 FETCH (BODY[] {18446744073709551616}\r\nxyz");
    REQUIRE(seen.size() == 1);
    CHECK(seen[0].event.kind == ResponseEvent::Kind::Error);

    const auto largest = frame("* 1 FETCH (BODY[] {18446744073709551615}\r\nxyz");
    REQUIRE(largest.size() == 2);
    REQUIRE(largest[0].event.literal);
    CHECK(*largest[0].event.literal == 18446744073709551615ull);
    CHECK_FALSE(largest[1].event.literal_complete);
}

TEST_CASE("response lines over max_response_line are an error", "[response_framer]") {
    Limits limits;
    limits.max_response_line = 10;
    CHECK(frame("* 1234567\r\n", limits).front().event.kind == ResponseEvent::Kind::Line);
    ResponseFramer framer(limits);
    const auto event = framer.next(std::string(100, 'x'));
    CHECK(event.kind == ResponseEvent::Kind::Error);
    CHECK(event.consumed == 11);
    CHECK(framer.next("* OK\r\n").kind == ResponseEvent::Kind::Error);
}

TEST_CASE("a response line inside one input is a view of it", "[response_framer]") {
    const std::string input = "* OK hi\r\n";
    ResponseFramer framer;
    CHECK(framer.next(input).data.data() == input.data());
}

TEST_CASE("a bare LF ends a response line", "[response_framer]") {
    const std::string input = "* OK hi\na1 OK\n";
    const auto seen = frame(input);
    REQUIRE(seen.size() == 2);
    CHECK(seen[0].data == "* OK hi\n");
    CHECK(seen[1].status == "OK");
}

TEST_CASE("line events carry the response's type, tag and status", "[response_framer]") {
    ResponseFramer framer;
    std::string_view input =
        "a1 NO [TRYCREATE] no such mailbox\r\n* 3 EXISTS\r\n+ go ahead\r\n* BYE going\r\n* LIST () \"/\" {2}\r\nab\r\n";
    ResponseEvent event = framer.next(input);
    REQUIRE(event.kind == ResponseEvent::Kind::Line);
    CHECK(event.type == ResponseType::Tagged);
    CHECK(event.tag == "a1");
    CHECK(event.status == "NO");
    CHECK(event.response_complete);
    input.remove_prefix(event.consumed);
    event = framer.next(input);
    CHECK(event.type == ResponseType::Untagged);
    CHECK(event.status.empty());
    input.remove_prefix(event.consumed);
    event = framer.next(input);
    CHECK(event.type == ResponseType::Continuation);
    input.remove_prefix(event.consumed);
    event = framer.next(input);
    CHECK(event.type == ResponseType::Untagged);
    CHECK(event.status == "BYE");
    input.remove_prefix(event.consumed);
    event = framer.next(input);
    CHECK(event.type == ResponseType::Untagged);
    CHECK(event.status.empty());
    CHECK(event.literal == 2u);
    CHECK_FALSE(event.response_complete);
}
