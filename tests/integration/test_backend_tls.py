"""The backend side: plain, STARTTLS and implicit TLS links to Dovecot, and a
backend whose certificate does not verify."""

import copy
import unittest

from harness import (HOST, free_port, USERS_A, EnvironmentTestCase, mailbox_owner, requires_proxy,
                     tagged_status)

ALICE = "alice@abcd.test"
ALICE_PW = USERS_A[ALICE]


@requires_proxy
class BackendTlsTest(EnvironmentTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        env = cls.env
        a = env.a
        links = {
            "none": {"address": f"{HOST}:{a.imap_port}", "tls": "none"},
            "starttls": {"address": f"{HOST}:{a.imap_port}", "tls": "starttls", "ca": env.ca.ca_cert},
            "implicit": {"address": f"{HOST}:{a.imaps_port}", "tls": "implicit", "ca": env.ca.ca_cert},
            # The proxy's own certificate is no CA of the backend's.
            "untrusted": {"address": f"{HOST}:{a.imaps_port}", "tls": "implicit",
                          "ca": env.ca.abcd[0]},
            "wrong_name": {"address": f"{HOST}:{a.imap_port}", "tls": "starttls",
                           "ca": env.ca.ca_cert, "server_name": "imap.abcd.test"},
        }
        cls.proxies = {}
        for mode, link in links.items():
            config = copy.deepcopy(env.config)
            config["listeners"] = [{"name": "plain", "address": f"{HOST}:{free_port()}",
                                    "tls": "none", "default_vhost": "abcd.test",
                                    "allow_plaintext_auth": True}]
            config["backends"]["dovecot-a"] = link
            cls.proxies[mode] = env.start_proxy(config, name=f"imapfront-{mode}")

    def login(self, mode):
        c = self.env.raw("plain", proxy=self.proxies[mode])
        self.addCleanup(c.close)
        c.read_line()
        return c, c.login(ALICE, ALICE_PW)

    def test_plain_starttls_and_implicit_links_log_in(self):
        for mode in ("none", "starttls", "implicit"):
            with self.subTest(mode=mode):
                c, reply = self.login(mode)
                self.assertEqual(tagged_status(reply, "L1"), "OK")
                self.assertEqual(mailbox_owner(c), ALICE)

    def test_unverifiable_backend_is_unavailable(self):
        for mode in ("untrusted", "wrong_name"):
            with self.subTest(mode=mode):
                _, reply = self.login(mode)
                self.assertEqual(tagged_status(reply, "L1"), "NO")
                self.assertIn(b"[UNAVAILABLE]", reply[-1])


if __name__ == "__main__":
    unittest.main()
