"""A bounded soak: concurrent sessions log in, switch between the members of
a profile with SELECTA, IDLE while others APPEND, and APPEND messages of
random sizes. Afterwards every APPENDed message must be on its own backend
byte for byte (read there directly, not through the proxy) and the proxy's
memory must be back near where it started.

IMAPFRONT_SOAK_SECONDS sets the length (default 75 s)."""

import math
import os
import random
import re
import sys
import threading
import time
import traceback
import unittest

from faults_support import (MIB, admin_config, calm_health_checks, measurable_memory, metric,
                            rss_bytes, wait_until)
from harness import (USERS_A, USERS_B, EnvironmentTestCase, make_message, requires_proxy, sha256,
                     tagged_status)

SOAK_SECONDS = float(os.environ.get("IMAPFRONT_SOAK_SECONDS", "75"))
WORKERS = 3
PROFILE = ["bob1@abcd.test", "bob2@defg.test"]
LONERS = ["alice@abcd.test", "dave@defg.test"]
PASSWORDS = {**USERS_A, **USERS_B}
IDLE_TARGET = "bob2@defg.test"


def message_size(rng):
    """1 KiB to 2 MiB, spread evenly over the orders of magnitude."""
    return int(math.exp(rng.uniform(math.log(1024), math.log(2 * MIB))))


class Ledger:
    """What was appended where, shared by the worker threads."""

    def __init__(self):
        self.lock = threading.Lock()
        self.appended = []  # (identity, sha256, size)
        self.errors = []
        self.switches = 0
        self.idle_wakeups = 0

    def record(self, identity, message):
        with self.lock:
            self.appended.append((identity, sha256(message), len(message)))

    def fail(self, where):
        with self.lock:
            self.errors.append(f"{where}:\n{traceback.format_exc()}")


@requires_proxy
class SoakTest(EnvironmentTestCase):

    @classmethod
    def setUpClass(cls):
        with measurable_memory():
            super().setUpClass()

    @classmethod
    def tweak_config(cls, config):
        calm_health_checks(config)
        config["limits"].update({"login_attempts_per_ip": 1000000, "login_timeout": "10s"})
        cls.admin_port = admin_config(config)

    def connect(self, identity):
        client = self.env.raw(random.choice(["plain", "implicit"]))
        client.read_line()
        lines = client.login(identity, PASSWORDS[identity])
        if tagged_status(lines, "L1") != "OK":
            raise AssertionError(f"login of {identity}: {lines}")
        return client

    @staticmethod
    def checked(client, tag, command, timeout=None):
        lines = client.command(tag, command, timeout)
        if tagged_status(lines, tag) != "OK":
            raise AssertionError(f"{command!r}: {lines[-3:]}")
        return lines

    @staticmethod
    def append(client, rng, message):
        plus = rng.random() < 0.5
        client.send(f"ap APPEND INBOX {{{len(message)}{'+' if plus else ''}}}\r\n".encode())
        if not plus:
            first = client.read_line()
            if not first.startswith(b"+"):
                raise AssertionError(f"APPEND not continued: {first!r}")
        client.send(message + b"\r\n")
        lines = client.read_until_tag("ap", timeout=60)
        if tagged_status(lines, "ap") != "OK":
            raise AssertionError(f"APPEND of {len(message)} bytes: {lines[-3:]}")

    def worker(self, number, deadline, ledger):
        rng = random.Random(1000 + number)
        serial = 0
        try:
            while time.monotonic() < deadline:
                in_profile = rng.random() < 0.75
                first = rng.choice(PROFILE if in_profile else LONERS)
                client = self.connect(first)
                active = first
                try:
                    for step in range(rng.randint(2, 6)):
                        if time.monotonic() >= deadline:
                            break
                        if in_profile and rng.random() < 0.5:
                            target = rng.choice(PROFILE)
                            self.checked(client, "sa", f"SELECTA {target}")
                            active = target
                            with ledger.lock:
                                ledger.switches += 1
                        if rng.random() < 0.3:
                            self.checked(client, "se", "SELECT INBOX")
                        serial += 1
                        message = make_message(message_size(rng), seed=f"soak-{number}-{serial}",
                                               subject=f"soak {number}/{serial} for {active}")
                        self.append(client, rng, message)
                        ledger.record(active, message)
                        time.sleep(rng.uniform(0, 0.1))
                    self.checked(client, "lo", "LOGOUT")
                finally:
                    client.close()
        except Exception:
            ledger.fail(f"worker {number}")

    def idler(self, deadline, ledger):
        """Stays in IDLE on bob2's INBOX (reached by SELECTA) while the
        workers append there."""
        try:
            client = self.connect("bob1@abcd.test")
            try:
                self.checked(client, "sa", f"SELECTA {IDLE_TARGET}")
                self.checked(client, "se", "SELECT INBOX")
                while time.monotonic() < deadline:
                    client.send(b"id IDLE\r\n")
                    if not client.read_line().startswith(b"+"):
                        raise AssertionError("IDLE not accepted")
                    woke = time.monotonic() + 5
                    while time.monotonic() < woke:
                        try:
                            line = client.read_line(timeout=max(woke - time.monotonic(), 0.01))
                        except TimeoutError:
                            break
                        if re.match(rb"\* \d+ EXISTS", line):
                            with ledger.lock:
                                ledger.idle_wakeups += 1
                            break
                    client.send(b"DONE\r\n")
                    if tagged_status(client.read_until_tag("id"), "id") != "OK":
                        raise AssertionError("IDLE did not end with OK")
            finally:
                client.close()
        except Exception:
            ledger.fail("idler")

    def backend_digests(self, identity):
        """sha256 of every message in the identity's INBOX, read straight
        from its Dovecot, one message at a time."""
        backend = self.env.a if identity.endswith("@abcd.test") else self.env.b
        imap = backend.connect(identity)
        digests = set()
        try:
            imap.select("INBOX", readonly=True)
            typ, data = imap.uid("SEARCH", None, "ALL")
            self.assertEqual(typ, "OK")
            for uid in data[0].split():
                typ, fetched = imap.uid("FETCH", uid.decode(), "(BODY.PEEK[])")
                self.assertEqual(typ, "OK")
                digests.add(sha256(fetched[0][1]))
        finally:
            imap.logout()
        return digests

    def warm_up(self):
        """One session of every kind before the baseline, so that the
        proxy's pools and caches exist when RSS is first read."""
        client = self.connect(PROFILE[0])
        try:
            self.checked(client, "sa", f"SELECTA {PROFILE[1]}")
            message = make_message(2 * MIB, seed="warm-up")
            self.append(client, random.Random(1), message)
            self.checked(client, "lo", "LOGOUT")
        finally:
            client.close()

    def test_mixed_sessions_lose_no_byte_and_give_memory_back(self):
        pid = self.env.proxy.proc.pid
        self.warm_up()
        self.assertTrue(wait_until(lambda: metric(self.admin_port, "imapfront_sessions_active") == 0, 10))
        baseline = rss_bytes(pid)
        ledger = Ledger()
        deadline = time.monotonic() + SOAK_SECONDS
        threads = [threading.Thread(target=self.worker, args=(n, deadline, ledger)) for n in range(WORKERS)]
        threads.append(threading.Thread(target=self.idler, args=(deadline, ledger)))
        peak = baseline
        for thread in threads:
            thread.start()
        while any(t.is_alive() for t in threads) and time.monotonic() < deadline + 90:
            peak = max(peak, rss_bytes(pid))
            time.sleep(0.5)
        for thread in threads:
            thread.join(timeout=1)
        self.assertFalse(any(t.is_alive() for t in threads), "a soak thread hangs")
        self.assertEqual(ledger.errors, [], "\n".join(ledger.errors))
        self.assertTrue(self.env.proxy.running())

        self.assertGreater(len(ledger.appended), 10 * WORKERS, "the soak did almost nothing")
        self.assertGreater(ledger.switches, 10)
        self.assertGreater(ledger.idle_wakeups, 0, "IDLE never saw another session's APPEND")
        for identity in PROFILE + LONERS:
            expected = {digest for who, digest, _ in ledger.appended if who == identity}
            with self.subTest(identity=identity, messages=len(expected)):
                missing = expected - self.backend_digests(identity)
                self.assertEqual(missing, set(), f"{len(missing)} APPENDed messages are not on the backend")

        self.assertTrue(wait_until(lambda: metric(self.admin_port, "imapfront_sessions_active") == 0, 10))
        if sanitizer_build(pid):
            # ASan's allocator keeps per-thread caches and size-class regions
            # it never hands back: RSS there measures the sanitizer. The plain
            # build, which run.sh tests too, checks the proxy's memory.
            print("RSS check skipped: sanitizer build", file=sys.stderr)
            return
        settled = wait_until(lambda: rss_bytes(pid) < baseline + 20 * MIB and rss_bytes(pid), 10)
        self.assertTrue(settled, f"RSS {rss_bytes(pid) / MIB:.1f} MiB after the soak, "
                                 f"{baseline / MIB:.1f} MiB before, {peak / MIB:.1f} MiB at the peak")


def sanitizer_build(pid):
    with open(f"/proc/{pid}/maps") as maps:
        return "libasan" in maps.read()


if __name__ == "__main__":
    unittest.main()
