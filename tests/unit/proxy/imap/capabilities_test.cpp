#include "proxy/imap/capabilities.h"

#include <catch2/catch.hpp>

#include <string>

using namespace imapfront::imap;

TEST_CASE("rewrite_capability_list drops what imapfront handles or cannot relay", "[capabilities]") {
    CHECK(rewrite_capability_list("IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE STARTTLS AUTH=PLAIN "
                                  "auth=login LOGINDISABLED compress=deflate LITERAL+ X-custom") ==
          "IMAP4rev1 LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ X-custom MULTIACCOUNT");
}

TEST_CASE("rewrite_capability_list adds MULTIACCOUNT exactly once", "[capabilities]") {
    CHECK(rewrite_capability_list("") == "MULTIACCOUNT");
    CHECK(rewrite_capability_list("IMAP4rev1 multiaccount IDLE MULTIACCOUNT") == "IMAP4rev1 IDLE MULTIACCOUNT");
    CHECK(rewrite_capability_list("  IMAP4rev1   IDLE ") == "IMAP4rev1 IDLE MULTIACCOUNT");
}

TEST_CASE("rewrite_capability_line rewrites CAPABILITY data and response codes", "[capabilities]") {
    CHECK(rewrite_capability_line("* CAPABILITY IMAP4rev1 STARTTLS IDLE\r\n") ==
          "* CAPABILITY IMAP4rev1 IDLE MULTIACCOUNT\r\n");
    CHECK(rewrite_capability_line("* capability IMAP4rev1\n") == "* capability IMAP4rev1 MULTIACCOUNT\n");
    CHECK(rewrite_capability_line("a1 OK [CAPABILITY IMAP4rev1 AUTH=PLAIN IDLE] Logged in\r\n") ==
          "a1 OK [CAPABILITY IMAP4rev1 IDLE MULTIACCOUNT] Logged in\r\n");
    CHECK(rewrite_capability_line("* OK [capability IMAP4rev1 SASL-IR] Dovecot ready.\r\n") ==
          "* OK [capability IMAP4rev1 MULTIACCOUNT] Dovecot ready.\r\n");
    CHECK(rewrite_capability_line("* PREAUTH [CAPABILITY] hi\r\n") == "* PREAUTH [CAPABILITY MULTIACCOUNT] hi\r\n");
}

TEST_CASE("rewrite_capability_line leaves other lines alone", "[capabilities]") {
    for (const char* line : {"* 3 EXISTS\r\n", "* OK [ALERT] CAPABILITY soon\r\n", "a1 OK done\r\n",
                             "* CAPABILITYX foo\r\n", "* OK [CAPABILITYX foo] x\r\n", "* OK [CAPABILITY foo\r\n",
                             "* FLAGS (CAPABILITY)\r\n", "+ CAPABILITY\r\n", "", "*\r\n"}) {
        INFO(line);
        CHECK_FALSE(rewrite_capability_line(line));
    }
}

TEST_CASE("extract_capability_list returns the list as sent", "[capabilities]") {
    CHECK(extract_capability_list("* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n") == "IMAP4rev1 AUTH=PLAIN");
    CHECK(extract_capability_list("a OK [CAPABILITY IMAP4rev1 IDLE] ok\r\n") == "IMAP4rev1 IDLE");
    CHECK_FALSE(extract_capability_list("a OK done\r\n"));
}

TEST_CASE("has_capability matches whole names case-insensitively", "[capabilities]") {
    CHECK(has_capability("IMAP4rev1 LITERAL+ UNSELECT", "unselect"));
    CHECK(has_capability("IMAP4rev1 literal+", "LITERAL+"));
    CHECK_FALSE(has_capability("IMAP4rev1 UNSELECTX", "UNSELECT"));
    CHECK_FALSE(has_capability("IMAP4rev1 LITERAL-", "LITERAL+"));
    CHECK_FALSE(has_capability("", "IMAP4rev1"));
}
