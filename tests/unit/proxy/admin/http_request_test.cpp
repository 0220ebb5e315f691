#include "proxy/admin/http_request.h"

#include <catch2/catch.hpp>

#include <string>
#include <string_view>

using namespace imapfront::admin;
using Status = HttpRequestParser::Status;

namespace {

Status feed_whole(HttpRequestParser& parser, std::string_view bytes) { return parser.feed(bytes); }

// Feeds one byte at a time and checks that no status before the last byte is final.
Status feed_bytewise(HttpRequestParser& parser, std::string_view bytes) {
    for (std::size_t i = 0; i < bytes.size(); ++i) {
        const Status status = parser.feed(bytes.substr(i, 1));
        if (status != Status::NeedMore) return status;
    }
    return parser.status();
}

}  // namespace

TEST_CASE("a GET with headers parses in one piece and byte by byte", "[admin][http]") {
    const std::string head = "GET /metrics?name=x HTTP/1.1\r\nHost: localhost:9143\r\nUser-Agent:  probe/1.0 \r\n\r\n";
    for (const auto feed : {feed_whole, feed_bytewise}) {
        HttpRequestParser parser;
        REQUIRE(feed(parser, head) == Status::Complete);
        const HttpRequest& request = parser.request();
        CHECK(request.method == "GET");
        CHECK(request.target == "/metrics?name=x");
        CHECK(request.path() == "/metrics");
        CHECK(request.minor_version == 1);
        REQUIRE(request.headers.size() == 2);
        CHECK(request.headers[0] == std::pair<std::string, std::string>{"Host", "localhost:9143"});
        CHECK(request.headers[1] == std::pair<std::string, std::string>{"User-Agent", "probe/1.0"});
    }
}

TEST_CASE("the head is incomplete until the blank line", "[admin][http]") {
    HttpRequestParser parser;
    CHECK(parser.feed("GET / HTTP/1.0\r\nHost: x\r\n") == Status::NeedMore);
    CHECK(parser.feed("\r") == Status::NeedMore);
    CHECK(parser.feed("\n") == Status::Complete);
    CHECK(parser.request().minor_version == 0);
}

TEST_CASE("bare LF line ends, leading blank lines and a missing Host are accepted", "[admin][http]") {
    HttpRequestParser parser;
    CHECK(parser.feed("\r\n\nGET /healthz HTTP/1.1\n\n") == Status::Complete);
    CHECK(parser.request().path() == "/healthz");
    CHECK(parser.request().headers.empty());
}

TEST_CASE("bytes after the head change nothing", "[admin][http]") {
    HttpRequestParser parser;
    CHECK(parser.feed("GET /readyz HTTP/1.1\r\n\r\nbody bytes\r\n\r\n") == Status::Complete);
    CHECK(parser.feed("more") == Status::Complete);
    CHECK(parser.request().target == "/readyz");
}

TEST_CASE("other methods parse; the router decides about them", "[admin][http]") {
    HttpRequestParser parser;
    CHECK(parser.feed("POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n") == Status::Complete);
    CHECK(parser.request().method == "POST");
}

TEST_CASE("garbage is refused with a reason", "[admin][http]") {
    using namespace std::string_view_literals;
    const std::string_view garbage[] = {
        "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\n"sv,  // a TLS ClientHello
        "GET\r\n",
        "GET /\r\n",  // HTTP/0.9
        "GET / HTTP/2.0\r\n",
        "GET / HTTP/1.10\r\n",
        "GET / FTP/1.1\r\n",
        "GET  / HTTP/1.1\r\n",  // empty target between two spaces
        "GET http://host/ HTTP/1.1\r\n",
        "G(T / HTTP/1.1\r\n",
        "GET /a\x7f HTTP/1.1\r\n",
        "GET / HTTP/1.1\rX\r\n",
        "GET / HTTP/1.1\r\nHost x\r\n",
        "GET / HTTP/1.1\r\nHost : x\r\n",
        "GET / HTTP/1.1\r\n: x\r\n",
        "GET / HTTP/1.1\r\nA: b\r\n folded\r\n",
        "GET / HTTP/1.1\r\nA: b\x01\r\n",
        "* OK IMAP4rev1 ready\r\n",
    };
    for (const std::string_view input : garbage) {
        INFO(input);
        HttpRequestParser whole;
        CHECK(whole.feed(input) == Status::Invalid);
        CHECK_FALSE(whole.error().empty());
        HttpRequestParser bytewise;
        CHECK(feed_bytewise(bytewise, input) == Status::Invalid);
    }
}

TEST_CASE("a head of exactly the limit passes, one byte more does not", "[admin][http]") {
    const std::string start = "GET / HTTP/1.1\r\nX-Pad: ";
    const std::string end = "\r\n\r\n";
    const std::string fits =
        start + std::string(HttpRequestParser::max_head_bytes - start.size() - end.size(), 'p') + end;
    REQUIRE(fits.size() == HttpRequestParser::max_head_bytes);
    HttpRequestParser exact;
    CHECK(exact.feed(fits) == Status::Complete);

    const std::string over =
        start + std::string(HttpRequestParser::max_head_bytes - start.size() - end.size() + 1, 'p') + end;
    HttpRequestParser whole;
    CHECK(whole.feed(over) == Status::TooLarge);
    HttpRequestParser bytewise;
    CHECK(feed_bytewise(bytewise, over) == Status::TooLarge);
}

TEST_CASE("an endless line without a newline stops at the limit", "[admin][http]") {
    HttpRequestParser parser;
    const std::string chunk(1000, 'A');
    Status status = Status::NeedMore;
    int chunks = 0;
    while (status == Status::NeedMore && chunks < 100) {
        status = parser.feed(chunk);
        ++chunks;
    }
    CHECK(status == Status::TooLarge);
    CHECK(chunks == 9);
}

TEST_CASE("after a final status the parser ignores further bytes", "[admin][http]") {
    HttpRequestParser parser;
    REQUIRE(parser.feed("BAD LINE\r\n") == Status::Invalid);
    CHECK(parser.feed("GET / HTTP/1.1\r\n\r\n") == Status::Invalid);
}
