"""Limits and bad input: over-long lines, the login timeout."""

import select
import time
import unittest

from harness import (USERS_A, EnvironmentTestCase, requires_proxy, tagged_status)

ALICE = "alice@abcd.test"
ALICE_PW = USERS_A[ALICE]
MIB = 1024 * 1024


class RobustnessTest(EnvironmentTestCase):

    def client(self, listener="plain"):
        client = self.env.raw(listener)
        self.addCleanup(client.close)
        client.read_line()
        return client

    def assertServesAnotherClient(self):
        c = self.client()
        self.assertEqual(tagged_status(c.login(ALICE, ALICE_PW), "L1"), "OK")

    def send_until_answered(self, client, data, chunk=16384):
        """Sends `data` in chunks and collects what the server answers;
        stops early once it has answered or closed."""
        received = bytearray()
        for offset in range(0, len(data), chunk):
            try:
                client.sock.sendall(data[offset:offset + chunk])
            except OSError:
                break
            ready, _, _ = select.select([client.sock], [], [], 0.02)
            if ready:
                try:
                    got = client.sock.recv(65536)
                except OSError:
                    break
                if not got:
                    break
                received += got
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and b"\r\n" not in received:
            ready, _, _ = select.select([client.sock], [], [], 0.2)
            if not ready:
                continue
            try:
                got = client.sock.recv(65536)
            except OSError:
                break
            if not got:
                break
            received += got
        return bytes(received)

    @requires_proxy
    def test_megabyte_line_without_crlf_before_login(self):
        answer = self.send_until_answered(self.client(), b"a LOGIN " + b"x" * MIB)
        self.assertRegex(answer, rb"(BAD|BYE)")
        self.assertServesAnotherClient()

    def test_megabyte_line_without_crlf_after_login(self):
        c = self.client()
        self.assertEqual(tagged_status(c.login(ALICE, ALICE_PW), "L1"), "OK")
        answer = self.send_until_answered(c, b"a EXAMINE " + b"x" * MIB)
        self.assertRegex(answer, rb"(BAD|BYE)")
        self.assertServesAnotherClient()

    @requires_proxy
    def test_login_timeout_closes_an_idle_connection_with_bye(self):
        c = self.client()
        started = time.monotonic()
        rest = c.read_to_eof(timeout=15)
        self.assertIn(b"* BYE", rest)
        self.assertLess(time.monotonic() - started, 10)

    @requires_proxy
    def test_login_timeout_does_not_touch_a_logged_in_session(self):
        c = self.client()
        self.assertEqual(tagged_status(c.login(ALICE, ALICE_PW), "L1"), "OK")
        time.sleep(3)
        self.assertEqual(tagged_status(c.command("n", "NOOP"), "n"), "OK")

    @requires_proxy
    def test_unknown_command_before_login_is_bad(self):
        c = self.client()
        self.assertEqual(tagged_status(c.command("x", "EXAMINE INBOX"), "x"), "BAD")
        self.assertEqual(tagged_status(c.command("y", "FROBNICATE"), "y"), "BAD")
        self.assertEqual(tagged_status(c.login(ALICE, ALICE_PW), "L1"), "OK")


if __name__ == "__main__":
    unittest.main()
