"""Bad input, each with the answer imapfront must give: over-long lines,
absurd literal sizes, NUL and 8-bit bytes, unbalanced quotes, commands in the
wrong state, TLS where none is spoken and the reverse, STARTTLS injection,
broken SASL data. After each, the proxy still serves other clients."""

import socket
import unittest

from faults_support import MIB, client_hello, recv_until_closed
from harness import (HOST, USERS_A, EnvironmentTestCase, requires_proxy,
                     tagged_status)

ALICE = "alice@abcd.test"
ALICE_PW = USERS_A[ALICE]
PREAUTH_MAX_LINE = 8192  # proxy/imap/limits.h preauth_limits()
MAX_LINE = 65536         # limits.max_line in harness.base_config
MAX_LITERAL = 256 * MIB  # proxy/imap/limits.h, after login
CLOSE_WAIT = 5.0


@requires_proxy
class BadInputTest(EnvironmentTestCase):

    def client(self, listener="plain"):
        client = self.env.raw(listener)
        self.addCleanup(client.close)
        self.assertTrue(client.read_line().startswith(b"* OK"))
        return client

    def logged_in(self, listener="plain"):
        client = self.client(listener)
        self.assertEqual(tagged_status(client.login(ALICE, ALICE_PW), "L1"), "OK")
        return client

    def closed_with(self, client):
        """The lines the proxy sends before it closes the connection."""
        rest = client.read_to_eof(timeout=CLOSE_WAIT)
        return [line for line in rest.split(b"\r\n") if line]

    def assertServesAnotherClient(self):
        other = self.logged_in()
        self.assertEqual(tagged_status(other.command("n", "NOOP"), "n"), "OK")

    # ---------------------------------------------------------------- lines

    def test_overlong_line_before_login_is_bad_then_bye(self):
        client = self.client()
        client.send(b"a NOOP " + b"x" * (PREAUTH_MAX_LINE + 100) + b"\r\n")
        self.assertEqual(self.closed_with(client),
                         [b"* BAD Line too long", b"* BYE Line too long, closing connection"])
        self.assertServesAnotherClient()

    def test_overlong_line_after_login_is_bad_then_bye(self):
        client = self.logged_in()
        client.send(b"a EXAMINE " + b"x" * (MAX_LINE + 100) + b"\r\n")
        self.assertEqual(self.closed_with(client),
                         [b"* BAD Line too long", b"* BYE Line too long, closing connection"])
        self.assertServesAnotherClient()

    def test_line_just_under_the_limit_is_not_cut(self):
        client = self.client()
        line = b"a NOOP " + b"x" * (PREAUTH_MAX_LINE - 7)
        self.assertEqual(len(line), PREAUTH_MAX_LINE)
        self.assertEqual(client.command("a", line[2:]), [b"a OK NOOP completed"])

    # ---------------------------------------------------------------- literals

    HUGE_SIZES = [b"4294967296", b"4294967297", b"18446744073709551615",
                  b"18446744073709551616", b"99999999999999999999999"]

    def test_huge_literal_before_login_is_bye(self):
        for size in self.HUGE_SIZES:
            with self.subTest(size=size):
                client = self.client()
                client.send(b"a LOGIN alice {" + size + b"}\r\n")
                self.assertEqual(self.closed_with(client),
                                 [b"* BYE Literal too large, closing connection"])
        self.assertServesAnotherClient()

    def test_huge_synchronizing_literal_after_login_is_no_toobig_and_the_session_lives(self):
        client = self.logged_in()
        for size in self.HUGE_SIZES + [str(MAX_LITERAL + 1).encode()]:
            with self.subTest(size=size):
                self.assertEqual(client.command("a", b"APPEND INBOX {" + size + b"}"),
                                 [b"a NO [TOOBIG] Literal too large"])
        self.assertEqual(tagged_status(client.command("n", "NOOP"), "n"), "OK")

    def test_non_synchronizing_literal_over_the_limit_is_bye(self):
        for size in (str(MAX_LITERAL + 1).encode(), b"4294967296", b"99999999999999999999999"):
            with self.subTest(size=size):
                client = self.logged_in()
                client.send(b"a APPEND INBOX {" + size + b"+}\r\nhello\r\n")
                lines = self.closed_with(client)
                self.assertEqual(lines, [b"* BYE Literal too large, closing connection"])
        self.assertServesAnotherClient()

    def test_non_synchronizing_literal_over_the_limit_before_login_is_bye(self):
        client = self.client()
        client.send(b"a LOGIN alice {9000+}\r\n" + b"x" * 9000 + b"\r\n")
        self.assertEqual(self.closed_with(client), [b"* BYE Literal too large, closing connection"])

    def test_negative_and_non_numeric_literal_sizes_are_bad(self):
        for phase in ("before login", "after login"):
            client = self.client() if phase == "before login" else self.logged_in()
            command = b"LOGIN alice " if phase == "before login" else b"APPEND INBOX "
            for size in (b"-1", b"1x", b"x", b"", b"1 2", b"0x10"):
                with self.subTest(phase=phase, size=size):
                    self.assertEqual(client.command("a", command + b"{" + size + b"}"),
                                     [b"a BAD Invalid literal"])
            self.assertEqual(tagged_status(client.command("n", "NOOP"), "n"), "OK")

    def test_malformed_non_synchronizing_literal_ends_the_session(self):
        """Its data may follow at once and cannot be told from commands."""
        for size in (b"-1+", b"+", b"1x+"):
            with self.subTest(size=size):
                client = self.logged_in()
                client.send(b"a APPEND INBOX {" + size + b"}\r\nb NOOP\r\n")
                self.assertEqual(self.closed_with(client),
                                 [b"a BAD Invalid literal", b"* BYE Protocol error, closing connection"])

    # ---------------------------------------------------------------- bytes

    def test_nul_bytes_are_bad_before_and_after_login(self):
        for phase in ("before login", "after login"):
            client = self.client() if phase == "before login" else self.logged_in()
            for command in (b"NO\0OP", b"NOOP \0", b'LOGIN "al\0ice" pw', b"SELECT IN\0BOX"):
                with self.subTest(phase=phase, command=command):
                    self.assertEqual(client.command("a", command), [b"a BAD Invalid command syntax"])
            self.assertEqual(tagged_status(client.command("n", "NOOP"), "n"), "OK")

    def test_nul_in_a_tag_is_bad_and_the_tag_not_echoed(self):
        client = self.client()
        client.send(b"a\0b NOOP\r\n")
        self.assertEqual(client.read_line(), b"* BAD Invalid tag")
        self.assertEqual(tagged_status(client.command("n", "NOOP"), "n"), "OK")

    def test_8bit_bytes_in_command_names_and_tags_are_bad(self):
        client = self.client()
        self.assertEqual(client.command("a", b"NO\xe9OP"), [b"a BAD Invalid command syntax"])
        client.send(b"\xff\xfe NOOP\r\n")
        self.assertEqual(client.read_line(), b"* BAD Invalid tag")
        self.assertEqual(tagged_status(client.command("n", "NOOP"), "n"), "OK")

    def test_8bit_user_name_is_an_ordinary_failed_login(self):
        client = self.client()
        lines = client.command("a", b'LOGIN "al\xe9ce@abcd.test" "alice-pw"')
        self.assertEqual(lines, [b"a NO [AUTHENTICATIONFAILED] Authentication failed."])
        self.assertEqual(tagged_status(client.login(ALICE, ALICE_PW), "L1"), "OK")

    def test_8bit_mailbox_name_after_login_gets_the_backends_answer(self):
        client = self.logged_in()
        lines = client.command("a", b'SELECT "INB\xc3\xa9OX"')
        self.assertIn(tagged_status(lines, "a"), ("NO", "BAD"), lines)
        self.assertEqual(tagged_status(client.command("n", "NOOP"), "n"), "OK")

    # ---------------------------------------------------------------- quotes

    def test_unbalanced_quote_in_login_is_bad(self):
        client = self.client()
        self.assertEqual(client.command("a", b'LOGIN "alice@abcd.test alice-pw'),
                         [b"a BAD LOGIN needs a user name and a password"])
        self.assertEqual(client.command("b", b'LOGIN alice@abcd.test "alice-pw'),
                         [b"b BAD LOGIN needs a user name and a password"])
        self.assertEqual(tagged_status(client.login(ALICE, ALICE_PW), "L1"), "OK")

    def test_unbalanced_quote_hides_no_literal(self):
        """A "{5}" inside an open quote is no literal: the line ends there."""
        client = self.client()
        self.assertEqual(client.command("a", b'LOGIN "alice {5}'),
                         [b"a BAD LOGIN needs a user name and a password"])
        self.assertEqual(tagged_status(client.command("n", "NOOP"), "n"), "OK")

    def test_unbalanced_quote_after_login_is_the_backends_bad(self):
        client = self.logged_in()
        lines = client.command("a", b'SELECT "INBOX')
        self.assertEqual(tagged_status(lines, "a"), "BAD", lines)
        self.assertEqual(tagged_status(client.command("n", "NOOP"), "n"), "OK")

    # ---------------------------------------------------------------- state

    def test_commands_in_the_wrong_state_are_bad(self):
        client = self.client()
        for command in ("SELECT INBOX", "LISTA alice@abcd.test", "SELECTA alice@abcd.test",
                        "FETCH 1 BODY[]", "IDLE"):
            with self.subTest(command=command):
                self.assertEqual(client.command("a", command), [b"a BAD Command not valid before login"])
        self.assertEqual(tagged_status(client.login(ALICE, ALICE_PW), "L1"), "OK")
        for command in ("LOGIN alice@abcd.test alice-pw", "AUTHENTICATE PLAIN", "STARTTLS",
                        "VHOST abcd.test"):
            with self.subTest(command=command):
                lines = client.command("b", command)
                self.assertEqual(len(lines), 1, lines)
                self.assertEqual(tagged_status(lines, "b"), "BAD", lines)
        self.assertEqual(tagged_status(client.command("n", "SELECT INBOX"), "n"), "OK")

    # ---------------------------------------------------------------- TLS

    def test_tls_client_hello_on_a_plain_port_gets_no_tls_and_the_connection_ends(self):
        for listener in ("plain", "starttls"):
            with self.subTest(listener=listener):
                client = self.client(listener)
                client.send(client_hello())
                rest = recv_until_closed(client.sock, timeout=10)
                self.assertIsNotNone(rest, "the connection stayed open")
                for line in filter(None, rest.split(b"\r\n")):
                    self.assertRegex(line, rb"^\* (BAD|BYE) ", rest)
        self.assertTrue(self.env.proxy.running())
        self.assertServesAnotherClient()

    def test_plain_text_on_the_implicit_tls_port_closes_the_connection(self):
        with socket.create_connection((HOST, self.env.proxy.port("implicit")), timeout=10) as sock:
            sock.sendall(b"a LOGIN alice@abcd.test alice-pw\r\nb CAPABILITY\r\n")
            rest = recv_until_closed(sock, timeout=10)
        self.assertIsNotNone(rest, "the connection stayed open")
        self.assertNotIn(b"OK", rest)
        self.assertNotIn(b"CAPABILITY", rest)
        self.assertTrue(self.env.proxy.running())
        self.assertServesAnotherClient()

    def test_commands_pipelined_after_starttls_are_discarded(self):
        client = self.client("starttls")
        client.send(b"a STARTTLS\r\nb LOGIN alice@abcd.test alice-pw\r\nc CAPABILITY\r\n")
        self.assertEqual(client.read_line(), b"a OK Begin TLS negotiation now")
        client.start_tls(self.env.ca.client_context())
        lines = client.command("d", "SELECT INBOX")
        self.assertEqual(lines, [b"d BAD Command not valid before login"],
                         "a pipelined command ran after STARTTLS")
        lines = client.command("e", "CAPABILITY")
        self.assertNotIn(b"STARTTLS", lines[0])
        self.assertEqual(lines[-1], b"e OK CAPABILITY completed")

    # ---------------------------------------------------------------- SASL

    def test_authenticate_with_invalid_base64_is_bad(self):
        client = self.client()
        for data in (b"!!!!", b"YWJj=ZGVm", b"a", b"\xff\xfe"):
            with self.subTest(data=data, form="continuation"):
                client.send(b"a AUTHENTICATE PLAIN\r\n")
                self.assertTrue(client.read_line().startswith(b"+"))
                client.send(data + b"\r\n")
                self.assertEqual(client.read_until_tag("a"), [b"a BAD Invalid base64 data"])
            with self.subTest(data=data, form="SASL-IR"):
                lines = client.command("b", b"AUTHENTICATE PLAIN " + data)
                # 8-bit bytes are no atom: the argument itself is refused.
                expected = b"b BAD Invalid AUTHENTICATE arguments" if data == b"\xff\xfe" \
                    else b"b BAD Invalid base64 data"
                self.assertEqual(lines, [expected])
        self.assertEqual(tagged_status(client.login(ALICE, ALICE_PW), "L1"), "OK")

    def test_authenticate_argument_count_is_named_in_the_answer(self):
        client = self.client()
        self.assertEqual(client.command("a", b"AUTHENTICATE"), [b"a BAD AUTHENTICATE needs a mechanism"])
        self.assertEqual(client.command("b", b"AUTHENTICATE PLAIN AAAA BBBB"),
                         [b"b BAD AUTHENTICATE takes a mechanism and at most an initial response"])
        self.assertEqual(tagged_status(client.login(ALICE, ALICE_PW), "L1"), "OK")

if __name__ == "__main__":
    unittest.main()
