// ClientSession end to end inside one loop: a real client connection, the
// session as the server makes it, and a scripted backend (session_fixture.h).
// Each test ends by checking that no session, backend connection or libuv
// handle is left.
#include "session_fixture.h"

#include <catch2/catch.hpp>

#include <cstdlib>
#include <string>

using namespace imapfront;
using namespace imapfront::session;
using namespace imapfront::session::testing;
using namespace std::chrono_literals;

namespace {

void require_all_gone(SessionFixture& fixture) {
    std::string leftover;
    const bool gone = fixture.all_gone(leftover);
    INFO(leftover);
    CHECK(gone);
}

const std::string multiaccount_yaml =
    "profiles:\n"
    "  alice: [alice@example.com, bob@example.com]\n";

}  // namespace

TEST_CASE("pre-auth: CAPABILITY, NOOP, an unknown command and LOGOUT are answered without a backend",
          "[session][preauth]") {
    SessionFixture fixture;
    auto client = fixture.connect();
    client->send("c1 CAPABILITY\r\n");
    REQUIRE(client->wait_for("* CAPABILITY "));
    REQUIRE(client->wait_for("c1 OK"));
    client->send("c2 NOOP\r\nc3 FROBNICATE\r\n");
    REQUIRE(client->wait_for("c2 OK"));
    REQUIRE(client->wait_for("c3 BAD"));
    CHECK(fixture.host.only().state() == State::NotAuthenticated);
    client->send("c4 LOGOUT\r\n");
    REQUIRE(client->wait_for("* BYE"));
    REQUIRE(client->wait_for("c4 OK"));
    CHECK(client->wait_closed());
    CHECK(fixture.backend.accepted() == 0);
    CHECK(fixture.host.finished == 1);
    require_all_gone(fixture);
}

TEST_CASE("pre-auth: a line with no command and a client that hangs up leave nothing behind", "[session][preauth]") {
    SessionFixture fixture;
    auto client = fixture.connect();
    client->send("\r\nx\r\n");
    REQUIRE(client->wait_for("BAD"));
    client->close();
    REQUIRE(run_until(fixture.loop, [&] { return fixture.host.finished == 1; }));
    require_all_gone(fixture);
}

TEST_CASE("login passes the client's credentials through and relays afterwards", "[session][login]") {
    SessionFixture fixture;
    auto client = fixture.connect();
    client->send("a1 LOGIN alice@example.com secret\r\n");
    REQUIRE(client->wait_for("a1 OK [CAPABILITY "));
    CHECK(client->unread().find("MULTIACCOUNT") != std::string::npos);
    CHECK(client->unread().find("AUTH=PLAIN") == std::string::npos);
    CHECK(fixture.backend.accepted() == 1);
    CHECK(fixture.host.only().state() == State::Authenticated);
    client->send("a2 NOOP\r\n");
    REQUIRE(client->wait_for("a2 OK"));
    CHECK(fixture.backend.received("NOOP"));
    client->send("a3 LOGOUT\r\n");
    REQUIRE(client->wait_for("* BYE"));
    REQUIRE(client->wait_for("a3 OK"));
    CHECK(client->wait_closed());
    require_all_gone(fixture);
}

TEST_CASE("AUTHENTICATE PLAIN with an initial response logs in", "[session][login]") {
    SessionFixture fixture;
    auto client = fixture.connect();
    // "\0alice@example.com\0secret"
    client->send("a1 AUTHENTICATE PLAIN AGFsaWNlQGV4YW1wbGUuY29tAHNlY3JldA==\r\n");
    REQUIRE(client->wait_for("a1 OK"));
    CHECK(fixture.host.only().state() == State::Authenticated);
    client->close();
    require_all_gone(fixture);
}

TEST_CASE("a refused login answers NO, closes the backend connection and keeps the session", "[session][login]") {
    ScriptedBackend::Script script;
    SessionFixture fixture(script, "limits: { auth_failure_delay: 10ms }\n");
    auto client = fixture.connect();
    client->send("a1 LOGIN alice@example.com wrong\r\n");
    REQUIRE(client->wait_for("a1 NO"));
    CHECK(fixture.host.only().state() == State::NotAuthenticated);
    CHECK(run_until(fixture.loop, [&] { return fixture.backend.open_connections() == 0; }));
    client->send("a2 LOGIN alice@example.com secret\r\n");
    REQUIRE(client->wait_for("a2 OK"));
    client->close();
    require_all_gone(fixture);
}

TEST_CASE("an APPEND with a synchronizing literal is relayed byte for byte", "[session][relay]") {
    SessionFixture fixture;
    auto client = fixture.logged_in();
    const std::string message = "From: a@example.com\r\nSubject: hi\r\n\r\nbody {5}\r\n* OK not a response\r\n";
    client->send("b1 APPEND INBOX {" + std::to_string(message.size()) + "}\r\n");
    REQUIRE(client->wait_for("+ "));
    client->send(message + "\r\n");
    REQUIRE(client->wait_for("b1 OK [APPENDUID"));
    CHECK(fixture.backend.commands().back() ==
          "b1 APPEND INBOX {" + std::to_string(message.size()) + "}\r\n" + message);
    client->close();
    require_all_gone(fixture);
}

TEST_CASE("pipelined commands with a non-synchronizing literal come back in order", "[session][relay]") {
    SessionFixture fixture;
    auto client = fixture.logged_in();
    client->send("p1 SELECT INBOX\r\np2 APPEND INBOX {3+}\r\nabc\r\np3 NOOP\r\np4 UNSELECT\r\n");
    REQUIRE(client->wait_for("* 3 EXISTS"));
    REQUIRE(client->wait_for("p1 OK [READ-WRITE]"));
    REQUIRE(client->wait_for("p2 OK"));
    REQUIRE(client->wait_for("p3 OK"));
    REQUIRE(client->wait_for("p4 OK"));
    CHECK(fixture.backend.received("APPEND INBOX {3+}\r\nabc"));
    client->close();
    require_all_gone(fixture);
}

TEST_CASE("drain while idle: BYE at once and the session ends", "[session][drain]") {
    SessionFixture fixture;
    auto client = fixture.logged_in();
    fixture.host.only().drain();
    REQUIRE(client->wait_for("* BYE"));
    CHECK(client->wait_closed());
    REQUIRE(run_until(fixture.loop, [&] { return fixture.host.finished == 1; }));
    require_all_gone(fixture);
}

TEST_CASE("drain during an APPEND literal waits for the command to complete", "[session][drain]") {
    SessionFixture fixture;
    auto client = fixture.logged_in();
    client->send("d1 APPEND INBOX {4}\r\n");
    REQUIRE(client->wait_for("+ "));
    fixture.host.only().drain();
    run_until(
        fixture.loop, [] { return false; }, 50ms);
    CHECK_FALSE(client->closed());
    client->send("abcd\r\n");
    REQUIRE(client->wait_for("d1 OK"));
    REQUIRE(client->wait_for("* BYE"));
    CHECK(client->wait_closed());
    CHECK(fixture.backend.received("APPEND INBOX {4}\r\nabcd"));
    require_all_gone(fixture);
}

TEST_CASE("force_close ends a session in the middle of a literal", "[session][drain]") {
    SessionFixture fixture;
    auto client = fixture.logged_in();
    client->send("d1 APPEND INBOX {100}\r\n");
    REQUIRE(client->wait_for("+ "));
    client->send("only part of it");
    fixture.host.only().drain();
    fixture.host.only().force_close();
    REQUIRE(client->wait_for("* BYE"));
    CHECK(client->wait_closed());
    require_all_gone(fixture);
}

TEST_CASE("an idle authenticated session is closed after idle_timeout", "[session][timeout]") {
    SessionFixture fixture({}, "limits: { idle_timeout: 150ms }\n");
    auto client = fixture.logged_in();
    REQUIRE(client->wait_for("* BYE", 3s));
    CHECK(client->wait_closed());
    require_all_gone(fixture);
}

TEST_CASE("a client that never logs in is closed after login_timeout", "[session][timeout]") {
    SessionFixture fixture({}, "limits: { login_timeout: 150ms }\n");
    auto client = fixture.connect();
    REQUIRE(client->wait_for("* BYE", 3s));
    CHECK(client->wait_closed());
    require_all_gone(fixture);
}

TEST_CASE("SELECTA holds the commands after it and releases them to the new identity's link", "[session][selecta]") {
    SessionFixture fixture({}, multiaccount_yaml);
    auto client = fixture.logged_in();
    client->send("s1 SELECT INBOX\r\ns2 SELECTA bob@example.com\r\ns3 NOOP\r\ns4 SELECT Work\r\n");
    REQUIRE(client->wait_for("s1 OK"));
    REQUIRE(client->wait_for("* OK [CLOSED]"));
    REQUIRE(client->wait_for("s2 OK [CAPABILITY "));
    REQUIRE(client->wait_for("s3 OK"));
    REQUIRE(client->wait_for("s4 OK"));
    CHECK(fixture.backend.accepted() == 2);
    CHECK(fixture.backend.received("UNSELECT"));
    CHECK_FALSE(fixture.backend.received("CLOSE"));
    CHECK(fixture.host.only().state() == State::Authenticated);
    client->send("s5 LOGOUT\r\n");
    REQUIRE(client->wait_for("s5 OK"));
    CHECK(client->wait_closed());
    require_all_gone(fixture);
}

TEST_CASE("a failed SELECTA answers NO and leaves the old identity usable", "[session][selecta]") {
    ScriptedBackend::Script script;
    script.passwords.erase("proxy");  // the backend refuses the master login
    SessionFixture fixture(script, multiaccount_yaml);
    auto client = fixture.logged_in();
    client->send("s1 SELECTA bob@example.com\r\ns2 NOOP\r\n");
    REQUIRE(client->wait_for("s1 NO"));
    REQUIRE(client->wait_for("s2 OK"));
    CHECK(fixture.host.only().state() == State::Authenticated);
    client->send("s3 SELECTA nobody@example.com\r\n");
    REQUIRE(client->wait_for("s3 NO"));
    client->send("s4 SELECT INBOX\r\n");
    REQUIRE(client->wait_for("s4 OK"));
    client->close();
    require_all_gone(fixture);
}

// Guards the known defect "LOGOUT forgets the failed-login delay timer": the
// session and its timer must be gone once LOGOUT closed the connection. This
// form (LOGOUT pipelined behind the refused LOGIN) passes today.
TEST_CASE("LOGOUT during the failed-login delay leaves no timer behind", "[session][login]") {
    SessionFixture fixture({}, "limits: { auth_failure_delay: 2s }\n");
    auto client = fixture.connect();
    client->send("a1 LOGIN alice@example.com wrong\r\na2 LOGOUT\r\n");
    REQUIRE(client->wait_for("* BYE", 4s));
    CHECK(client->wait_closed(4s));
    std::string leftover;
    const bool gone = fixture.all_gone(leftover);
    INFO(leftover);
    CHECK(gone);
}

// A backend that refuses a synchronizing literal with a tagged NO (no "+")
// must not desync the relay (a known defect before the session split).
TEST_CASE("a synchronizing literal the backend refuses leaves the session in step", "[session][relay]") {
    ScriptedBackend::Script script;
    script.refuse_sync_literals = true;
    SessionFixture fixture(script);
    auto client = fixture.logged_in();
    client->send("r1 APPEND INBOX {50000000}\r\n");
    REQUIRE(client->wait_for("r1 NO [TOOBIG]"));
    client->send("r2 NOOP\r\n");
    CHECK(client->wait_for("r2 OK", 2s));
    client->close();
    require_all_gone(fixture);
}
