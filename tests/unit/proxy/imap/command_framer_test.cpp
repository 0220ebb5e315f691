#include "proxy/imap/command_framer.h"

#include "framer_driver.h"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace imapfront::imap;
using imapfront::imap::test::feed_every_way;
using imapfront::imap::test::joined;
using namespace std::string_literals;

namespace {

// One event of a whole-input feed, with its bytes and the framer's tag and
// name copied out at that moment.
struct Seen {
    CommandEvent event;
    std::string data;
    std::string tag;
    std::string name;
};

// Feeds `input` in one piece (after checking every other way of feeding it
// gives the same events) and returns the events.
std::vector<Seen> frame(std::string_view input, Limits limits = {}) {
    feed_every_way<CommandFramer>(input, limits);
    CommandFramer framer(limits);
    std::vector<Seen> seen;
    for (int guard = 0; guard < 10000; ++guard) {
        const auto event = framer.next(input);
        if (event.kind == CommandEvent::Kind::NeedMore) {
            break;
        }
        seen.push_back({event, std::string(event.data), std::string(framer.tag()), std::string(framer.name())});
        input.remove_prefix(event.consumed);
        if (event.fatal) {
            break;
        }
    }
    return seen;
}

Seen only_event(std::string_view input, Limits limits = {}) {
    const auto seen = frame(input, limits);
    REQUIRE(seen.size() == 1);
    return seen.front();
}

Limits small_limits() {
    Limits limits;
    limits.max_line = 20;
    limits.max_tag = 4;
    limits.max_literal = 100;
    return limits;
}

}  // namespace

TEST_CASE("a simple command is one complete line with tag and upper-cased name", "[command_framer]") {
    const auto seen = only_event("a1 noop\r\n");
    CHECK(seen.event.kind == CommandEvent::Kind::Line);
    CHECK(seen.event.line_kind == LineKind::Command);
    CHECK(seen.event.first_line);
    CHECK(seen.event.command_complete);
    CHECK_FALSE(seen.event.literal);
    CHECK(seen.data == "a1 noop\r\n");
    CHECK(seen.tag == "a1");
    CHECK(seen.name == "NOOP");
}

TEST_CASE("pipelined commands come out one by one", "[command_framer]") {
    const std::string input = "a1 NOOP\r\na2 capability\r\nA.3 Logout\r\n";
    const auto seen = frame(input);
    REQUIRE(seen.size() == 3);
    CHECK(seen[0].name == "NOOP");
    CHECK(seen[1].tag == "a2");
    CHECK(seen[1].name == "CAPABILITY");
    CHECK(seen[2].tag == "A.3");
    CHECK(seen[2].name == "LOGOUT");
    CHECK(joined(feed_every_way<CommandFramer>(input)) == input);
}

TEST_CASE("a line inside one input is a view of it, one spanning inputs is whole", "[command_framer]") {
    const std::string input = "a1 NOOP\r\na2 NOOP\r\n";
    CommandFramer framer;
    const auto first = framer.next(input);
    CHECK(first.data.data() == input.data());
    const auto second = framer.next(std::string_view(input).substr(first.consumed));
    CHECK(second.data.data() == input.data() + first.consumed);

    CommandFramer split;
    CHECK(split.next("a1 NO").kind == CommandEvent::Kind::NeedMore);
    const auto whole = split.next("OP\r\n");
    CHECK(whole.data == "a1 NOOP\r\n");
    CHECK(whole.consumed == 4);
}

TEST_CASE("synchronizing literals split a command into lines and data", "[command_framer]") {
    const std::string input = "a1 LOGIN {3}\r\nbob {6}\r\nsecret\r\na2 NOOP\r\n";
    const auto seen = frame(input);
    REQUIRE(seen.size() == 6);
    CHECK(seen[0].data == "a1 LOGIN {3}\r\n");
    CHECK(seen[0].event.first_line);
    CHECK_FALSE(seen[0].event.command_complete);
    REQUIRE(seen[0].event.literal);
    CHECK(seen[0].event.literal->size == 3);
    CHECK(seen[0].event.literal->synchronizing);
    CHECK_FALSE(seen[0].event.literal->binary);
    CHECK(seen[1].event.kind == CommandEvent::Kind::LiteralData);
    CHECK(seen[1].data == "bob");
    CHECK(seen[1].event.literal_complete);
    CHECK(seen[2].data == " {6}\r\n");
    CHECK_FALSE(seen[2].event.first_line);
    CHECK(seen[3].data == "secret");
    CHECK(seen[4].data == "\r\n");
    CHECK(seen[4].event.command_complete);
    CHECK(seen[4].name == "LOGIN");
    CHECK(seen[5].name == "NOOP");
    CHECK(seen[5].event.first_line);
    CHECK(joined(feed_every_way<CommandFramer>(input)) == input);
}

TEST_CASE("non-synchronizing and binary literals are announced as such", "[command_framer]") {
    struct Case {
        std::string announcement;
        bool synchronizing;
        bool binary;
    };
    for (const auto& c : {Case{"{5+}", false, false}, Case{"~{5}", true, true}, Case{"~{5+}", false, true}}) {
        const std::string input = "a1 APPEND INBOX " + c.announcement + "\r\n" + "a\0\r\n}"s + "\r\n";
        INFO(c.announcement);
        const auto seen = frame(input);
        REQUIRE(seen.size() == 3);
        REQUIRE(seen[0].event.literal);
        CHECK(seen[0].event.literal->size == 5);
        CHECK(seen[0].event.literal->synchronizing == c.synchronizing);
        CHECK(seen[0].event.literal->binary == c.binary);
        CHECK(seen[1].data == "a\0\r\n}"s);
        CHECK(seen[2].event.command_complete);
        CHECK(joined(feed_every_way<CommandFramer>(input)) == input);
    }
}

TEST_CASE("literal data is never scanned for lines or announcements", "[command_framer]") {
    const std::string input = "a1 APPEND x {12}\r\nb2 NOOP {9}\n\r\na3 NOOP\r\n";
    const auto seen = frame(input);
    REQUIRE(seen.size() == 4);
    CHECK(seen[1].data == "b2 NOOP {9}\n");
    CHECK(seen[2].data == "\r\n");
    CHECK(seen[3].tag == "a3");
}

TEST_CASE("an empty literal still reports its (empty) data", "[command_framer]") {
    const std::string input = "a1 LOGIN {0}\r\n {0+}\r\n\r\n";
    const auto seen = frame(input);
    REQUIRE(seen.size() == 5);
    CHECK(seen[1].event.kind == CommandEvent::Kind::LiteralData);
    CHECK(seen[1].data.empty());
    CHECK(seen[1].event.literal_complete);
    CHECK(seen[3].event.kind == CommandEvent::Kind::LiteralData);
    CHECK(seen[4].event.command_complete);
}

TEST_CASE("a 10 MiB literal passed in chunks comes back as views of the chunks", "[command_framer]") {
    constexpr std::size_t size = 10u * 1024 * 1024;
    constexpr std::size_t chunk_size = 64 * 1024;
    const std::string data(size, 'x');
    CommandFramer framer;
    const std::string line = "a1 APPEND INBOX {" + std::to_string(size) + "+}\r\n";
    const auto announced = framer.next(line);
    REQUIRE(announced.literal);
    REQUIRE(framer.in_literal());

    std::size_t seen = 0;
    std::size_t completions = 0;
    for (std::size_t offset = 0; offset < size; offset += chunk_size) {
        const std::string_view chunk = std::string_view(data).substr(offset, chunk_size);
        const auto event = framer.next(chunk);
        REQUIRE(event.kind == CommandEvent::Kind::LiteralData);
        REQUIRE(event.data.data() == chunk.data());
        REQUIRE(event.consumed == chunk.size());
        seen += event.data.size();
        completions += event.literal_complete ? 1 : 0;
    }
    CHECK(seen == size);
    CHECK(completions == 1);
    CHECK_FALSE(framer.in_literal());
    const auto end = framer.next("\r\n");
    CHECK(end.command_complete);
}

TEST_CASE("a literal announcement inside a quoted string is no literal", "[command_framer]") {
    for (const std::string& input : std::vector<std::string>{"a1 SELECT \"x {5}\"\r\n", "a1 SELECT \"x\\\" {5}\"\r\n",
                                                             "a1 SELECT \"x\\\\\" {5}\r\nhello\r\n"}) {
        INFO(input);
        const auto seen = frame(input);
        REQUIRE_FALSE(seen.empty());
        CHECK(seen[0].event.kind == CommandEvent::Kind::Line);
        CHECK(seen[0].event.literal.has_value() == (seen.size() > 1));
    }
}

TEST_CASE("a bare LF ends a line and the line keeps its bytes", "[command_framer]") {
    const std::string input = "a1 NOOP\na2 LOGIN {2}\nab\n";
    const auto seen = frame(input);
    REQUIRE(seen.size() == 4);
    CHECK(seen[0].data == "a1 NOOP\n");
    CHECK(seen[0].event.command_complete);
    CHECK(seen[2].data == "ab");
    CHECK(seen[3].data == "\n");
    CHECK(joined(feed_every_way<CommandFramer>(input)) == input);
}

TEST_CASE("after IDLE a DONE line ends the IDLE", "[command_framer]") {
    const std::string input = "a1 IDLE\r\ndone\r\na2 NOOP\r\n";
    const auto seen = frame(input);
    REQUIRE(seen.size() == 3);
    CHECK(seen[0].name == "IDLE");
    CHECK(seen[1].event.kind == CommandEvent::Kind::Line);
    CHECK(seen[1].event.line_kind == LineKind::IdleDone);
    CHECK(seen[1].event.command_complete);
    CHECK(seen[1].tag == "a1");
    CHECK(seen[2].event.line_kind == LineKind::Command);
    CHECK(seen[2].name == "NOOP");
}

TEST_CASE("after IDLE any other line is a command, and DONE alone is not", "[command_framer]") {
    const auto seen = frame("a1 IDLE\r\na2 NOOP\r\nDONE\r\n");
    REQUIRE(seen.size() == 3);
    CHECK(seen[1].event.line_kind == LineKind::Command);
    CHECK(seen[1].name == "NOOP");
    CHECK(seen[2].event.kind == CommandEvent::Kind::Error);
    CHECK(seen[2].event.error == FramerError::BadCommand);
}

TEST_CASE("expect_raw_line makes the next line raw, then commands resume", "[command_framer]") {
    const std::string input = "a1 AUTHENTICATE PLAIN\r\nAGJvYgBz {5}\r\na2 NOOP\r\n";
    CommandFramer framer;
    std::string_view rest = input;
    const auto command = framer.next(rest);
    REQUIRE(command.command_complete);
    rest.remove_prefix(command.consumed);
    framer.expect_raw_line();
    const auto raw = framer.next(rest);
    CHECK(raw.kind == CommandEvent::Kind::Line);
    CHECK(raw.line_kind == LineKind::Raw);
    CHECK(raw.data == "AGJvYgBz {5}\r\n");
    CHECK_FALSE(raw.literal);
    CHECK(framer.tag() == "a1");
    rest.remove_prefix(raw.consumed);
    const auto next = framer.next(rest);
    CHECK(next.line_kind == LineKind::Command);
    CHECK(framer.name() == "NOOP");
}

TEST_CASE("raw lines are bounded by max_line", "[command_framer]") {
    CommandFramer framer(small_limits());
    framer.expect_raw_line();
    const auto event = framer.next(std::string(40, 'A') + "\r\n");
    CHECK(event.kind == CommandEvent::Kind::Error);
    CHECK(event.error == FramerError::LineTooLong);
    CHECK(event.fatal);
}

TEST_CASE("invalid tags are BadTag, not fatal, and never kept", "[command_framer]") {
    for (const std::string& input : std::vector<std::string>{
             "\r\n", " NOOP\r\n", "a+1 NOOP\r\n", "a*1 NOOP\r\n", "a{1 NOOP\r\n", "a\"1 NOOP\r\n", "a]%1 NOOP\r\n",
             "abcde NOOP\r\n", "\xc3\xa9 NOOP\r\n", "\x01 NOOP\r\n", "a\0 NOOP\r\n"s, "a1\tNOOP\r\n"}) {
        INFO(input);
        const auto seen = frame(input + "b1 NOOP\r\n", small_limits());
        REQUIRE(seen.size() == 2);
        CHECK(seen[0].event.kind == CommandEvent::Kind::Error);
        CHECK(seen[0].event.error == FramerError::BadTag);
        CHECK_FALSE(seen[0].event.fatal);
        CHECK(seen[0].tag.empty());
        CHECK(seen[0].data == input);
        CHECK(seen[1].tag == "b1");
    }
}

TEST_CASE("a tag of max_tag characters is accepted", "[command_framer]") {
    const auto seen = only_event("abcd NOOP\r\n", small_limits());
    CHECK(seen.event.kind == CommandEvent::Kind::Line);
    CHECK(seen.tag == "abcd");
}

TEST_CASE("a missing or invalid command name is BadCommand with the tag kept", "[command_framer]") {
    for (const std::string& input : std::vector<std::string>{"a1\r\n", "a1 \r\n", "a1  NOOP\r\n", "a1 NO\"OP\r\n",
                                                             "a1 NO\rOP\r\n", "a1 (NOOP)\r\n", "a1 N\xc3\xa9\r\n"}) {
        INFO(input);
        const auto seen = frame(input + "b1 NOOP\r\n");
        REQUIRE(seen.size() == 2);
        CHECK(seen[0].event.error == FramerError::BadCommand);
        CHECK_FALSE(seen[0].event.fatal);
        CHECK(seen[0].tag == "a1");
        CHECK(seen[1].name == "NOOP");
    }
}

TEST_CASE("a NUL byte in a line is BadCommand, not fatal", "[command_framer]") {
    const std::string input = "a1 LOGIN bo\0b pw\r\na2 NOOP\r\n"s;
    const auto seen = frame(input);
    REQUIRE(seen.size() == 2);
    CHECK(seen[0].event.error == FramerError::BadCommand);
    CHECK_FALSE(seen[0].event.fatal);
    CHECK(seen[1].name == "NOOP");

    const auto after_literal = frame("a1 LOGIN {1}\r\nx \0\r\n"s);
    REQUIRE(after_literal.size() == 3);
    CHECK(after_literal[2].event.error == FramerError::BadCommand);
}

TEST_CASE("a bad line announcing a non-synchronizing literal is fatal", "[command_framer]") {
    for (const std::string& input : std::vector<std::string>{"+ NOOP {5+}\r\nhello", "a1 {5+}\r\nhello"}) {
        INFO(input);
        const auto seen = frame(input);
        REQUIRE(seen.size() == 1);
        CHECK(seen[0].event.kind == CommandEvent::Kind::Error);
        CHECK(seen[0].event.fatal);
    }
}

TEST_CASE("a literal over max_literal is refused, fatally when non-synchronizing", "[command_framer]") {
    const auto sync = frame("a1 APPEND x {101}\r\na2 NOOP\r\n", small_limits());
    REQUIRE(sync.size() == 2);
    CHECK(sync[0].event.error == FramerError::LiteralTooLarge);
    CHECK_FALSE(sync[0].event.fatal);
    CHECK(sync[0].tag == "a1");
    REQUIRE(sync[0].event.literal);
    CHECK(sync[0].event.literal->size == 101);
    CHECK(sync[1].name == "NOOP");

    const auto plus = frame("a1 APPEND x {101+}\r\n", small_limits());
    REQUIRE(plus.size() == 1);
    CHECK(plus[0].event.error == FramerError::LiteralTooLarge);
    CHECK(plus[0].event.fatal);

    const auto at_limit = frame("a1 APPEND x {100}\r\n", small_limits());
    REQUIRE(at_limit.size() == 1);
    CHECK(at_limit[0].event.kind == CommandEvent::Kind::Line);
}

TEST_CASE("huge literal sizes are refused without overflow", "[command_framer]") {
    struct Case {
        const char* size;
        std::uint64_t reported;
    };
    for (const auto& c : {Case{"4294967296", 4294967296ull}, Case{"18446744073709551615", 18446744073709551615ull},
                          Case{"18446744073709551616", 18446744073709551615ull},
                          Case{"99999999999999999999999999", 18446744073709551615ull},
                          Case{"000000000000000000001", 18446744073709551615ull}}) {
        INFO(c.size);
        const auto seen = frame(std::string("a1 APPEND x {") + c.size + "}\r\na2 NOOP\r\n", preauth_limits());
        REQUIRE(seen.size() == 2);
        CHECK(seen[0].event.error == FramerError::LiteralTooLarge);
        CHECK_FALSE(seen[0].event.fatal);
        REQUIRE(seen[0].event.literal);
        CHECK(seen[0].event.literal->size == c.reported);
    }
}

TEST_CASE("malformed literal announcements are BadLiteral", "[command_framer]") {
    for (const std::string& announcement : std::vector<std::string>{"{12x}", "{-5}", "{}", "{ 5}", "{5 }", "{0x10}"}) {
        INFO(announcement);
        const auto seen = frame("a1 LOGIN " + announcement + "\r\na2 NOOP\r\n");
        REQUIRE(seen.size() == 2);
        CHECK(seen[0].event.error == FramerError::BadLiteral);
        CHECK_FALSE(seen[0].event.fatal);
        CHECK(seen[1].name == "NOOP");
    }
    // A "+" means data may follow at once, and its length is unknown.
    for (const std::string& announcement : std::vector<std::string>{"{-5+}", "{+}", "{5++}", "{5+5}"}) {
        INFO(announcement);
        const auto fatal = frame("a1 LOGIN " + announcement + "\r\nhello");
        REQUIRE(fatal.size() == 1);
        CHECK(fatal[0].event.error == FramerError::BadLiteral);
        CHECK(fatal[0].event.fatal);
    }
}

TEST_CASE("braces not at the end of a line announce nothing", "[command_framer]") {
    const auto seen = only_event("a1 SEARCH {5} x\r\n");
    CHECK(seen.event.command_complete);
    CHECK_FALSE(seen.event.literal);
    const auto carriage = only_event("a1 SEARCH {5}\r\r\n");
    CHECK(carriage.event.command_complete);
}

TEST_CASE("lines over max_line are fatal, as soon as the limit is passed", "[command_framer]") {
    const std::string exact = "a1 LOGIN 12345678901";  // 20 bytes
    CHECK(only_event(exact + "\r\n", small_limits()).event.kind == CommandEvent::Kind::Line);
    CHECK(only_event(exact + "\n", small_limits()).event.kind == CommandEvent::Kind::Line);

    const auto over = only_event(exact + "8\r\n", small_limits());
    CHECK(over.event.error == FramerError::LineTooLong);
    CHECK(over.event.fatal);

    CommandFramer framer(small_limits());
    const std::string endless(1000, 'a');
    const auto event = framer.next(endless);
    CHECK(event.error == FramerError::LineTooLong);
    CHECK(event.consumed == 21);
    const auto after = framer.next("a2 NOOP\r\n");
    CHECK(after.kind == CommandEvent::Kind::Error);
    CHECK(after.consumed == 0);
}

TEST_CASE("the line limit applies to each line of a command, not its literals", "[command_framer]") {
    const std::string literal(50, 'x');
    const auto seen = frame("a1 APPEND b {50}\r\n" + literal + " {3}\r\nabc\r\n", small_limits());
    REQUIRE(seen.size() == 5);
    CHECK(seen[4].event.command_complete);
}

TEST_CASE("set_limits changes the limits for what follows", "[command_framer]") {
    CommandFramer framer(preauth_limits());
    CHECK(framer.next("a1 APPEND x {10000}\r\n").error == FramerError::LiteralTooLarge);
    framer.set_limits(Limits{});
    const auto event = framer.next("a2 APPEND x {10000}\r\n");
    CHECK(event.kind == CommandEvent::Kind::Line);
    CHECK(framer.in_literal());
}

TEST_CASE("a refused synchronizing literal is cancelled and the next bytes are a new command", "[command_framer]") {
    CommandFramer framer;
    std::string_view input = "A1 APPEND nosuchbox {5}\r\n";
    CommandEvent event = framer.next(input);
    REQUIRE(event.kind == CommandEvent::Kind::Line);
    REQUIRE(event.literal);
    REQUIRE(framer.in_literal());
    // The server answered NO without "+": the client sends its next command instead.
    framer.cancel_literal();
    CHECK_FALSE(framer.in_literal());
    input = "A2 NOOP\r\n";
    event = framer.next(input);
    REQUIRE(event.kind == CommandEvent::Kind::Line);
    CHECK(event.first_line);
    CHECK(event.command_complete);
    CHECK(framer.tag() == "A2");
    CHECK(framer.name() == "NOOP");
}
