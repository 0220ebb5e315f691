#include "proxy/session/backend_login.h"
#include "proxy/imap/sasl.h"

#include <catch2/catch.hpp>

using imapfront::session::BackendLogin;
using imapfront::session::FailureKind;
using imapfront::session::LoginPlan;
using imapfront::session::LoginStep;
using Kind = LoginStep::Kind;

namespace {

LoginPlan plan_for(std::string user, std::string password, std::string authzid = {}) {
    LoginPlan plan;
    plan.credentials = {std::move(authzid), std::move(user), std::move(password)};
    return plan;
}

std::string plain_ir(const std::string& authzid, const std::string& user, const std::string& password) {
    return imapfront::imap::base64_encode(imapfront::imap::encode_sasl_plain({authzid, user, password}));
}

}  // namespace

TEST_CASE("login uses AUTHENTICATE PLAIN with SASL-IR when the greeting offers it", "[backend_login]") {
    BackendLogin login(plan_for("alice@abcd.test", "secret"));
    const LoginStep first = login.on_line("* OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=PLAIN] ready\r\n");
    REQUIRE(first.kind == Kind::Send);
    CHECK(first.bytes == "ifl1 AUTHENTICATE PLAIN " + plain_ir("", "alice@abcd.test", "secret") + "\r\n");

    const LoginStep done = login.on_line("ifl1 OK [CAPABILITY IMAP4rev1 IDLE UNSELECT] Logged in\r\n");
    REQUIRE(done.kind == Kind::Done);
    CHECK(done.capabilities == "IMAP4rev1 IDLE UNSELECT");
}

TEST_CASE("login asks for capabilities when the greeting has none, and after login when OK has none",
          "[backend_login]") {
    BackendLogin login(plan_for("u", "p"));
    LoginStep step = login.on_line("* OK hello\r\n");
    REQUIRE(step.kind == Kind::Send);
    CHECK(step.bytes == "ifl1 CAPABILITY\r\n");
    CHECK(login.on_line("* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n").kind == Kind::Wait);
    step = login.on_line("ifl1 OK done\r\n");
    REQUIRE(step.kind == Kind::Send);
    CHECK(step.bytes == "ifl2 AUTHENTICATE PLAIN\r\n");
    step = login.on_line("+ \r\n");
    REQUIRE(step.kind == Kind::Send);
    CHECK(step.bytes == plain_ir("", "u", "p") + "\r\n");
    step = login.on_line("ifl2 OK Logged in\r\n");
    REQUIRE(step.kind == Kind::Send);
    CHECK(step.bytes == "ifl3 CAPABILITY\r\n");
    CHECK(login.on_line("* CAPABILITY IMAP4rev1 IDLE\r\n").kind == Kind::Wait);
    step = login.on_line("ifl3 OK done\r\n");
    REQUIRE(step.kind == Kind::Done);
    CHECK(step.capabilities == "IMAP4rev1 IDLE");
}

TEST_CASE("master login puts the identity in the authzid", "[backend_login]") {
    BackendLogin login(plan_for("proxy", "master-secret", "bob2@defg.test"));
    const LoginStep step = login.on_line("* OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=PLAIN] ready\r\n");
    REQUIRE(step.kind == Kind::Send);
    CHECK(step.bytes == "ifl1 AUTHENTICATE PLAIN " + plain_ir("bob2@defg.test", "proxy", "master-secret") + "\r\n");
}

TEST_CASE("without AUTH=PLAIN the password goes in LOGIN, as a literal when it must", "[backend_login]") {
    SECTION("LITERAL+ sends it in one piece") {
        BackendLogin login(plan_for("bob", "a\"b\r\nc"));
        const LoginStep step = login.on_line("* OK [CAPABILITY IMAP4rev1 LITERAL+] ready\r\n");
        REQUIRE(step.kind == Kind::Send);
        CHECK(step.bytes == "ifl1 LOGIN bob {6+}\r\na\"b\r\nc\r\n");
    }
    SECTION("a synchronizing literal waits for the continuation") {
        BackendLogin login(plan_for("bob", "x\xe9y"));
        LoginStep step = login.on_line("* OK [CAPABILITY IMAP4rev1] ready\r\n");
        REQUIRE(step.kind == Kind::Send);
        CHECK(step.bytes == "ifl1 LOGIN bob {3}\r\n");
        step = login.on_line("+ go ahead\r\n");
        REQUIRE(step.kind == Kind::Send);
        CHECK(step.bytes == "x\xe9y\r\n");
        CHECK(login.on_line("ifl1 OK [CAPABILITY IMAP4rev1] in\r\n").kind == Kind::Done);
    }
}

TEST_CASE("STARTTLS comes first and capabilities are asked again after it", "[backend_login]") {
    LoginPlan plan = plan_for("u", "p");
    plan.starttls = true;
    BackendLogin login(plan);
    LoginStep step = login.on_line("* OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED] ready\r\n");
    REQUIRE(step.kind == Kind::Send);
    CHECK(step.bytes == "ifl1 STARTTLS\r\n");
    CHECK(login.on_line("ifl1 OK Begin TLS\r\n").kind == Kind::StartTls);
    step = login.on_tls_ready();
    REQUIRE(step.kind == Kind::Send);
    CHECK(step.bytes == "ifl2 CAPABILITY\r\n");
}

TEST_CASE("the client address goes in ID before authentication", "[backend_login]") {
    LoginPlan plan = plan_for("u", "p");
    plan.id_fields = {{"x-originating-ip", "127.0.0.9"}, {"x-originating-port", "5000"}};
    BackendLogin login(plan);
    LoginStep step = login.on_line("* OK [CAPABILITY IMAP4rev1 ID SASL-IR AUTH=PLAIN] ready\r\n");
    REQUIRE(step.kind == Kind::Send);
    CHECK(step.bytes == "ifl1 ID (\"x-originating-ip\" \"127.0.0.9\" \"x-originating-port\" \"5000\")\r\n");
    CHECK(login.on_line("* ID NIL\r\n").kind == Kind::Wait);
    step = login.on_line("ifl1 OK ID completed\r\n");
    REQUIRE(step.kind == Kind::Send);
    CHECK(step.bytes.rfind("ifl2 AUTHENTICATE PLAIN ", 0) == 0);
}

TEST_CASE("the backend's refusal keeps its response code for the client", "[backend_login]") {
    BackendLogin login(plan_for("u", "wrong"));
    login.on_line("* OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=PLAIN] ready\r\n");
    const LoginStep step = login.on_line("ifl1 NO [AUTHENTICATIONFAILED] Authentication failed.\r\n");
    REQUIRE(step.kind == Kind::Failed);
    CHECK(step.failure.kind == FailureKind::AuthRefused);
    CHECK(step.failure.client_answer == "NO [AUTHENTICATIONFAILED] Authentication failed.");
    CHECK(step.failure.detail.find("wrong") == std::string::npos);
}

TEST_CASE("unusable greetings and answers fail the login with the right kind", "[backend_login]") {
    CHECK(BackendLogin(plan_for("u", "p")).on_line("* PREAUTH hi\r\n").failure.kind == FailureKind::Protocol);
    CHECK(BackendLogin(plan_for("u", "p")).on_line("* BYE too busy\r\n").failure.kind == FailureKind::Temporary);
    CHECK(BackendLogin(plan_for("u", "p")).on_line("garbage\r\n").kind == Kind::Failed);

    BackendLogin unavailable(plan_for("u", "p"));
    unavailable.on_line("* OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=PLAIN] ready\r\n");
    CHECK(unavailable.on_line("ifl1 NO [UNAVAILABLE] try later\r\n").failure.kind == FailureKind::Temporary);

    BackendLogin master_without_plain(plan_for("proxy", "m", "bob"));
    CHECK(master_without_plain.on_line("* OK [CAPABILITY IMAP4rev1] ready\r\n").failure.kind == FailureKind::Protocol);
}

TEST_CASE("responses to tags that are not ours are ignored", "[backend_login]") {
    BackendLogin login(plan_for("u", "p"));
    login.on_line("* OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=PLAIN] ready\r\n");
    CHECK(login.on_line("other OK whatever\r\n").kind == Kind::Wait);
    CHECK(login.on_line("ifl1 OK [CAPABILITY IMAP4rev1] in\r\n").kind == Kind::Done);
}
