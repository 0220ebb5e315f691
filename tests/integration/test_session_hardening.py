"""Session hardening against real Dovecot: what the relay does when the
backend refuses a literal, when input piles up behind a command imapfront
answers itself, when a command breaks after part of it was relayed, when a
client sends nothing but invalid commands or stops reading, and what
survives STARTTLS and SELECTA (ENABLE does, a plaintext VHOST does not)."""

import socket
import time

from faults_support import admin_config, metric
from harness import USERS_A, USERS_B, EnvironmentTestCase, requires_proxy, tagged_status

ALICE = "alice@abcd.test"
ALICE_PW = USERS_A[ALICE]
BOB1 = "bob1@abcd.test"
BOB2 = "bob2@defg.test"
IDLE_TIMEOUT = 2.0
BYE_SEND_DEADLINE = 10.0  # proxy/session/client_session.cpp
BAD_COMMANDS = 10         # before login


def rss_kib(pid):
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def big_message(size):
    body = (b"x" * 76 + b"\r\n") * (size // 78)
    return b"From: a@abcd.test\r\nSubject: big\r\n\r\n" + body


@requires_proxy
class SessionHardeningTest(EnvironmentTestCase):

    @classmethod
    def tweak_config(cls, config):
        cls.admin_port = admin_config(config)
        config["limits"]["idle_timeout"] = f"{int(IDLE_TIMEOUT)}s"

    def client(self, listener="plain"):
        client = self.env.raw(listener)
        self.addCleanup(client.close)
        self.assertTrue(client.read_line().startswith(b"* OK"))
        return client

    def logged_in(self, user=ALICE, password=ALICE_PW):
        client = self.client()
        self.assertEqual(tagged_status(client.login(user, password), "L1"), "OK")
        return client

    def message_count(self, user, password):
        client = self.logged_in(user, password)
        lines = client.command("st", "STATUS INBOX (MESSAGES)")
        self.assertEqual(tagged_status(lines, "st"), "OK")
        status = [line for line in lines if line.startswith(b"* STATUS")][0]
        return int(status.split(b"MESSAGES ")[1].split(b")")[0])

    def test_a_refused_synchronizing_literal_does_not_swallow_the_next_command(self):
        client = self.logged_in()
        client.send(b"A1 APPEND nosuchbox {5}\r\n")
        lines = client.read_until_tag("A1")
        self.assertEqual(tagged_status(lines, "A1"), "NO")
        self.assertIn(b"TRYCREATE", lines[-1])
        # The client never sends the refused literal; its next command must be answered.
        self.assertEqual(tagged_status(client.command("A2", "NOOP"), "A2"), "OK")
        client.send(b"A3 APPEND INBOX {5}\r\n")
        self.assertTrue(client.read_line().startswith(b"+"))
        client.send(b"hello\r\n")
        self.assertEqual(tagged_status(client.read_until_tag("A3"), "A3"), "OK")

    def test_a_pipelined_burst_behind_local_commands_is_answered_to_the_end(self):
        client = self.logged_in()
        burst = b"n0 NOOP\r\nw1 CAPABILITY\r\n"
        burst += b"".join(b"n%d NOOP\r\n" % i for i in range(1, 6001))
        burst += b"w2 CAPABILITY\r\n"
        self.assertGreater(len(burst), 64 * 1024)
        client.send(burst)
        lines = client.read_until_tag("w2", timeout=30)
        self.assertEqual(tagged_status(lines, "w2"), "OK")
        answered = [line for line in lines if line.startswith(b"n") and b" OK " in line]
        self.assertEqual(len(answered), 6001)

    def test_a_broken_continuation_line_ends_the_session_without_appending(self):
        before = self.message_count(ALICE, ALICE_PW)
        client = self.logged_in()
        client.send(b"a APPEND INBOX {3+}\r\nabc\x00\r\nb NOOP\r\n")
        rest = client.read_to_eof(timeout=5)
        lines = [line for line in rest.split(b"\r\n") if line]
        self.assertTrue(lines and lines[0].startswith(b"a BAD"), lines)
        self.assertTrue(lines[-1].startswith(b"* BYE"), lines)
        self.assertEqual(len([line for line in lines if line.startswith(b"a ")]), 1, lines)
        self.assertEqual(self.message_count(ALICE, ALICE_PW), before)

    def test_a_client_sending_only_invalid_commands_is_closed(self):
        client = self.client()
        client.send(b"\r\n" * (BAD_COMMANDS + 5))
        rest = client.read_to_eof(timeout=5)
        lines = [line for line in rest.split(b"\r\n") if line]
        self.assertEqual(lines.count(b"* BAD Invalid tag"), BAD_COMMANDS, lines)
        self.assertEqual(lines[-1], b"* BYE Too many invalid commands")

    def test_a_client_that_does_not_read_is_not_read_from_before_login(self):
        client = self.client()
        before = rss_kib(self.env.proxy.proc.pid)
        flood = b"a NOOP\r\n" * (1024 * 1024)  # 8 MiB of commands, ~20 MiB of answers
        client.sock.settimeout(0.2)
        sent = 0
        deadline = time.monotonic() + 5
        while sent < len(flood) and time.monotonic() < deadline:
            try:
                sent += client.sock.send(flood[sent:sent + 65536])
            except (socket.timeout, BlockingIOError):
                pass
        # The proxy stopped reading: the flood could not all be sent, and its
        # answers are not piling up in the proxy's memory.
        self.assertLess(sent, len(flood))
        self.assertLess(rss_kib(self.env.proxy.proc.pid) - before, 32 * 1024)

    def test_invalid_commands_after_login_do_not_close_the_session(self):
        client = self.logged_in()
        for i in range(BAD_COMMANDS + 2):
            self.assertEqual(tagged_status(client.command(f"v{i}", "VHOST abcd.test"), f"v{i}"), "BAD")
        self.assertEqual(tagged_status(client.command("n", "NOOP"), "n"), "OK")

    def test_a_session_told_bye_is_closed_even_if_the_client_never_reads(self):
        self.env.a.append(ALICE, big_message(8 * 1024 * 1024))
        client = self.logged_in()
        client.send(b"s SELECT INBOX\r\n")
        client.read_until_tag("s")
        baseline = metric(self.admin_port, "imapfront_sessions_active")
        # Ask for far more than the socket buffers hold, then stop reading:
        # the idle timeout's BYE queues behind it.
        client.send(b"".join(b"f%d FETCH * BODY.PEEK[]\r\n" % i for i in range(4)))
        deadline = time.monotonic() + IDLE_TIMEOUT + BYE_SEND_DEADLINE + 10
        while time.monotonic() < deadline:
            if metric(self.admin_port, "imapfront_sessions_active") < baseline:
                break
            time.sleep(0.5)
        self.assertLess(metric(self.admin_port, "imapfront_sessions_active"), baseline)

    def test_vhost_given_before_starttls_is_forgotten(self):
        client = self.client("starttls")
        self.assertEqual(tagged_status(client.command("v", "VHOST defg.test"), "v"), "OK")
        self.assertEqual(tagged_status(client.command("t", "STARTTLS"), "t"), "OK")
        client.start_tls(self.env.ca.client_context())
        # A bare name now takes the listener's default vhost, abcd.test.
        lines = client.command("L", b"LOGIN alice " + ALICE_PW)
        self.assertEqual(tagged_status(lines, "L"), "OK", lines)

    def test_enable_reaches_a_link_that_was_open_before_it(self):
        client = self.logged_in(BOB1, USERS_A[BOB1])
        self.assertEqual(tagged_status(client.command("s1", f"SELECTA {BOB2}"), "s1"), "OK")
        self.assertEqual(tagged_status(client.command("e", "ENABLE QRESYNC"), "e"), "OK")
        self.assertEqual(tagged_status(client.command("s2", f"SELECTA {BOB1}"), "s2"), "OK")
        lines = client.command("sel", "SELECT INBOX (QRESYNC (1 1))")
        self.assertEqual(tagged_status(lines, "sel"), "OK", lines)
        self.assertEqual(tagged_status(client.command("s3", f"SELECTA {BOB2}"), "s3"), "OK")
        lines = client.command("sel2", "SELECT INBOX (QRESYNC (1 1))")
        self.assertEqual(tagged_status(lines, "sel2"), "OK", lines)

    def test_a_link_paused_by_a_slow_client_serves_again_after_selecta(self):
        self.env.b.append(BOB2, big_message(6 * 1024 * 1024))
        client = self.logged_in(BOB1, USERS_A[BOB1])
        self.assertEqual(tagged_status(client.command("s1", f"SELECTA {BOB2}"), "s1"), "OK")
        client.send(b"sel SELECT INBOX\r\n")
        client.read_until_tag("sel")
        client.send(b"f FETCH * BODY.PEEK[]\r\ns2 SELECTA " + BOB1.encode() + b"\r\n")
        time.sleep(1.5)  # not reading: the proxy pauses bob2's link
        self.assertEqual(tagged_status(client.read_until_tag("s2", timeout=30), "s2"), "OK")
        self.assertEqual(tagged_status(client.command("s3", f"SELECTA {BOB2}"), "s3"), "OK")
        self.assertEqual(tagged_status(client.command("n", "NOOP"), "n"), "OK")
        self.assertEqual(tagged_status(client.command("s4", "SELECT INBOX"), "s4"), "OK")
