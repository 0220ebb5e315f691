#include "proxy/session/log.h"

#include <catch2/catch.hpp>

#include <string>

using imapfront::session::json_escape;

TEST_CASE("json_escape keeps valid UTF-8 as it is", "[log]") {
    CHECK(json_escape("jos\xc3\xa9@example.test") == "jos\xc3\xa9@example.test");
    CHECK(json_escape("\xe2\x82\xac \xf0\x9f\x93\xa7") == "\xe2\x82\xac \xf0\x9f\x93\xa7");
}

TEST_CASE("json_escape escapes each byte that is no valid UTF-8", "[log]") {
    // A Latin-1 é on its own, a cut-off sequence, an overlong '/', a surrogate,
    // a code point past U+10FFFF, and a stray continuation byte.
    CHECK(json_escape("jos\xe9") == "jos\\u00e9");
    CHECK(json_escape("a\xc3") == "a\\u00c3");
    CHECK(json_escape("\xc0\xaf") == "\\u00c0\\u00af");
    CHECK(json_escape("\xed\xa0\x80") == "\\u00ed\\u00a0\\u0080");
    CHECK(json_escape("\xf4\x90\x80\x80") == "\\u00f4\\u0090\\u0080\\u0080");
    CHECK(json_escape("\x80x") == "\\u0080x");
}

TEST_CASE("json_escape escapes quotes, backslashes and control bytes", "[log]") {
    CHECK(json_escape("a\"b\\c") == "a\\\"b\\\\c");
    CHECK(json_escape("l1\nl2\r\t") == "l1\\nl2\\r\\t");
    CHECK(json_escape(std::string("\x00\x1b\x7f", 3)) == "\\u0000\\u001b\\u007f");
}
