"""Operations: the admin endpoint and its metrics, backend health checks and
balancing, live reload, graceful drain, client addresses passed to backends,
PROXY headers on listeners, connection limits and the JSON log. Everything
runs against real Dovecot backends and a real imapfront process."""

import base64
import copy
import http.client
import json
import os
import re
import signal
import socket
import struct
import subprocess
import time
import unittest

from harness import (DIRECT, HOST, IO_TIMEOUT, MASTER_PASSWORD, USERS_A, EnvironmentTestCase,
                     Imapfront, RawClient, free_port, mailbox_owner, quote, requires_proxy,
                     tagged_status, to_yaml)

ALICE = "alice@abcd.test"
ALICE_PW = USERS_A[ALICE]

# Reactive checks so that state changes take well under a second.
FAST_HEALTH = {"interval": "200ms", "timeout": "500ms", "fall": 2, "rise": 2}
STATE_CHANGE_TIMEOUT = 8.0
BYE_UNAVAILABLE = b"* BYE [UNAVAILABLE]"


# ---------------------------------------------------------------- helpers


def wait_until(predicate, timeout, what):
    """Polls predicate() until it returns something true; returns that."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)


def port_of(address):
    return int(address.rsplit(":", 1)[1])


def add_admin(config):
    config["admin"] = {"address": f"{HOST}:{free_port()}"}


def fresh_ports(config):
    """A copy of a config with new listener and admin ports, for a second
    imapfront next to the first."""
    config = copy.deepcopy(config)
    for listener in config["listeners"]:
        listener["address"] = f"{HOST}:{free_port()}"
    if "admin" in config:
        add_admin(config)
    return config


def http_get(port, path, timeout=5.0):
    connection = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$")
LABEL = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*(?:,|$)')
HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")


def parse_labels(text):
    labels = {}
    position = 0
    while position < len(text):
        match = LABEL.match(text, position)
        if not match:
            raise AssertionError(f"bad label set {text!r}")
        labels[match.group(1)] = match.group(2)
        position = match.end()
    return labels


def parse_prometheus(text):
    """The Prometheus text format, strictly: every sample belongs to a family
    announced by # TYPE, values are numbers. Returns {(name, labels): value}."""
    types = {}
    samples = {}
    for line in text.splitlines():
        if not line:
            continue
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ", 3)
            if kind not in ("counter", "gauge", "histogram", "summary", "untyped"):
                raise AssertionError(f"unknown metric type in {line!r}")
            types[name] = kind
            continue
        if line.startswith("# HELP "):
            continue
        if line.startswith("#"):
            raise AssertionError(f"stray comment {line!r}")
        match = SAMPLE.match(line)
        if not match:
            raise AssertionError(f"not a sample line: {line!r}")
        name, labels, value = match.group(1), parse_labels(match.group(2) or ""), float(match.group(3))
        family = name
        for suffix in HISTOGRAM_SUFFIXES:
            if name.endswith(suffix) and types.get(name[:-len(suffix)]) == "histogram":
                family = name[:-len(suffix)]
        if family not in types:
            raise AssertionError(f"sample {name} has no # TYPE line")
        samples[(name, tuple(sorted(labels.items())))] = value
    return samples


class Metrics:
    """One scrape of /metrics."""

    def __init__(self, admin_port):
        status, body = http_get(admin_port, "/metrics")
        if status != 200:
            raise AssertionError(f"/metrics answered {status}: {body[:200]!r}")
        self.samples = parse_prometheus(body.decode())

    def get(self, name, **labels):
        key = (name, tuple(sorted(labels.items())))
        if key not in self.samples:
            raise AssertionError(f"no sample {name}{labels}")
        return self.samples[key]


def metric(admin_port, name, **labels):
    return Metrics(admin_port).get(name, **labels)


def log_events(proxy):
    return [json.loads(line) for line in proxy.log_text().splitlines() if line.strip()]


def events_named(proxy, event, **fields):
    return [entry for entry in log_events(proxy)
            if entry.get("event") == event and all(entry.get(k) == v for k, v in fields.items())]


class BoundClient(RawClient):
    """A RawClient whose socket comes from a chosen local address, so the
    proxy sees a distinct client (127.0.0.2, 127.0.0.3...)."""

    def __init__(self, port, source_ip, timeout=IO_TIMEOUT):
        self.sock = socket.create_connection((HOST, port), timeout=timeout,
                                             source_address=(source_ip, 0))
        self.timeout = timeout
        self.buffer = bytearray()


def session_of(proxy, client):
    """The proxy's session id for a client socket, from its connect line."""
    port = str(client.sock.getsockname()[1])
    events = wait_until(lambda: events_named(proxy, "connect", client_port=port), 5.0,
                        f"the connect line of client port {port}")
    return events[-1]["session"]


def login_backend(proxy, client):
    """The backend the proxy logged the client's successful login on."""
    session = session_of(proxy, client)
    events = events_named(proxy, "login", session=session, result="ok")
    if not events:
        raise AssertionError(f"no successful login for session {session}")
    return events[-1]["backend"]


def sigterm(proxy):
    proxy.proc.send_signal(signal.SIGTERM)
    return time.monotonic()


def wait_exit(proxy, timeout):
    try:
        return proxy.proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"imapfront still running {timeout}s after SIGTERM")


def dovecot_logins(backend, user):
    with open(backend.log, "rb") as f:
        text = f.read().decode("utf-8", "replace")
    return [line for line in text.splitlines() if "Login: user=<" + user + ">" in line]


# ---------------------------------------------------------------- admin endpoint


class AdminEndpointTest(EnvironmentTestCase):

    @classmethod
    def tweak_config(cls, config):
        add_admin(config)

    @property
    def admin_port(self):
        return port_of(self.env.config["admin"]["address"])

    def logged_in_client(self, user=ALICE, password=ALICE_PW):
        client = self.env.raw()
        self.addCleanup(client.close)
        client.read_line()
        self.assertEqual(tagged_status(client.login(user, password), "L1"), "OK")
        return client

    @requires_proxy
    def test_healthz_and_readyz_answer_200(self):
        self.assertEqual(http_get(self.admin_port, "/healthz")[0], 200)
        self.assertEqual(http_get(self.admin_port, "/readyz")[0], 200)

    @requires_proxy
    def test_metrics_is_prometheus_text_with_the_documented_families(self):
        metrics = Metrics(self.admin_port)
        names = {name for name, _ in metrics.samples}
        for family in ("imapfront_sessions_active", "imapfront_connections_total",
                       "imapfront_logins_total", "imapfront_relayed_bytes_total",
                       "imapfront_config_reloads_total", "imapfront_backend_up"):
            self.assertIn(family, names)

    @requires_proxy
    def test_a_login_counts_as_ok_and_a_wrong_password_as_auth_failed(self):
        before = Metrics(self.admin_port)
        self.logged_in_client()
        with self.env.raw() as client:
            client.read_line()
            self.assertEqual(tagged_status(client.login(ALICE, b"not-the-password"), "L1"), "NO")
        after = Metrics(self.admin_port)
        for result, moved in (("ok", 1), ("auth_failed", 1), ("unavailable", 0)):
            self.assertEqual(after.get("imapfront_logins_total", result=result),
                             before.get("imapfront_logins_total", result=result) + moved, result)

    @requires_proxy
    def test_relayed_bytes_grow_in_both_directions(self):
        client = self.logged_in_client()
        before = Metrics(self.admin_port)
        client.command("e", "EXAMINE INBOX")
        lines = client.command("f", "FETCH 1 BODY.PEEK[]")
        self.assertEqual(tagged_status(lines, "f"), "OK")
        after = Metrics(self.admin_port)
        up = after.get("imapfront_relayed_bytes_total", direction="client_to_backend") - \
            before.get("imapfront_relayed_bytes_total", direction="client_to_backend")
        down = after.get("imapfront_relayed_bytes_total", direction="backend_to_client") - \
            before.get("imapfront_relayed_bytes_total", direction="backend_to_client")
        self.assertGreaterEqual(up, len("e EXAMINE INBOX\r\nf FETCH 1 BODY.PEEK[]\r\n"))
        self.assertGreaterEqual(down, len(self.env.seeded[ALICE][1]))

    @requires_proxy
    def test_sessions_active_follows_open_connections(self):
        def active():
            return metric(self.admin_port, "imapfront_sessions_active")

        # Sessions of earlier tests end a moment after their clients close.
        wait_until(lambda: active() == 0, 5.0, "no session left from earlier tests")
        clients = [self.env.raw() for _ in range(3)]
        for client in clients:
            self.addCleanup(client.close)
            client.read_line()
        self.assertEqual(active(), 3)
        for client in clients:
            client.close()
        wait_until(lambda: active() == 0, 5.0, "sessions_active to drop back to 0")

    @requires_proxy
    def test_backend_up_is_1_for_a_live_backend_and_0_for_a_dead_one(self):
        self.assertEqual(metric(self.admin_port, "imapfront_backend_up", backend="dovecot-a"), 1)
        wait_until(lambda: metric(self.admin_port, "imapfront_backend_up", backend="dead") == 0,
                   STATE_CHANGE_TIMEOUT, "backend dead to be marked down")


# ---------------------------------------------------------------- drain


class DrainTest(EnvironmentTestCase):
    """Each test drains an imapfront of its own."""

    with_proxy = False
    DRAIN_TIMEOUT = 20.0

    @classmethod
    def tweak_config(cls, config):
        add_admin(config)
        config["limits"]["drain_timeout"] = f"{int(cls.DRAIN_TIMEOUT)}s"

    def start_proxy(self, name):
        """Kept out of env.proxies: exiting is what these proxies must do."""
        config = fresh_ports(self.env.config)
        proxy = Imapfront(self.env.scratch, config, name)
        self.addCleanup(proxy.stop, check=False)
        proxy.start()
        return proxy, config

    def logged_in(self, proxy):
        client = self.env.raw(proxy=proxy)
        self.addCleanup(client.close)
        client.read_line()
        self.assertEqual(tagged_status(client.login(ALICE, ALICE_PW), "L1"), "OK")
        return client

    def begin_append(self, client, size):
        client.send(f"A1 APPEND INBOX {{{size}}}\r\n".encode())
        self.assertTrue(client.read_line().startswith(b"+"))

    @requires_proxy
    def test_readyz_turns_503_after_sigterm_while_a_session_is_open(self):
        proxy, config = self.start_proxy("drain-ready")
        admin_port = port_of(config["admin"]["address"])
        self.assertEqual(http_get(admin_port, "/readyz")[0], 200)
        client = self.logged_in(proxy)
        message = b"Subject: held open\r\n\r\n" + b"x" * 1000 + b"\r\n"
        self.begin_append(client, len(message))
        client.send(message[:500])
        sigterm(proxy)

        def not_ready_body():
            status, body = http_get(admin_port, "/readyz")
            return body if status == 503 else None

        self.assertIn(b"draining", wait_until(not_ready_body, 5.0, "/readyz to answer 503"))
        self.assertEqual(http_get(admin_port, "/healthz")[0], 200)
        client.send(message[500:] + b"\r\n")
        self.assertEqual(tagged_status(client.read_until_tag("A1"), "A1"), "OK")
        self.assertEqual(wait_exit(proxy, self.DRAIN_TIMEOUT), 0)

    @requires_proxy
    def test_append_in_flight_completes_then_bye_and_exit_0(self):
        proxy, _ = self.start_proxy("drain-append")
        client = self.logged_in(proxy)
        size = 10 * 1024 * 1024
        chunk = 256 * 1024
        message = b"Subject: drained append\r\n\r\n"
        message += b"0123456789abcdef" * ((size - len(message)) // 16)
        message += b"." * (size - len(message))
        self.begin_append(client, size)
        signalled = None
        for offset in range(0, size, chunk):
            client.send(message[offset:offset + chunk])
            if offset >= size // 4 and signalled is None:
                signalled = sigterm(proxy)
            time.sleep(0.03)
        client.send(b"\r\n")
        lines = client.read_until_tag("A1", timeout=30)
        self.assertEqual(tagged_status(lines, "A1"), "OK", lines)
        self.assertTrue(client.read_line(timeout=5).startswith(BYE_UNAVAILABLE))
        self.assertEqual(client.read_to_eof(timeout=5), b"")
        self.assertEqual(wait_exit(proxy, self.DRAIN_TIMEOUT), 0)
        self.assertLess(time.monotonic() - signalled, self.DRAIN_TIMEOUT)
        with self.env.a.connect(ALICE) as direct:
            direct.select("INBOX", readonly=True)
            typ, data = direct.search(None, "SUBJECT", '"drained append"')
            self.assertEqual(typ, "OK")
            self.assertTrue(data[0].split(), "the drained APPEND did not store the message")

    @requires_proxy
    def test_idle_logged_in_session_gets_bye_promptly(self):
        proxy, _ = self.start_proxy("drain-idle")
        client = self.logged_in(proxy)
        signalled = sigterm(proxy)
        self.assertEqual(client.read_line(timeout=3), b"* BYE [UNAVAILABLE] Server shutting down")
        self.assertLess(time.monotonic() - signalled, 2.0)
        self.assertEqual(wait_exit(proxy, 5.0), 0)

    @requires_proxy
    def test_new_connections_are_refused_while_draining(self):
        proxy, _ = self.start_proxy("drain-refuse")
        client = self.logged_in(proxy)
        self.begin_append(client, 100)
        client.send(b"Subject: x\r\n\r\n")
        sigterm(proxy)
        wait_until(lambda: events_named(proxy, "draining"), 5.0, "the draining log line")
        try:
            with RawClient(proxy.port("plain"), timeout=3) as late:
                greeting = late.read_to_eof(timeout=3)
        except ConnectionRefusedError:
            greeting = None
        if greeting is not None:
            self.assertFalse(greeting.startswith(b"* OK"), greeting)
        self.assertTrue(proxy.running(), "the open APPEND should keep the process draining")


# ---------------------------------------------------------------- health


POOL_USERS = {f"user{i}@hash.test": f"user{i}-pw".encode() for i in range(12)}
POOL_USERS["fo@first.test"] = b"fo-pw"
MAINTENANCE_TEXT = "Back at 14:00 UTC, mailboxes are moving"


class HealthTest(EnvironmentTestCase):
    """Three extra Dovecots holding the same users: pool-hash spreads them
    over c1, c2, c3; pool-first prefers c1 and falls back to c2."""

    @classmethod
    def tweak_config(cls, config):
        cls.servers = {name: cls.env.add_backend(name, POOL_USERS) for name in ("c1", "c2", "c3")}
        for name, backend in cls.servers.items():
            config["backends"][name] = {"address": f"{HOST}:{backend.imap_port}", "tls": "none"}
        config["pools"]["pool-hash"] = {"servers": ["c1", "c2", "c3"], "balance": "hash",
                                        "health": FAST_HEALTH}
        config["pools"]["pool-first"] = {"servers": ["c1", "c2"], "balance": "first",
                                         "health": FAST_HEALTH}
        config["vhosts"]["hash.test"] = {"pool": "pool-hash"}
        config["vhosts"]["first.test"] = {"pool": "pool-first"}
        config["vhosts"]["maint.test"] = {"pool": "pool-a", "status": "maintenance",
                                          "maintenance_text": MAINTENANCE_TEXT}
        add_admin(config)

    @property
    def admin_port(self):
        return port_of(self.env.config["admin"]["address"])

    def backend_up(self, name):
        return metric(self.admin_port, "imapfront_backend_up", backend=name)

    def stop_backend(self, name):
        self.addCleanup(self.restart_backend, name)
        self.servers[name].stop()
        wait_until(lambda: self.backend_up(name) == 0, STATE_CHANGE_TIMEOUT, f"{name} down")

    def restart_backend(self, name):
        if not self.servers[name].running():
            self.servers[name].start()
        wait_until(lambda: self.backend_up(name) == 1, STATE_CHANGE_TIMEOUT, f"{name} up")

    def backend_of(self, user):
        with self.env.raw() as client:
            client.read_line()
            reply = client.login(user, POOL_USERS[user])
            self.assertEqual(tagged_status(reply, "L1"), "OK", (user, reply))
            return login_backend(self.env.proxy, client)

    @requires_proxy
    def test_stopped_backend_goes_down_and_comes_back_up(self):
        self.assertEqual(self.backend_up("c3"), 1)
        self.stop_backend("c3")
        down = events_named(self.env.proxy, "backend_down", backend="c3")
        self.assertTrue(down, "no backend_down line for c3")
        self.assertEqual(down[-1]["level"], "warn")
        self.restart_backend("c3")
        self.assertTrue(events_named(self.env.proxy, "backend_up", backend="c3"))

    @requires_proxy
    def test_first_pool_fails_over_to_the_second_server_and_back(self):
        self.assertEqual(self.backend_of("fo@first.test"), "c1")
        self.stop_backend("c1")
        self.assertEqual(self.backend_of("fo@first.test"), "c2")
        self.restart_backend("c1")
        self.assertEqual(self.backend_of("fo@first.test"), "c1")

    @requires_proxy
    def test_hash_pool_moves_only_the_down_servers_users_and_back(self):
        users = [user for user in POOL_USERS if user.endswith("@hash.test")]
        before = {user: self.backend_of(user) for user in users}
        counts = {name: list(before.values()).count(name) for name in self.servers}
        self.assertGreaterEqual(sum(1 for n in counts.values() if n), 2,
                                f"hashing put everyone on one server: {counts}")
        victim = max(counts, key=counts.get)
        self.stop_backend(victim)
        during = {user: self.backend_of(user) for user in users}
        for user in users:
            if before[user] == victim:
                self.assertNotEqual(during[user], victim, user)
            else:
                self.assertEqual(during[user], before[user], user)
        self.restart_backend(victim)
        self.assertEqual({user: self.backend_of(user) for user in users}, before)

    @requires_proxy
    def test_vhost_without_a_healthy_server_answers_unavailable(self):
        wait_until(lambda: self.backend_up("dead") == 0, STATE_CHANGE_TIMEOUT, "dead down")
        with self.env.raw() as client:
            client.read_line()
            reply = client.command("v", "VHOST down.test")
            self.assertTrue(reply[-1].startswith(b"v NO [UNAVAILABLE]"), reply)
            reply = client.command("l", "LOGIN someone@down.test secret")
            self.assertTrue(reply[-1].startswith(b"l NO [UNAVAILABLE]"), reply)

    @requires_proxy
    def test_maintenance_vhost_answers_with_the_configured_text(self):
        expected = f" NO [UNAVAILABLE] {MAINTENANCE_TEXT}".encode()
        with self.env.raw() as client:
            client.read_line()
            self.assertEqual(client.command("v", "VHOST maint.test")[-1], b"v" + expected)
            self.assertEqual(client.command("l", "LOGIN alice@maint.test secret")[-1], b"l" + expected)


# ---------------------------------------------------------------- reload


class ReloadTest(EnvironmentTestCase):
    """Each test runs an imapfront of its own whose config file it rewrites."""

    with_proxy = False

    @classmethod
    def tweak_config(cls, config):
        add_admin(config)

    def start_proxy(self, name, config, config_path):
        """Runs imapfront on config_path (already written); its log lives
        outside the watched folder so log writes are no folder events."""
        proxy = Imapfront(self.env.scratch, config, name)
        proxy.config_path = config_path
        self.env.proxies.append(proxy)
        proxy.start()
        return proxy

    def linked_config(self, name, config):
        """The config file is a symlink into another folder: rewriting the
        target is invisible to the folder watch, so only SIGHUP reloads."""
        watched = self.env.scratch.mkdir(name)
        target = os.path.join(self.env.scratch.mkdir(name + "-target"), "real.yaml")
        write_text(target, to_yaml(config) + "\n")
        path = os.path.join(watched, "imapfront.yaml")
        os.symlink(target, path)
        return path, target

    def vhost_answer(self, proxy, name):
        with self.env.raw(proxy=proxy) as client:
            client.read_line()
            return client.command("v", f"VHOST {name}")[-1]

    def reloads(self, proxy, result):
        return events_named(proxy, "config_reload", result=result)

    @requires_proxy
    def test_sighup_applies_to_new_sessions_and_old_sessions_keep_working(self):
        config = fresh_ports(self.env.config)
        path, target = self.linked_config("reload-sighup", config)
        proxy = self.start_proxy("reload-sighup", config, path)
        old = self.env.raw(proxy=proxy)
        self.addCleanup(old.close)
        old.read_line()
        self.assertEqual(tagged_status(old.login(ALICE, ALICE_PW), "L1"), "OK")
        self.assertEqual(self.vhost_answer(proxy, "fresh.abcd.test"), b"v NO Unknown virtual host")

        config["vhosts"]["abcd.test"]["aliases"].append("fresh.abcd.test")
        write_text(target, to_yaml(config) + "\n")
        time.sleep(0.5)  # a folder event would have been handled by now
        self.assertEqual(self.reloads(proxy, "ok"), [], "reloaded without a signal")
        proxy.proc.send_signal(signal.SIGHUP)
        wait_until(lambda: self.reloads(proxy, "ok"), 5.0, "config_reload ok")
        self.assertEqual(self.reloads(proxy, "ok")[-1]["trigger"], "SIGHUP")

        self.assertEqual(self.vhost_answer(proxy, "fresh.abcd.test"), b"v OK VHOST completed")
        with self.env.raw(proxy=proxy) as client:
            client.read_line()
            self.assertEqual(tagged_status(client.command("v", "VHOST fresh.abcd.test"), "v"), "OK")
            self.assertEqual(tagged_status(client.login("alice", ALICE_PW), "L1"), "OK")
            self.assertEqual(mailbox_owner(client), ALICE)
        self.assertEqual(mailbox_owner(old), ALICE)
        self.assertEqual(tagged_status(old.command("n", "NOOP"), "n"), "OK")

    @requires_proxy
    def test_configmap_symlink_swap_is_picked_up_without_sighup(self):
        config = fresh_ports(self.env.config)
        folder = self.env.scratch.mkdir("configmap")
        first = os.path.join(folder, "..2024_05_01_10_00_00.000000001")
        os.mkdir(first)
        write_text(os.path.join(first, "imapfront.yaml"), to_yaml(config) + "\n")
        os.symlink(os.path.basename(first), os.path.join(folder, "..data"))
        path = os.path.join(folder, "imapfront.yaml")
        os.symlink(os.path.join("..data", "imapfront.yaml"), path)
        proxy = self.start_proxy("configmap", config, path)
        self.assertEqual(self.vhost_answer(proxy, "defg.test"), b"v OK VHOST completed")

        config["vhosts"]["defg.test"]["status"] = "maintenance"
        config["vhosts"]["defg.test"]["maintenance_text"] = "Moving to new hardware"
        second = os.path.join(folder, "..2024_05_01_10_05_00.000000002")
        os.mkdir(second)
        write_text(os.path.join(second, "imapfront.yaml"), to_yaml(config) + "\n")
        # What the kubelet does: a new ..data link renamed over the old one.
        os.symlink(os.path.basename(second), os.path.join(folder, "..data_tmp"))
        os.replace(os.path.join(folder, "..data_tmp"), os.path.join(folder, "..data"))

        expected = b"v NO [UNAVAILABLE] Moving to new hardware"
        wait_until(lambda: self.vhost_answer(proxy, "defg.test") == expected, 5.0,
                   "the swapped config to apply")
        self.assertEqual(self.reloads(proxy, "ok")[-1]["trigger"], "file change")

    @requires_proxy
    def test_invalid_config_keeps_the_old_one_and_reports_its_position(self):
        config = fresh_ports(self.env.config)
        path, target = self.linked_config("reload-invalid", config)
        proxy = self.start_proxy("reload-invalid", config, path)
        admin_port = port_of(config["admin"]["address"])
        errors_before = metric(admin_port, "imapfront_config_reloads_total", result="error")

        lines = (to_yaml(config) + "\n").splitlines()
        bad_line = next(i for i, line in enumerate(lines) if line.strip() == 'tls: "none"')
        lines[bad_line] = lines[bad_line].replace('"none"', '"ssl"')
        lines.append('vhosts_typo: {}')
        write_text(target, "\n".join(lines) + "\n")
        proxy.proc.send_signal(signal.SIGHUP)
        wait_until(lambda: self.reloads(proxy, "rejected"), 5.0, "config_reload rejected")

        errors = [entry["error"] for entry in events_named(proxy, "config_error")]
        positions = set()
        for error in errors:
            match = re.match(r"(.+):(\d+):(\d+): ", error)
            self.assertIsNotNone(match, f"no file:line:col in {error!r}")
            self.assertTrue(match.group(1).endswith("imapfront.yaml") or
                            match.group(1).endswith("real.yaml"), error)
            positions.add(int(match.group(2)))
        self.assertIn(bad_line + 1, positions, errors)
        self.assertIn(len(lines), positions, errors)
        self.assertEqual(metric(admin_port, "imapfront_config_reloads_total", result="error"),
                         errors_before + 1)
        self.assertEqual(self.reloads(proxy, "ok"), [])
        with self.env.raw(proxy=proxy) as client:
            client.read_line()
            self.assertEqual(tagged_status(client.login(ALICE, ALICE_PW), "L1"), "OK")


    @requires_proxy
    def test_reload_that_drops_a_backend_drops_its_up_series(self):
        config = fresh_ports(self.env.config)
        some_backend = next(iter(config["backends"].values()))
        config["backends"]["spare"] = {"address": some_backend["address"], "tls": "none"}
        config["pools"]["pool-spare"] = {"servers": ["spare"]}
        config["vhosts"]["spare.test"] = {"pool": "pool-spare"}
        path, target = self.linked_config("reload-drop-backend", config)
        proxy = self.start_proxy("reload-drop-backend", config, path)
        admin_port = port_of(config["admin"]["address"])
        wait_until(lambda: metric(admin_port, "imapfront_backend_up", backend="spare") == 1, 5.0, "spare up")

        del config["vhosts"]["spare.test"], config["pools"]["pool-spare"], config["backends"]["spare"]
        write_text(target, to_yaml(config) + "\n")
        proxy.proc.send_signal(signal.SIGHUP)
        wait_until(lambda: self.reloads(proxy, "ok"), 5.0, "config_reload ok")
        samples = Metrics(admin_port).samples
        self.assertNotIn(("imapfront_backend_up", (("backend", "spare"),)), samples)
        self.assertIn(("imapfront_backend_connect_failures_total", (("backend", "spare"),)), samples)
        kept = next(iter(config["backends"]))
        self.assertIn(("imapfront_backend_up", (("backend", kept),)), samples)


def write_text(path, text):
    with open(path, "w") as f:
        f.write(text)


# ---------------------------------------------------------------- client address


FORWARD_USERS_ID = {"zed@id.test": b"zed-id-pw"}
FORWARD_USERS_PP = {"zed@pp.test": b"zed-pp-pw"}


class ClientAddressTest(EnvironmentTestCase):
    """Dovecots that trust 127.0.0.0/8 to announce client addresses: one by
    ID, one by a PROXY header on a haproxy listener."""

    @classmethod
    def tweak_config(cls, config):
        cls.id_backend = cls.env.add_backend(
            "fwd-id", FORWARD_USERS_ID, "login_trusted_networks = 127.0.0.0/8\n")
        cls.haproxy_port = free_port()
        cls.pp_backend = cls.env.add_backend("fwd-pp", FORWARD_USERS_PP, f"""\
haproxy_trusted_networks = 127.0.0.0/8
service imap-login {{
  inet_listener imap_haproxy {{
    address = 127.0.0.1
    port = {cls.haproxy_port}
    haproxy = yes
  }}
}}
""")
        config["backends"]["fwd-id"] = {"address": f"{HOST}:{cls.id_backend.imap_port}",
                                        "tls": "none"}
        # The same haproxy listener twice: fwd-pp is checked too rarely to
        # go down, so the address test does not depend on health checks;
        # fwd-pp-checked is checked like any production backend.
        config["backends"]["fwd-pp"] = {"address": f"{HOST}:{cls.haproxy_port}", "tls": "none"}
        config["backends"]["fwd-pp-checked"] = dict(config["backends"]["fwd-pp"])
        config["pools"]["pool-id"] = {"servers": ["fwd-id"], "forward_client_ip": "id",
                                      "health": FAST_HEALTH}
        config["pools"]["pool-pp"] = {"servers": ["fwd-pp"], "forward_client_ip": "proxy-v2",
                                      "health": {"interval": "168h", "fall": 1000}}
        config["pools"]["pool-pp-checked"] = {"servers": ["fwd-pp-checked"],
                                              "forward_client_ip": "proxy-v2",
                                              "health": FAST_HEALTH}
        config["vhosts"]["id.test"] = {"pool": "pool-id"}
        config["vhosts"]["pp.test"] = {"pool": "pool-pp"}
        add_admin(config)

    def login_from(self, source_ip, user, password):
        with BoundClient(self.env.proxy.port("plain"), source_ip) as client:
            client.read_line()
            reply = client.login(user, password)
            self.assertEqual(tagged_status(reply, "L1"), "OK", reply)
            client.command("n", "NOOP")

    def assert_dovecot_saw(self, backend, user, address):
        lines = wait_until(lambda: dovecot_logins(backend, user), 5.0, f"a Dovecot login of {user}")
        self.assertIn(f"rip={address},", lines[-1])

    @requires_proxy
    def test_id_passes_the_client_address_to_dovecot(self):
        self.login_from("127.0.0.2", "zed@id.test", FORWARD_USERS_ID["zed@id.test"])
        self.assert_dovecot_saw(self.id_backend, "zed@id.test", "127.0.0.2")

    @requires_proxy
    def test_proxy_v2_passes_the_client_address_to_dovecot(self):
        self.login_from("127.0.0.3", "zed@pp.test", FORWARD_USERS_PP["zed@pp.test"])
        self.assert_dovecot_saw(self.pp_backend, "zed@pp.test", "127.0.0.3")

    @requires_proxy
    def test_a_proxy_v2_backend_passes_its_health_checks(self):
        # interval + timeout, fall times over, with a margin: a checker that
        # does not speak PROXY to this listener would have marked it down.
        time.sleep(3 * (0.2 + 0.5))
        admin_port = port_of(self.env.config["admin"]["address"])
        self.assertEqual(metric(admin_port, "imapfront_backend_up", backend="fwd-pp-checked"), 1,
                         events_named(self.env.proxy, "backend_down", backend="fwd-pp-checked"))


# ---------------------------------------------------------------- PROXY listener


def proxy_v2_header(source_ip, source_port, destination_ip, destination_port):
    addresses = (socket.inet_aton(source_ip) + socket.inet_aton(destination_ip) +
                 struct.pack("!HH", source_port, destination_port))
    return (b"\r\n\r\n\x00\r\nQUIT\n" + bytes([0x21, 0x11]) + struct.pack("!H", len(addresses)) +
            addresses)


class ProxyProtocolListenerTest(EnvironmentTestCase):

    @classmethod
    def tweak_config(cls, config):
        config["listeners"].append({
            "name": "lb", "address": f"{HOST}:{free_port()}", "tls": "none",
            "default_vhost": "abcd.test", "allow_plaintext_auth": True,
            "proxy_protocol": True, "trusted_networks": ["127.0.0.1/32"]})

    def assert_login_seen_from(self, header, address, port):
        with self.env.raw("lb") as client:
            client.send(header)
            self.assertTrue(client.read_line().startswith(b"* OK"))
            self.assertEqual(tagged_status(client.login(ALICE, ALICE_PW), "L1"), "OK")
            session = events_named(self.env.proxy, "connect", client_port=str(port))[-1]
            self.assertEqual(session["client"], address)
            login = events_named(self.env.proxy, "login", session=session["session"], result="ok")
            self.assertEqual(login[-1]["client"], address)

    @requires_proxy
    def test_v1_header_from_a_trusted_peer_sets_the_client_address(self):
        self.assert_login_seen_from(b"PROXY TCP4 192.0.2.7 127.0.0.1 40001 143\r\n",
                                    "192.0.2.7", 40001)

    @requires_proxy
    def test_v2_header_from_a_trusted_peer_sets_the_client_address(self):
        self.assert_login_seen_from(proxy_v2_header("198.51.100.9", 40002, "127.0.0.1", 143),
                                    "198.51.100.9", 40002)

    @requires_proxy
    def test_header_from_an_untrusted_peer_is_refused(self):
        with BoundClient(self.env.proxy.port("lb"), "127.0.0.5") as client:
            client.send(b"PROXY TCP4 192.0.2.8 127.0.0.1 40003 143\r\n")
            answer = client.read_to_eof(timeout=5)
        self.assertNotIn(b"* OK", answer)
        refused = events_named(self.env.proxy, "connection_refused", client="127.0.0.5")
        self.assertTrue(refused, "no connection_refused line for 127.0.0.5")
        self.assertFalse(events_named(self.env.proxy, "connect", client="192.0.2.8"))

    @requires_proxy
    def test_garbage_instead_of_a_header_closes_without_a_greeting(self):
        with self.env.raw("lb") as client:
            client.send(b"a1 LOGIN alice@abcd.test alice-pw\r\n")
            self.assertEqual(client.read_to_eof(timeout=5), b"")
        self.assertTrue(events_named(self.env.proxy, "proxy_header_invalid"))


# ---------------------------------------------------------------- limits


class LimitsTest(EnvironmentTestCase):

    @classmethod
    def tweak_config(cls, config):
        config["limits"]["max_connections_per_ip"] = 2
        config["limits"]["max_connections"] = 3
        add_admin(config)

    def setUp(self):
        admin_port = port_of(self.env.config["admin"]["address"])
        # The start-up check connected once to every listener and hung up:
        # the proxy may accept those connections only now, and until it sees
        # them close they count against the limits.
        probes = len(self.env.config["listeners"])

        def settled():
            scrape = Metrics(admin_port)
            seen = (scrape.get("imapfront_connections_total") +
                    scrape.get("imapfront_connections_refused_total"))
            return seen >= probes and scrape.get("imapfront_sessions_active") == 0

        wait_until(settled, 5.0, "no session left from the start-up check or earlier tests")

    def connect_from(self, source_ip):
        client = BoundClient(self.env.proxy.port("plain"), source_ip)
        self.addCleanup(client.close)
        return client, client.read_line()

    @requires_proxy
    def test_third_connection_from_one_address_gets_bye_unavailable(self):
        for _ in range(2):
            self.assertTrue(self.connect_from("127.0.0.2")[1].startswith(b"* OK"))
        _, third = self.connect_from("127.0.0.2")
        self.assertTrue(third.startswith(BYE_UNAVAILABLE), third)
        self.assertTrue(self.connect_from("127.0.0.3")[1].startswith(b"* OK"))

    @requires_proxy
    def test_connection_over_max_connections_gets_bye_unavailable(self):
        for source in ("127.0.0.2", "127.0.0.3", "127.0.0.4"):
            self.assertTrue(self.connect_from(source)[1].startswith(b"* OK"), source)
        _, fourth = self.connect_from("127.0.0.6")
        self.assertTrue(fourth.startswith(BYE_UNAVAILABLE), fourth)


# ---------------------------------------------------------------- log


def logged_forms(secret):
    """A secret as raw bytes and as imapfront's JSON escaping would write it:
    every byte outside printable ASCII escaped, or (as the log does) valid
    UTF-8 kept as it is."""
    def escape(keep_utf8):
        escaped = bytearray()
        for byte in secret:
            if byte == 0x22:
                escaped += b'\\"'
            elif byte == 0x5c:
                escaped += b"\\\\"
            elif byte < 0x20 or byte == 0x7f or (byte > 0x7f and not keep_utf8):
                escaped += f"\\u{byte:04x}".encode()
            else:
                escaped.append(byte)
        return bytes(escaped)
    return {bytes(secret), escape(keep_utf8=False), escape(keep_utf8=True)}


class LogTest(EnvironmentTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.wrong_password = b"wrong-Password-4711"
        cls.sasl_blobs = []
        cls.replies = {}  # what each scripted exchange answered
        if DIRECT:
            return
        with cls.env.raw() as client:
            client.read_line()
            cls.replies["bob1 login"] = client.login("bob1@abcd.test", USERS_A["bob1@abcd.test"])
            cls.replies["SELECTA"] = client.command("s1", "SELECTA bob2@defg.test")
            cls.replies["SELECT"] = client.command("s2", "SELECT INBOX")
        for user, password in USERS_A.items():
            with cls.env.raw() as client:
                client.read_line()
                if user == "erin@abcd.test":
                    reply = client.command("L1", b"LOGIN " + quote(user.encode()) + b" " +
                                           quote(password))
                elif user == "carol@abcd.test":
                    blob = base64.b64encode(b"\0" + user.encode() + b"\0" + password)
                    cls.sasl_blobs.append(blob)
                    reply = client.command("L1", b"AUTHENTICATE PLAIN " + blob)
                else:
                    reply = client.login(user, password)
                cls.replies[user] = reply
        with cls.env.raw() as client:
            client.read_line()
            cls.wrong_reply = client.login("dave@defg.test", cls.wrong_password)

    def entries(self):
        return log_events(self.env.proxy)

    @requires_proxy
    def test_every_line_is_a_json_object_with_ts_level_event(self):
        lines = [line for line in self.env.proxy.log_text().splitlines() if line.strip()]
        self.assertGreater(len(lines), 10)
        for line in lines:
            entry = json.loads(line)
            self.assertIsInstance(entry, dict, line)
            for key in ("ts", "level", "event"):
                self.assertIn(key, entry, line)
            self.assertIn(entry["level"], ("debug", "info", "warn", "error"), line)
            self.assertRegex(entry["ts"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", line)

    @requires_proxy
    def test_a_login_line_names_session_client_identity_and_backend(self):
        logins = [e for e in self.entries() if e["event"] == "login" and e.get("result") == "ok"]
        alice = [e for e in logins if e.get("identity") == ALICE]
        self.assertTrue(alice, logins)
        self.assertEqual(alice[-1]["client"], HOST)
        self.assertEqual(alice[-1]["backend"], "dovecot-a")
        self.assertTrue(alice[-1]["session"])

    @requires_proxy
    def test_the_selecta_really_used_the_master_password(self):
        self.assertTrue(dovecot_logins(self.env.b, "bob2@defg.test"),
                        "the SELECTA to bob2 did not log in on dovecot-b")

    @requires_proxy
    def test_no_password_or_master_secret_appears_in_the_log(self):
        for name, reply in self.replies.items():
            self.assertEqual(reply[-1].split(b" ", 2)[1], b"OK", (name, reply))
        self.assertEqual(tagged_status(self.wrong_reply, "L1"), "NO")
        with open(self.env.proxy.log, "rb") as f:
            log = f.read()
        secrets = list(USERS_A.values()) + [self.wrong_password,
                                            MASTER_PASSWORD.encode()] + self.sasl_blobs
        for secret in secrets:
            for form in logged_forms(secret):
                self.assertNotIn(form, log, f"secret {secret!r} found in the log")


if __name__ == "__main__":
    unittest.main()
