#include "proxy/imap/sasl.h"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace imapfront::imap;
using namespace std::string_literals;

TEST_CASE("base64 follows the RFC 4648 test vectors", "[sasl]") {
    const std::vector<std::pair<std::string, std::string>> vectors{{"", ""},
                                                                   {"f", "Zg=="},
                                                                   {"fo", "Zm8="},
                                                                   {"foo", "Zm9v"},
                                                                   {"foob", "Zm9vYg=="},
                                                                   {"fooba", "Zm9vYmE="},
                                                                   {"foobar", "Zm9vYmFy"}};
    for (const auto& [plain, encoded] : vectors) {
        CHECK(base64_encode(plain) == encoded);
        CHECK(base64_decode(encoded) == plain);
    }
}

TEST_CASE("base64 round-trips every byte value", "[sasl]") {
    std::string bytes;
    for (int i = 0; i < 256; ++i) {
        bytes.push_back(static_cast<char>(i));
    }
    for (std::size_t length = 0; length <= bytes.size(); length += 37) {
        const auto part = bytes.substr(bytes.size() - length);
        CHECK(base64_decode(base64_encode(part)) == part);
    }
}

TEST_CASE("base64 decoding is strict", "[sasl]") {
    for (const std::string& text :
         std::vector<std::string>{"Zg", "Zg=", "Zg===", "=Zg=", "Zm=v", "Zm9v\r\n", "Zm9 v", "Zm9-", "Zm9_",
                                  "Zh==", "Zm9=", "====", "Zg==Zg==", "Zm9v\0"s}) {
        INFO(text);
        CHECK_FALSE(base64_decode(text));
    }
}

TEST_CASE("SASL PLAIN messages decode into their three parts", "[sasl]") {
    const auto plain = decode_sasl_plain("admin\0bob\0s3 cr\"t"s);
    REQUIRE(plain);
    CHECK(plain->authzid == "admin");
    CHECK(plain->authcid == "bob");
    CHECK(plain->password == "s3 cr\"t");

    const auto no_authzid = decode_sasl_plain("\0bob\0pw"s);
    REQUIRE(no_authzid);
    CHECK(no_authzid->authzid.empty());
}

TEST_CASE("SASL PLAIN messages without two NULs or with empty parts are refused", "[sasl]") {
    for (const std::string& message :
         std::vector<std::string>{"", "bob", "\0bob"s, "\0bob\0pw\0"s, "\0\0pw"s, "\0bob\0"s, "a\0b\0c\0d"s}) {
        CHECK_FALSE(decode_sasl_plain(message));
    }
}

TEST_CASE("SASL PLAIN encoding is the inverse of decoding", "[sasl]") {
    const SaslPlain plain{"bob@abcd.com", "proxy", "m\xc3\xa4ster pw"};
    CHECK(encode_sasl_plain(plain) == "bob@abcd.com\0proxy\0m\xc3\xa4ster pw"s);
    const auto back = decode_sasl_plain(base64_decode(base64_encode(encode_sasl_plain(plain))).value());
    REQUIRE(back);
    CHECK(back->authzid == plain.authzid);
    CHECK(back->authcid == plain.authcid);
    CHECK(back->password == plain.password);
}
