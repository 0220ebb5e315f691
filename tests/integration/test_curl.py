"""curl as a real client: imap:// with STARTTLS and imaps://."""

import unittest

from harness import (HOST, USERS_A, USERS_B, EnvironmentTestCase, curl, requires_proxy, sha256)

ALICE = "alice@abcd.test"
DAVE = "dave@defg.test"


class CurlTest(EnvironmentTestCase):

    def fetch(self, *args):
        result = curl(["--cacert", self.env.ca.ca_cert, *args])
        self.assertEqual(result.returncode, 0, result.stderr.decode(errors="replace"))
        return result.stdout

    def expected(self, user):
        uid, message = self.env.seeded[user]
        self.assertEqual(uid, 1)
        return sha256(message)

    def test_imap_with_starttls_required(self):
        port = self.env.proxy.port("starttls")
        body = self.fetch("--ssl-reqd", "--user", f"{ALICE}:{USERS_A[ALICE].decode()}",
                          f"imap://{HOST}:{port}/INBOX;UID=1")
        self.assertEqual(sha256(body), self.expected(ALICE))

    def test_imaps_with_sasl_plain(self):
        port = self.env.proxy.port("implicit")
        body = self.fetch("--login-options", "AUTH=PLAIN",
                          "--user", f"{ALICE}:{USERS_A[ALICE].decode()}",
                          f"imaps://{HOST}:{port}/INBOX;UID=1")
        self.assertEqual(sha256(body), self.expected(ALICE))

    @requires_proxy
    def test_imaps_by_name_uses_sni_for_the_vhost(self):
        port = self.env.proxy.port("implicit")
        body = self.fetch("--connect-to", f"imap.defg.test:993:{HOST}:{port}",
                          "--user", f"dave:{USERS_B[DAVE].decode()}",
                          "imaps://imap.defg.test/INBOX;UID=1")
        self.assertEqual(sha256(body), self.expected(DAVE))

    @requires_proxy
    def test_bare_name_login_takes_the_default_vhost(self):
        port = self.env.proxy.port("starttls")
        listing = self.fetch("--ssl-reqd", "--user", f"alice:{USERS_A[ALICE].decode()}",
                             f"imap://{HOST}:{port}/")
        self.assertIn(b"INBOX", listing)


if __name__ == "__main__":
    unittest.main()
