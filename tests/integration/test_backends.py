"""The test backends themselves, reached directly: the facts the proxy tests
and the multi-account work rely on (users, master user, TLS on both ports)."""

import base64
import imaplib
import unittest

from harness import (HOST, IO_TIMEOUT, MASTER_PASSWORD, MASTER_USER, USERS_A, USERS_B,
                     EnvironmentTestCase, RawClient, mailbox_owner, tagged_status)


class BackendsTest(EnvironmentTestCase):
    with_proxy = False

    def raw(self, backend):
        c = RawClient(backend.imap_port)
        self.addCleanup(c.close)
        c.read_line()
        return c

    def test_every_user_logs_in_to_its_own_mailbox(self):
        for backend, users in ((self.env.a, USERS_A), (self.env.b, USERS_B)):
            for user, password in users.items():
                with self.subTest(user=user):
                    c = self.raw(backend)
                    self.assertEqual(tagged_status(c.login(user, password), "L1"), "OK")
                    self.assertEqual(mailbox_owner(c), user)

    def test_users_of_one_backend_are_unknown_to_the_other(self):
        c = self.raw(self.env.b)
        self.assertEqual(tagged_status(c.login("alice@abcd.test", USERS_A["alice@abcd.test"]),
                                       "L1"), "NO")

    def test_master_user_with_authzid(self):
        c = self.raw(self.env.b)
        token = base64.b64encode(b"bob2@defg.test\0" + MASTER_USER.encode() + b"\0" +
                                 MASTER_PASSWORD.encode())
        self.assertEqual(tagged_status(c.command("a", b"AUTHENTICATE PLAIN " + token), "a"), "OK")
        self.assertEqual(mailbox_owner(c), "bob2@defg.test")

    def test_master_user_with_separator(self):
        c = self.raw(self.env.a)
        reply = c.login(f"bob1@abcd.test*{MASTER_USER}", MASTER_PASSWORD.encode())
        self.assertEqual(tagged_status(reply, "L1"), "OK")
        self.assertEqual(mailbox_owner(c), "bob1@abcd.test")

    def test_starttls_and_implicit_tls_with_the_test_ca(self):
        context = self.env.ca.client_context()
        imap = imaplib.IMAP4(HOST, self.env.a.imap_port, timeout=IO_TIMEOUT)
        imap.starttls(ssl_context=context)
        self.assertEqual(imap.login("alice@abcd.test", "alice-pw")[0], "OK")
        imap.logout()
        imap = imaplib.IMAP4_SSL(HOST, self.env.b.imaps_port, ssl_context=context,
                                 timeout=IO_TIMEOUT)
        self.assertEqual(imap.login("dave@defg.test", "dave-pw")[0], "OK")
        imap.logout()


if __name__ == "__main__":
    unittest.main()
