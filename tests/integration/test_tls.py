"""Client-side TLS: STARTTLS, implicit TLS, plaintext login policy, and the
STARTTLS command-injection guard."""

import imaplib
import unittest

from harness import (USERS_A, EnvironmentTestCase, mailbox_owner, requires_proxy,
                     tagged_status)

ALICE = "alice@abcd.test"
ALICE_PW = USERS_A[ALICE]


class ClientTlsTest(EnvironmentTestCase):

    def test_starttls_then_login(self):
        imap = self.env.imap("starttls")
        self.addCleanup(imap.shutdown)
        self.assertIn("STARTTLS", imap.capabilities)
        imap.starttls(ssl_context=self.env.ca.client_context())
        typ, _ = imap.login(ALICE, ALICE_PW.decode())
        self.assertEqual(typ, "OK")
        typ, _ = imap.select("INBOX", readonly=True)
        self.assertEqual(typ, "OK")

    def test_implicit_tls_login(self):
        imap = self.env.imap("implicit")
        self.addCleanup(imap.shutdown)
        typ, _ = imap.login(ALICE, ALICE_PW.decode())
        self.assertEqual(typ, "OK")
        imap.select("INBOX", readonly=True)
        typ, data = imap.fetch("1", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        self.assertEqual(typ, "OK")

    @requires_proxy
    def test_plaintext_login_is_refused_before_starttls(self):
        for listener in ("starttls", "plain_refused"):
            with self.subTest(listener=listener), self.env.raw(listener) as c:
                c.read_line()
                caps = b" ".join(c.command("c", "CAPABILITY")).upper()
                self.assertIn(b"LOGINDISABLED", caps)
                self.assertNotIn(b"AUTH=", caps)
                self.assertIn(tagged_status(c.command("l", f'LOGIN {ALICE} "{ALICE_PW.decode()}"'), "l"),
                              ("NO", "BAD"))
                self.assertIn(tagged_status(c.command("s", "EXAMINE INBOX"), "s"), ("NO", "BAD"))

    @requires_proxy
    def test_starttls_is_not_offered_where_the_listener_has_no_tls(self):
        with self.env.raw("plain_refused") as c:
            c.read_line()
            self.assertNotIn(b"STARTTLS", b" ".join(c.command("c", "CAPABILITY")).upper())
            self.assertIn(tagged_status(c.command("t", "STARTTLS"), "t"), ("NO", "BAD"))

    def test_plaintext_login_is_allowed_where_configured(self):
        with self.env.raw("plain") as c:
            c.read_line()
            caps = b" ".join(c.command("c", "CAPABILITY")).upper()
            self.assertNotIn(b"LOGINDISABLED", caps)
            self.assertEqual(tagged_status(c.command("l", f'LOGIN {ALICE} "{ALICE_PW.decode()}"'), "l"),
                             "OK")
            self.assertEqual(mailbox_owner(c), ALICE)

    @requires_proxy  # Dovecot drops such a connection instead
    def test_commands_pipelined_after_starttls_are_not_executed(self):
        with self.env.raw("starttls") as c:
            c.read_line()
            c.send(f'a STARTTLS\r\nb LOGIN {ALICE} "{ALICE_PW.decode()}"\r\n'.encode())
            lines = c.read_until_tag("a")
            self.assertEqual(tagged_status(lines, "a"), "OK")
            # start_tls fails if plaintext (an answer to b) arrived after the OK.
            c.start_tls(self.env.ca.client_context(), "localhost")
            lines = c.command("c", "EXAMINE INBOX")
            self.assertFalse([line for line in lines if line.startswith(b"b ")], lines)
            self.assertIn(tagged_status(lines, "c"), ("NO", "BAD"))
            self.assertEqual(tagged_status(c.login(ALICE, ALICE_PW), "L1"), "OK")

    def test_starttls_after_login_is_refused(self):
        imap = self.env.imap("plain")
        self.addCleanup(imap.shutdown)
        imap.login(ALICE, ALICE_PW.decode())
        with self.assertRaises(imaplib.IMAP4.error):
            imap._simple_command("STARTTLS")


if __name__ == "__main__":
    unittest.main()
