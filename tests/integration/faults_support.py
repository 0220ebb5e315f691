"""Helpers of the fault, bad-input, security and soak tests: what the
process looks like from /proc, the admin endpoint, a backend that never
speaks, and bounded waits. Python 3 standard library only."""

import contextlib
import os
import re
import signal
import socket
import ssl
import threading
import time
import urllib.request

from harness import HOST, free_port

MIB = 1024 * 1024


def wait_until(predicate, timeout, interval=0.1):
    """Polls predicate() until it is true or `timeout` seconds pass; returns
    its last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)


def fd_count(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def rss_bytes(pid):
    with open(f"/proc/{pid}/status") as f:
        match = re.search(r"^VmRSS:\s+(\d+) kB", f.read(), re.M)
    return int(match.group(1)) * 1024


def settled_fd_count(pid, target, timeout=10.0):
    """The fd count once it is back to `target` (or the last count seen when
    the deadline passes)."""
    counts = []
    wait_until(lambda: counts.append(fd_count(pid)) or counts[-1] <= target, timeout)
    return counts[-1]


@contextlib.contextmanager
def measurable_memory():
    """While a proxy starts: a sanitizer build keeps only a small quarantine
    of freed memory (ASan's default 256 MiB would be all an RSS bound sees).
    Later ASAN_OPTIONS flags override earlier ones; other builds ignore them."""
    saved = os.environ.get("ASAN_OPTIONS")
    os.environ["ASAN_OPTIONS"] = ((saved + ":") if saved else "detect_leaks=1:") + \
        "quarantine_size_mb=8:thread_local_quarantine_size_kb=256"
    try:
        yield
    finally:
        if saved is None:
            del os.environ["ASAN_OPTIONS"]
        else:
            os.environ["ASAN_OPTIONS"] = saved


def kill_backend(backend):
    """Drops every connection of a Dovecot at once, without a BYE."""
    os.killpg(backend.proc.pid, signal.SIGKILL)
    backend.proc.wait(timeout=10)


def admin_config(config):
    """Adds an admin endpoint on a free port; returns its port."""
    port = free_port()
    config["admin"] = {"address": f"{HOST}:{port}"}
    return port


def metric(admin_port, name):
    """The value of one unlabelled sample on /metrics."""
    with urllib.request.urlopen(f"http://{HOST}:{admin_port}/metrics", timeout=5) as reply:
        text = reply.read().decode()
    match = re.search(rf"^{re.escape(name)} (\S+)$", text, re.M)
    if not match:
        raise AssertionError(f"no {name} in /metrics:\n{text[:2000]}")
    return float(match.group(1))


def calm_health_checks(config):
    """Probes every backend rarely, so the proxy's fd count holds still
    between the moments a test compares it."""
    for pool in config["pools"].values():
        pool["health"] = {"interval": "60s", "timeout": "2s", "fall": 1000, "rise": 1}


class SilentBackend:
    """A TCP server that accepts connections and never writes a byte: a
    backend that hangs before its greeting."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind((HOST, 0))
        self.sock.listen(64)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.accepted = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self):
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            if len(self.accepted) < 256:
                self.accepted.append(conn)
            else:
                conn.close()

    def stop(self):
        self._stop.set()
        self._thread.join(timeout=5)
        for conn in self.accepted:
            conn.close()
        self.sock.close()


def client_hello():
    """The bytes a TLS client sends first, made by a real TLS stack."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = context.wrap_bio(incoming, outgoing, server_hostname="imap.abcd.test")
    try:
        tls.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return outgoing.read()


def recv_until_closed(sock, timeout):
    """Everything the peer sends until it closes, or None if it has not
    closed within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    data = bytearray()
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return None
        sock.settimeout(remaining)
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            return None
        except (ConnectionResetError, ssl.SSLError):
            return bytes(data)
        if not chunk:
            return bytes(data)
        data += chunk


def abort(sock):
    """Closes with a RST instead of a FIN: the rudest way to leave."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    sock.close()
