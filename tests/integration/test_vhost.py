"""VHOST command, default vhosts, SNI-selected vhosts."""

import unittest

from harness import (USERS_A, USERS_B, EnvironmentTestCase, mailbox_owner, requires_proxy,
                     tagged_status)

DAVE_PW = USERS_B["dave@defg.test"]
ALICE_PW = USERS_A["alice@abcd.test"]


class VhostCommandTest(EnvironmentTestCase):

    def client(self, listener="plain", **kwargs):
        client = self.env.raw(listener, **kwargs)
        self.addCleanup(client.close)
        client.read_line()
        return client

    @requires_proxy
    def test_vhost_then_bare_name_login_reaches_that_domain(self):
        c = self.client()
        self.assertEqual(tagged_status(c.command("v", "VHOST defg.test"), "v"), "OK")
        self.assertEqual(tagged_status(c.login("dave", DAVE_PW), "L1"), "OK")
        self.assertEqual(mailbox_owner(c), "dave@defg.test")

    @requires_proxy
    def test_vhost_accepts_an_alias(self):
        c = self.client()
        self.assertEqual(tagged_status(c.command("v", "VHOST imap.defg.test"), "v"), "OK")
        self.assertEqual(tagged_status(c.login("dave", DAVE_PW), "L1"), "OK")
        self.assertEqual(mailbox_owner(c), "dave@defg.test")

    @requires_proxy
    def test_unknown_vhost_is_refused_with_no(self):
        c = self.client()
        self.assertEqual(tagged_status(c.command("v", "VHOST nowhere.test"), "v"), "NO")

    @requires_proxy
    def test_vhost_without_argument_is_bad(self):
        c = self.client()
        self.assertEqual(tagged_status(c.command("v", "VHOST"), "v"), "BAD")

    @requires_proxy
    def test_vhost_after_login_is_bad(self):
        c = self.client()
        self.assertEqual(tagged_status(c.login("alice@abcd.test", ALICE_PW), "L1"), "OK")
        self.assertEqual(tagged_status(c.command("v", "VHOST defg.test"), "v"), "BAD")
        self.assertEqual(mailbox_owner(c), "alice@abcd.test")

    @requires_proxy
    def test_last_vhost_wins(self):
        c = self.client()
        self.assertEqual(tagged_status(c.command("v1", "VHOST abcd.test"), "v1"), "OK")
        self.assertEqual(tagged_status(c.command("v2", "VHOST defg.test"), "v2"), "OK")
        self.assertEqual(tagged_status(c.login("dave", DAVE_PW), "L1"), "OK")
        self.assertEqual(mailbox_owner(c), "dave@defg.test")

    @requires_proxy
    def test_vhost_binds_the_session_to_its_domain(self):
        c = self.client()
        self.assertEqual(tagged_status(c.command("v", "VHOST abcd.test"), "v"), "OK")
        reply = c.login("dave@defg.test", DAVE_PW)
        self.assertEqual(tagged_status(reply, "L1"), "NO")
        self.assertIn(b"[AUTHENTICATIONFAILED]", reply[-1])

    @requires_proxy
    def test_bare_name_takes_the_listener_default_vhost(self):
        c = self.client()
        self.assertEqual(tagged_status(c.login("alice", ALICE_PW), "L1"), "OK")
        self.assertEqual(mailbox_owner(c), "alice@abcd.test")

    @requires_proxy
    def test_full_address_keeps_its_own_domain(self):
        c = self.client()
        self.assertEqual(tagged_status(c.login("dave@defg.test", DAVE_PW), "L1"), "OK")
        self.assertEqual(mailbox_owner(c), "dave@defg.test")


class SniTest(EnvironmentTestCase):

    @requires_proxy
    def test_sni_name_selects_the_vhost_and_its_certificate(self):
        with self.env.raw("implicit", server_hostname="imap.defg.test") as c:
            names = [value for kind, value in c.sock.getpeercert()["subjectAltName"]]
            self.assertEqual(names, ["imap.defg.test"])
            c.read_line()
            self.assertEqual(tagged_status(c.login("dave", DAVE_PW), "L1"), "OK")
            self.assertEqual(mailbox_owner(c), "dave@defg.test")

    @requires_proxy
    def test_sni_alias_of_the_default_domain_serves_its_certificate(self):
        with self.env.raw("implicit", server_hostname="imap.abcd.test") as c:
            names = [value for kind, value in c.sock.getpeercert()["subjectAltName"]]
            self.assertIn("imap.abcd.test", names)
            c.read_line()
            self.assertEqual(tagged_status(c.login("alice", ALICE_PW), "L1"), "OK")
            self.assertEqual(mailbox_owner(c), "alice@abcd.test")

    @requires_proxy
    def test_vhost_command_overrides_the_sni_name(self):
        with self.env.raw("implicit", server_hostname="imap.abcd.test") as c:
            c.read_line()
            self.assertEqual(tagged_status(c.command("v", "VHOST defg.test"), "v"), "OK")
            self.assertEqual(tagged_status(c.login("dave", DAVE_PW), "L1"), "OK")
            self.assertEqual(mailbox_owner(c), "dave@defg.test")


if __name__ == "__main__":
    unittest.main()
