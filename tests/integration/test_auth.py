"""Logins: SASL PLAIN forms, credentials that need care, failures, the
capabilities after login, LOGOUT."""

import base64
import json
import unittest

from harness import (MASTER_PASSWORD, QUOTED_PASSWORD, SPECIAL_PASSWORD, quote, USERS_A, ConnectionClosed, EnvironmentTestCase,
                     mailbox_owner, requires_proxy, tagged_status)

ALICE = "alice@abcd.test"
ALICE_PW = USERS_A[ALICE]
CAROL = "carol@abcd.test"
ERIN = "erin@abcd.test"


def plain(user, password):
    return base64.b64encode(b"\0" + user.encode() + b"\0" + password)


class AuthTest(EnvironmentTestCase):

    def client(self, listener="plain"):
        client = self.env.raw(listener)
        self.addCleanup(client.close)
        client.read_line()
        return client

    def test_authenticate_plain_with_initial_response(self):
        c = self.client()
        lines = c.command("a", b"AUTHENTICATE PLAIN " + plain(ALICE, ALICE_PW))
        self.assertEqual(tagged_status(lines, "a"), "OK")
        self.assertEqual(mailbox_owner(c), ALICE)

    def test_authenticate_plain_with_continuation(self):
        c = self.client()
        c.send(b"a AUTHENTICATE PLAIN\r\n")
        self.assertTrue(c.read_line().startswith(b"+"))
        c.send(plain(ALICE, ALICE_PW) + b"\r\n")
        self.assertEqual(tagged_status(c.read_until_tag("a"), "a"), "OK")
        self.assertEqual(mailbox_owner(c), ALICE)

    def test_authenticate_login(self):
        c = self.client()
        c.send(b"a AUTHENTICATE LOGIN\r\n")
        self.assertTrue(c.read_line().startswith(b"+"))
        c.send(base64.b64encode(ALICE.encode()) + b"\r\n")
        self.assertTrue(c.read_line().startswith(b"+"))
        c.send(base64.b64encode(ALICE_PW) + b"\r\n")
        self.assertEqual(tagged_status(c.read_until_tag("a"), "a"), "OK")
        self.assertEqual(mailbox_owner(c), ALICE)

    def test_cancelled_authenticate_is_bad_and_session_goes_on(self):
        c = self.client()
        c.send(b"a AUTHENTICATE PLAIN\r\n")
        self.assertTrue(c.read_line().startswith(b"+"))
        c.send(b"*\r\n")
        self.assertEqual(tagged_status(c.read_until_tag("a"), "a"), "BAD")
        self.assertEqual(tagged_status(c.login(ALICE, ALICE_PW), "L1"), "OK")

    def test_special_password_survives_login_literal(self):
        c = self.client()
        self.assertEqual(tagged_status(c.login(CAROL, SPECIAL_PASSWORD), "L1"), "OK")
        self.assertEqual(mailbox_owner(c), CAROL)

    def test_special_password_survives_authenticate_plain(self):
        c = self.client()
        lines = c.command("a", b"AUTHENTICATE PLAIN " + plain(CAROL, SPECIAL_PASSWORD))
        self.assertEqual(tagged_status(lines, "a"), "OK")
        self.assertEqual(mailbox_owner(c), CAROL)

    def test_quoted_login_with_quotes_backslash_and_space(self):
        c = self.client()
        lines = c.command("q", b"LOGIN " + quote(ERIN.encode()) + b" " + quote(QUOTED_PASSWORD))
        self.assertEqual(tagged_status(lines, "q"), "OK")
        self.assertEqual(mailbox_owner(c), ERIN)

    def test_wrong_password_is_authenticationfailed(self):
        c = self.client()
        lines = c.login(ALICE, b"not-the-password")
        self.assertEqual(tagged_status(lines, "L1"), "NO")
        self.assertIn(b"[AUTHENTICATIONFAILED]", lines[-1])
        self.assertEqual(tagged_status(c.login(ALICE, ALICE_PW), "L1"), "OK")

    @requires_proxy
    def test_connection_closes_after_the_configured_number_of_failures(self):
        c = self.client()
        failures = self.env.config["limits"]["auth_failures"]
        for attempt in range(failures - 1):
            self.assertEqual(tagged_status(c.command(f"f{attempt}", f'LOGIN {ALICE} "wrong"'),
                                           f"f{attempt}"), "NO")
        c.send(f'last LOGIN {ALICE} "wrong"\r\n'.encode())
        rest = c.read_to_eof(timeout=10)
        self.assertIn(b"last NO", rest)

    @requires_proxy
    def test_backend_down_is_unavailable(self):
        c = self.client()
        lines = c.command("l", 'LOGIN someone@down.test "secret"')
        self.assertEqual(tagged_status(lines, "l"), "NO")
        self.assertIn(b"[UNAVAILABLE]", lines[-1])
        self.assertEqual(tagged_status(c.login(ALICE, ALICE_PW), "L1"), "OK")

    @requires_proxy
    def test_capabilities_after_login_are_rewritten(self):
        c = self.client()
        login_reply = c.login(ALICE, ALICE_PW)[-1].upper()
        explicit = b" ".join(c.command("c", "CAPABILITY")).upper()
        for caps in (login_reply, explicit):
            with self.subTest(caps=caps):
                self.assertIn(b"CAPABILITY", caps)
                self.assertIn(b"IMAP4REV1", caps)
                self.assertIn(b"MULTIACCOUNT", caps)
                for absent in (b"STARTTLS", b"AUTH=", b"LOGINDISABLED", b"SASL-IR"):
                    self.assertNotIn(absent, caps)

    @requires_proxy
    def test_login_after_login_is_bad(self):
        c = self.client()
        self.assertEqual(tagged_status(c.login(ALICE, ALICE_PW), "L1"), "OK")
        self.assertEqual(tagged_status(c.command("l", f'LOGIN {ALICE} "x"'), "l"), "BAD")
        self.assertEqual(tagged_status(c.command("a", "AUTHENTICATE PLAIN"), "a"), "BAD")

    @requires_proxy
    def test_log_is_json_lines_and_never_holds_a_password(self):
        c = self.client()
        self.assertEqual(tagged_status(c.login(CAROL, SPECIAL_PASSWORD), "L1"), "OK")
        c.command("a", b"AUTHENTICATE PLAIN " + plain(ALICE, ALICE_PW))
        c.command("z", "LOGOUT")
        text = self.env.proxy.log_text()
        self.assertTrue(text)
        for line in text.splitlines():
            self.assertIn("event", json.loads(line))
        for secret in (ALICE_PW, SPECIAL_PASSWORD, QUOTED_PASSWORD, plain(ALICE, ALICE_PW),
                       MASTER_PASSWORD.encode()):
            self.assertNotIn(secret.decode(), text)

    def test_logout_says_bye_then_ok_then_closes(self):
        for logged_in in (False, True):
            with self.subTest(logged_in=logged_in):
                c = self.client()
                if logged_in:
                    self.assertEqual(tagged_status(c.login(ALICE, ALICE_PW), "L1"), "OK")
                lines = c.command("z", "LOGOUT")
                self.assertTrue(lines[0].startswith(b"* BYE"), lines)
                self.assertEqual(tagged_status(lines, "z"), "OK")
                try:
                    self.assertEqual(c.read_to_eof(timeout=5), b"")
                except ConnectionClosed:
                    pass


if __name__ == "__main__":
    unittest.main()
