#include "proxy/imap/arguments.h"

#include "proxy/imap/command_framer.h"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace imapfront::imap;
using namespace std::string_literals;

namespace {

using Values = std::vector<std::string>;

Values parsed(std::string_view wire) {
    const auto result = parse_astrings(wire);
    INFO(wire << " -> " << result.error);
    REQUIRE(result.ok);
    return result.values;
}

// Writes the pieces to a CommandFramer as a client would (each piece after
// the server's "+"), and returns the arguments as the server sees them:
// everything after the command name, lines and literals joined.
std::string through_framer(const EncodedCommand& pieces, std::string_view name) {
    CommandFramer framer;
    std::string command;
    bool complete = false;
    for (const auto& piece : pieces) {
        REQUIRE_FALSE(complete);
        std::string_view rest = piece;
        while (!rest.empty()) {
            const auto event = framer.next(rest);
            REQUIRE(event.kind != CommandEvent::Kind::Error);
            REQUIRE(event.kind != CommandEvent::Kind::NeedMore);
            command.append(event.data);
            complete = event.command_complete;
            rest.remove_prefix(event.consumed);
        }
    }
    REQUIRE(complete);
    REQUIRE(framer.name() == name);
    const std::size_t name_end = command.find(' ', command.find(' ') + 1);
    return name_end == std::string::npos ? "\r\n" : command.substr(name_end);
}

}  // namespace

TEST_CASE("parse_astrings reads atoms, quoted strings and literals", "[arguments]") {
    CHECK(parsed(" bob secret\r\n") == Values{"bob", "secret"});
    CHECK(parsed(" \"b o\\\"b\" \"a\\\\b\"\r\n") == Values{"b o\"b", "a\\b"});
    CHECK(parsed(" {3}\r\nbob {6+}\r\nsec\r\nt\r\n") == Values{"bob", "sec\r\nt"});
    CHECK(parsed(" \"\" x]y\r\n") == Values{"", "x]y"});
    CHECK(parsed(" {0}\r\n\n") == Values{""});
    CHECK(parsed("\r\n").empty());
    CHECK(parsed(" bob\n") == Values{"bob"});
}

TEST_CASE("parse_astrings refuses anything else with a reason", "[arguments]") {
    for (const std::string& wire : std::vector<std::string>{
             " bob", " bob  pw\r\n", "bob\r\n", " (bob)\r\n", " \"bob\r\n", " \"a\\b\"\r\n", " {5}\r\nabc\r\n",
             " {x}\r\nabc\r\n", " {}\r\n\r\n", " {3}abc\r\n", " {99999999999999999999999}\r\nx\r\n", " ~{3}\r\nabc\r\n",
             " bob\r\nextra", " \"a\rb\"\r\n", " \"a\0b\"\r\n"s, " %\r\n", " \r\n"}) {
        INFO(wire);
        const auto result = parse_astrings(wire);
        CHECK_FALSE(result.ok);
        CHECK_FALSE(result.error.empty());
    }
}

TEST_CASE("is_atom accepts ASTRING-CHARs only", "[arguments]") {
    CHECK(is_atom("bob@example.com"));
    CHECK(is_atom("a]b"));
    CHECK(is_atom("NIL"));
    CHECK_FALSE(is_atom(""));
    for (const std::string& s :
         std::vector<std::string>{"a b", "a\"", "a\\", "a(", "a)", "a{", "a%", "a*", "\xc3\xa9", "a\r", "a\0"s}) {
        INFO(s);
        CHECK_FALSE(is_atom(s));
    }
}

TEST_CASE("encode_command picks atom, quoted string or literal", "[arguments]") {
    CHECK(encode_command("p1", "LOGIN", {"bob", "pass word"}, false) ==
          EncodedCommand{"p1 LOGIN bob \"pass word\"\r\n"});
    CHECK(encode_command("p1", "LOGIN", {"", "a\"b\\c"}, false) == EncodedCommand{"p1 LOGIN \"\" \"a\\\"b\\\\c\"\r\n"});
    CHECK(encode_command("p1", "LOGIN", {"bob", "p\xc3\xa9"}, true) ==
          EncodedCommand{"p1 LOGIN bob {3+}\r\np\xc3\xa9\r\n"});
    CHECK(encode_command("p1", "LOGIN", {"b\nb", "p\xc3\xa9"}, false) ==
          EncodedCommand{"p1 LOGIN {3}\r\n", "b\nb {3}\r\n", "p\xc3\xa9\r\n"});
    CHECK(encode_command("p1", "CAPABILITY", {}, false) == EncodedCommand{"p1 CAPABILITY\r\n"});
}

TEST_CASE("awkward passwords round-trip through encoder, framer and parser", "[arguments]") {
    const std::vector<std::string> passwords{"plain",
                                             "with space",
                                             "quo\"te",
                                             "back\\slash",
                                             "\\\"",
                                             "\"",
                                             "\\",
                                             "",
                                             "{5}",
                                             "{5+}",
                                             "tab\there",
                                             "cr\rlf\n",
                                             "\r\n",
                                             "nul\0in"s,
                                             "\xff\xfe\x80",
                                             "p\xc3\xa9",
                                             " lead",
                                             "trail ",
                                             "a]b",
                                             "(paren)",
                                             "%*",
                                             "~{3}",
                                             "line\r\n{3}\r\nabc",
                                             "\x7f",
                                             std::string(300, '"')};
    for (const bool literal_plus : {false, true}) {
        for (const auto& password : passwords) {
            INFO("password " << password << " literal_plus " << literal_plus);
            const auto pieces = encode_command("p1", "LOGIN", {"user@example.com", password}, literal_plus);
            if (literal_plus) {
                CHECK(pieces.size() == 1);
            }
            const auto result = parse_astrings(through_framer(pieces, "LOGIN"));
            REQUIRE(result.ok);
            CHECK(result.values == Values{"user@example.com", password});
        }
    }
}

TEST_CASE("quote_for_response gives an atom or a quoted string, or nothing", "[arguments]") {
    CHECK(quote_for_response("bob@abcd.com") == "bob@abcd.com");
    CHECK(quote_for_response("bob smith") == "\"bob smith\"");
    CHECK(quote_for_response("") == "\"\"");
    CHECK(quote_for_response("a\"b") == "\"a\\\"b\"");
    CHECK_FALSE(quote_for_response("a\r\nb"));
    CHECK_FALSE(quote_for_response("p\xc3\xa9"));
}
