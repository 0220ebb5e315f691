"""systemd's Type=notify protocol, spoken by a real imapfront to a unix
datagram socket the test binds and names in NOTIFY_SOCKET: READY=1 once the
listeners accept (with --workers, once every worker does), RELOADING=1 and
READY=1 around a SIGHUP reload, STOPPING=1 when SIGTERM starts the drain. Each
datagram's sender is checked with SCM_CREDENTIALS: only the main process
speaks, never a worker. Also `imapfront --version`. No backend is needed:
the configured one is an unreachable address."""

import os
import re
import signal
import socket
import struct
import subprocess
import unittest

from harness import HOST, STARTUP_TIMEOUT, Scratch, free_port, imapfront_bin, stop_process, tail, to_yaml
from test_operations import http_get

RECEIVE_TIMEOUT = 10.0
EXIT_TIMEOUT = 20.0


class NotifySocket:
    """The service manager's end: a bound datagram socket that reports the
    sender's pid of each message."""

    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        self.sock.settimeout(RECEIVE_TIMEOUT)

    def receive(self):
        """(message, sender pid); raises socket.timeout after RECEIVE_TIMEOUT."""
        credentials_size = struct.calcsize("3i")
        data, ancillary, _, _ = self.sock.recvmsg(4096, socket.CMSG_SPACE(credentials_size))
        pid = None
        for level, kind, payload in ancillary:
            if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                pid = struct.unpack("3i", payload[:credentials_size])[0]
        return data.decode(), pid

    def close(self):
        self.sock.close()
        os.unlink(self.path)


class ServiceNotifyTest(unittest.TestCase):

    def setUp(self):
        self.scratch = Scratch()
        self.addCleanup(self.scratch.remove)
        self.notify = NotifySocket(self.scratch.sub("notify"))
        self.addCleanup(self.notify.close)
        self.imap_port = free_port()
        self.admin_port = free_port()
        config = {
            "listeners": [{"name": "plain", "address": f"{HOST}:{self.imap_port}", "tls": "none",
                           "allow_plaintext_auth": True}],
            "backends": {"nowhere": {"address": f"{HOST}:9", "tls": "none"}},
            "pools": {"default": {"servers": ["nowhere"]}},
            "vhosts": {"example.org": {"pool": "default"}},
            "limits": {"drain_timeout": "2s"},
            "admin": {"address": f"{HOST}:{self.admin_port}"},
        }
        self.config_path = self.scratch.write("imapfront.yaml", to_yaml(config) + "\n")
        self.log = self.scratch.sub("imapfront.log")

    def start(self, *args):
        env = dict(os.environ, NOTIFY_SOCKET=self.notify.path)
        with open(self.log, "wb") as out:
            proc = subprocess.Popen([imapfront_bin(), "--config", self.config_path, *args],
                                    stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                    env=env, start_new_session=True)
        self.addCleanup(stop_process, proc)
        return proc

    def expect(self, proc, message):
        try:
            got, pid = self.notify.receive()
        except socket.timeout:
            self.fail(f"no {message} within {RECEIVE_TIMEOUT}s:\n{tail(self.log)}")
        self.assertEqual(got, message)
        self.assertEqual(pid, proc.pid, "only the main process notifies")

    def accepts_clients(self):
        with socket.create_connection((HOST, self.imap_port), timeout=STARTUP_TIMEOUT) as client:
            client.settimeout(STARTUP_TIMEOUT)
            return client.recv(1024).startswith(b"* OK")

    def reload_and_stop(self, proc):
        proc.send_signal(signal.SIGHUP)
        self.expect(proc, "RELOADING=1")
        self.expect(proc, "READY=1")
        self.assertTrue(self.accepts_clients())
        proc.send_signal(signal.SIGTERM)
        self.expect(proc, "STOPPING=1")
        self.assertEqual(proc.wait(timeout=EXIT_TIMEOUT), 0, tail(self.log))

    def test_one_process_is_ready_with_its_listeners_and_says_so_around_reloads_and_at_the_drain(self):
        proc = self.start("--threads", "1")
        self.expect(proc, "READY=1")
        self.assertTrue(self.accepts_clients())
        self.assertEqual(http_get(self.admin_port, "/readyz")[0], 200)
        self.reload_and_stop(proc)

    def test_a_supervisor_is_ready_when_every_worker_serves_and_workers_stay_silent(self):
        proc = self.start("--workers", "2", "--threads", "1")
        self.expect(proc, "READY=1")
        self.assertEqual(http_get(self.admin_port, "/readyz")[0], 200)
        self.assertTrue(self.accepts_clients())
        self.reload_and_stop(proc)

    def test_a_config_that_does_not_load_exits_without_a_word_to_the_service_manager(self):
        self.scratch.write("imapfront.yaml", "listeners: []\n")
        proc = self.start()
        self.assertEqual(proc.wait(timeout=EXIT_TIMEOUT), 1)
        self.notify.sock.settimeout(0.2)
        with self.assertRaises(socket.timeout):
            self.notify.receive()


class VersionTest(unittest.TestCase):

    def test_version_is_the_cmake_project_version(self):
        here = os.path.dirname(os.path.abspath(__file__))
        with open(os.path.join(here, "..", "..", "CMakeLists.txt")) as f:
            version = re.search(r"project\(imapfront VERSION ([0-9.]+)", f.read()).group(1)
        result = subprocess.run([imapfront_bin(), "--version"], capture_output=True, timeout=30)
        self.assertEqual(result.returncode, 0)
        self.assertEqual(result.stdout.decode(), f"imapfront {version}\n")


if __name__ == "__main__":
    unittest.main()
