"""Faults against real Dovecot: backends killed mid-transfer, a backend that
never speaks, a client too slow to read a 100 MiB FETCH, clients that vanish
mid-literal, mid-handshake or mid-IDLE, and 10,000 connections dropped in
bursts. The proxy must answer clearly, never hang, keep its memory bounded and
give back every file descriptor."""

import hashlib
import re
import socket
import time
import unittest

from faults_support import (MIB, SilentBackend, abort, admin_config, calm_health_checks,
                            client_hello, fd_count, kill_backend, measurable_memory, metric,
                            recv_until_closed, rss_bytes, settled_fd_count, wait_until)
from harness import (HOST, USERS_A, Environment, EnvironmentTestCase, RawClient, make_message,
                     requires_proxy, sha256, tagged_status, welcome_message)

ALICE = "alice@abcd.test"
BOB1 = "bob1@abcd.test"
KILLED_IN_FETCH = "kf@killfetch.test"
KILLED_IN_APPEND = "ka@killappend.test"
MUTE = "mute@silent.test"
BACKEND_TIMEOUT = 2.0


@requires_proxy
class FaultTest(EnvironmentTestCase):

    @classmethod
    def setUpClass(cls):
        cls.env = Environment()
        cls.addClassCleanup(cls.env.stop)
        cls.env.start(with_proxy=False)
        config = cls.env.config
        cls.doomed = {}
        for identity in (KILLED_IN_FETCH, KILLED_IN_APPEND):
            domain = identity.split("@")[1]
            backend = cls.env.add_backend(domain, {identity: b"pw"})
            cls.doomed[identity] = backend
            config["backends"][domain] = {"address": f"{HOST}:{backend.imap_port}", "tls": "none"}
            config["pools"][domain] = {"servers": [domain]}
            config["vhosts"][domain] = {"pool": domain}
        cls.silent = SilentBackend()
        cls.addClassCleanup(cls.silent.stop)
        config["backends"]["silent"] = {"address": f"{HOST}:{cls.silent.port}", "tls": "none"}
        config["pools"]["silent"] = {"servers": ["silent"]}
        config["vhosts"]["silent.test"] = {"pool": "silent"}
        calm_health_checks(config)
        config["limits"].update({"backend_timeout": f"{int(BACKEND_TIMEOUT)}s",
                                 "login_timeout": "10s", "max_connections_per_ip": 2000,
                                 "login_attempts_per_ip": 100000})
        cls.admin_port = admin_config(config)
        with measurable_memory():
            cls.env.proxy = cls.env.start_proxy(config)
        cls.pid = cls.env.proxy.proc.pid

    def session(self, user, password=None, listener="plain"):
        client = self.env.raw(listener)
        self.addCleanup(client.close)
        client.read_line()
        password = password if password is not None else USERS_A.get(user, b"pw")
        self.assertEqual(tagged_status(client.login(user, password), "L1"), "OK")
        return client

    def sessions_active(self):
        return metric(self.admin_port, "imapfront_sessions_active")

    def quiet_baseline(self, sessions=0):
        """The fd count once only `sessions` sessions remain."""
        self.assertTrue(wait_until(lambda: self.sessions_active() == sessions, 10),
                        f"sessions_active stays at {self.sessions_active()}")
        time.sleep(0.2)
        return fd_count(self.pid)

    def assertBackToBaseline(self, baseline, sessions=0):
        self.assertTrue(wait_until(lambda: self.sessions_active() == sessions, 10),
                        f"sessions_active stays at {self.sessions_active()}, expected {sessions}")
        # At most: the baseline may have caught a closing admin or probe socket.
        self.assertLessEqual(settled_fd_count(self.pid, baseline), baseline, "file descriptors leaked")

    # ---------------------------------------------------------------- killed backends

    def test_backend_killed_during_a_20_mib_fetch_gives_bye_promptly(self):
        backend = self.doomed[KILLED_IN_FETCH]
        uid = backend.append(KILLED_IN_FETCH, make_message(20 * MIB, seed=501))
        client = self.session(KILLED_IN_FETCH)
        self.assertEqual(tagged_status(client.command("s", "EXAMINE INBOX"), "s"), "OK")
        client.send(f"f UID FETCH {uid} (BODY.PEEK[])\r\n".encode())
        received = bytearray()
        while len(received) < MIB:
            chunk = client.sock.recv(65536)
            self.assertTrue(chunk, "the proxy closed before the backend died")
            received += chunk
        killed = time.monotonic()
        kill_backend(backend)
        rest = recv_until_closed(client.sock, timeout=10)
        elapsed = time.monotonic() - killed
        self.assertIsNotNone(rest, "the client hangs after its backend died")
        self.assertLess(elapsed, 2.0)
        self.assertIn(b"* BYE", rest[-300:])
        self.assertNotIn(b"\r\nf OK", received + rest)
        self.assertTrue(self.env.proxy.running())
        self.assertEqual(tagged_status(self.session(ALICE).command("n", "NOOP"), "n"), "OK")

    def test_backend_killed_during_an_append_never_gives_ok(self):
        backend = self.doomed[KILLED_IN_APPEND]
        message = make_message(4 * MIB, seed=502)
        client = self.session(KILLED_IN_APPEND)
        client.send(f"a APPEND INBOX {{{len(message)}}}\r\n".encode())
        self.assertTrue(client.read_line().startswith(b"+"))
        client.send(message[:MIB])
        time.sleep(0.3)
        killed = time.monotonic()
        kill_backend(backend)
        try:
            client.sock.sendall(message[MIB:] + b"\r\n")
        except OSError:
            pass  # the proxy may have closed already: what matters is its answer
        rest = recv_until_closed(client.sock, timeout=10)
        self.assertIsNotNone(rest, "the client hangs after its backend died")
        self.assertLess(time.monotonic() - killed, 3.0)
        self.assertNotRegex(rest, rb"(^|\r\n)a OK")
        self.assertIn(b"* BYE", rest)
        self.assertTrue(self.env.proxy.running())

    def test_backend_that_never_speaks_gives_no_unavailable_within_the_backend_timeout(self):
        for attempt in range(2):
            with self.subTest(attempt=attempt):
                client = self.env.raw("plain")
                self.addCleanup(client.close)
                client.read_line()
                started = time.monotonic()
                lines = client.command("L", f"LOGIN {MUTE} pw", timeout=BACKEND_TIMEOUT + 10)
                elapsed = time.monotonic() - started
                self.assertRegex(lines[-1], rb"^L NO \[UNAVAILABLE\]")
                self.assertGreater(elapsed, BACKEND_TIMEOUT - 0.5)
                self.assertLess(elapsed, BACKEND_TIMEOUT + 1.5)
                # The client may retry, here or elsewhere.
                self.assertEqual(tagged_status(client.login(ALICE, USERS_A[ALICE]), "L1"), "OK")
        self.assertGreaterEqual(len(self.silent.accepted), 2, "the proxy never reached the mute backend")

    # ---------------------------------------------------------------- slow reader

    def test_slow_reader_of_a_100_mib_fetch_keeps_memory_bounded_and_bytes_intact(self):
        message = make_message(100 * MIB, seed=503)
        direct = self.env.a.connect(ALICE)
        direct.create("Huge")
        direct.logout()
        uid = self.env.a.append(ALICE, message, "Huge")
        client = self.session(ALICE)
        self.assertEqual(tagged_status(client.command("s", "EXAMINE Huge"), "s"), "OK")
        baseline = rss_bytes(self.pid)
        client.send(f"f UID FETCH {uid} (BODY.PEEK[])\r\n".encode())
        deadline = time.monotonic() + 60
        head = bytearray(client.buffer)
        client.buffer.clear()
        while b"}\r\n" not in head:
            head += client.sock.recv(1024)
            self.assertLess(time.monotonic(), deadline)
        header, _, body = bytes(head).partition(b"}\r\n")
        size = int(re.search(rb"\{(\d+)$", header).group(1))
        self.assertEqual(size, len(message))
        digest = hashlib.sha256(body[:size])
        got = len(body[:size])
        tail = bytearray(body[size:])
        peak = baseline
        burst = 2 * MIB
        client.sock.setblocking(True)
        client.sock.settimeout(20)
        while got < size:
            in_burst = 0
            while in_burst < burst and got < size:
                chunk = client.sock.recv(min(65536, size - got))
                self.assertTrue(chunk, "the connection closed mid-literal")
                digest.update(chunk)
                got += len(chunk)
                in_burst += len(chunk)
            self.assertLess(time.monotonic(), deadline, "the slow read took too long")
            time.sleep(0.3)  # the backend keeps sending meanwhile; the proxy must not
            peak = max(peak, rss_bytes(self.pid))
        self.assertEqual(digest.hexdigest(), sha256(message))
        client.buffer += tail
        lines = client.read_until_tag("f")
        self.assertEqual(tagged_status(lines, "f"), "OK")
        grown = peak - baseline
        self.assertLess(grown, 64 * MIB, f"RSS grew by {grown / MIB:.1f} MiB while the client read slowly")

    # ---------------------------------------------------------------- vanishing clients

    def test_clients_vanishing_mid_literal_handshake_or_idle_leak_nothing(self):
        observer = self.session(ALICE, listener="implicit")
        self.assertEqual(tagged_status(observer.command("s", "SELECT INBOX"), "s"), "OK")
        baseline = self.quiet_baseline(sessions=1)
        hello = client_hello()
        for way in ("mid-literal", "mid-literal-plus", "mid-TLS-handshake", "mid-STARTTLS-handshake",
                    "after-client-hello", "mid-IDLE"):
            with self.subTest(way=way):
                for leave in (lambda s: s.close(), abort):
                    if way.startswith("mid-literal"):
                        client = self.session(BOB1)
                        plus = "+" if way.endswith("plus") else ""
                        client.send(f"a APPEND INBOX {{{MIB}{plus}}}\r\n".encode())
                        if not plus:
                            self.assertTrue(client.read_line().startswith(b"+"))
                        client.send(b"x" * (100 * 1024))
                    elif way == "mid-TLS-handshake":
                        client = RawClient(self.env.proxy.port("implicit"))
                        client.send(hello[:len(hello) // 2])
                    elif way == "mid-STARTTLS-handshake":
                        client = self.env.raw("starttls")
                        client.read_line()
                        self.assertEqual(client.command("t", "STARTTLS"), [b"t OK Begin TLS negotiation now"])
                        client.send(hello[:len(hello) // 2])
                    elif way == "after-client-hello":
                        client = RawClient(self.env.proxy.port("implicit"))
                        client.send(hello)
                    else:
                        client = self.session(BOB1)
                        client.command("s", "SELECT INBOX")
                        client.send(b"i IDLE\r\n")
                        self.assertTrue(client.read_line().startswith(b"+"))
                    time.sleep(0.2)
                    leave(client.sock)
                self.assertBackToBaseline(baseline, sessions=1)
                self.assertEqual(tagged_status(observer.command("n", "NOOP"), "n"), "OK")
        self.assertEqual(tagged_status(observer.command("f", "FETCH 1 BODY.PEEK[HEADER]"), "f"), "OK")

    def test_half_sent_append_never_reaches_the_mailbox(self):
        marker = "vanished-mid-literal"
        message = welcome_message(marker) + b"x" * 4096
        client = self.session(BOB1)
        client.send(f"a APPEND INBOX {{{len(message)}}}\r\n".encode())
        self.assertTrue(client.read_line().startswith(b"+"))
        client.send(message[:len(message) // 2])
        time.sleep(0.2)
        abort(client.sock)
        self.assertTrue(wait_until(lambda: self.sessions_active() == 0, 10))
        direct = self.env.a.connect(BOB1)
        try:
            direct.select("INBOX", readonly=True)
            typ, data = direct.search(None, "SUBJECT", f'"mailbox of {marker}"')
            self.assertEqual((typ, data), ("OK", [b""]))
        finally:
            direct.logout()

    # ---------------------------------------------------------------- connection storms

    def test_10000_connections_dropped_in_bursts(self):
        baseline = self.quiet_baseline()
        started = time.monotonic()
        for burst in range(20):
            sockets = []
            for _ in range(500):
                sockets.append(socket.create_connection((HOST, self.env.proxy.port("plain")), timeout=10))
            for n, sock in enumerate(sockets):
                if n % 2:
                    abort(sock)
                else:
                    sock.close()
            self.assertLess(time.monotonic() - started, 100, f"burst {burst} too slow")
        self.assertTrue(self.env.proxy.running())
        # The storm's last 500 connections count against max_connections_per_ip
        # until the proxy has torn them down; they must all go, and soon.
        self.assertTrue(wait_until(lambda: self.sessions_active() == 0, 10),
                        f"sessions_active stays at {self.sessions_active()} after the storm")
        client = self.session(ALICE)
        self.assertEqual(tagged_status(client.command("s", "SELECT INBOX"), "s"), "OK")
        client.close()
        self.assertBackToBaseline(baseline)


if __name__ == "__main__":
    unittest.main()
