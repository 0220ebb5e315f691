"""Worker processes (`imapfront --workers N`): sessions spread over the
workers, the admin endpoint adds their metrics up, a dead worker is started
again, reloads and drains reach every worker, and a worker that cannot start
stops the whole proxy. Real Dovecot backends, a real imapfront supervisor."""

import os
import shutil
import signal
import socket
import time

from harness import (HOST, USERS_A, ConnectionClosed, EnvironmentTestCase, Imapfront, imapfront_bin,
                     requires_proxy, tagged_status, to_yaml)
from test_operations import (Metrics, add_admin, events_named, fresh_ports, http_get, port_of, wait_until,
                             write_text)

ALICE = "alice@abcd.test"
ALICE_PW = USERS_A[ALICE]
WORKERS = 2
CLIENTS = 16  # enough that both workers get some: all on one has odds of 2 in 65,536
DRAIN_TIMEOUT = "3s"
EXIT_TIMEOUT = 20.0


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()[0] != "Z"


def worker_pids(proxy):
    """The pid of each worker's latest start, by worker index."""
    pids = {}
    for event in events_named(proxy, "worker_started"):
        pids[event["worker"]] = int(event["pid"])
    return pids


def answers_noop(client):
    try:
        return tagged_status(client.command("n", "NOOP"), "n") == "OK"
    except (ConnectionClosed, OSError):
        return False


class WorkersTest(EnvironmentTestCase):

    with_proxy = False

    @classmethod
    def tweak_config(cls, config):
        add_admin(config)
        config.setdefault("limits", {})["drain_timeout"] = DRAIN_TIMEOUT

    def start_workers(self, name, config=None, check_exit=True, binary=None):
        config = fresh_ports(self.env.config) if config is None else config
        proxy = Imapfront(self.env.scratch, config, name, args=["--workers", str(WORKERS), "--threads", "1"],
                          binary=binary)
        self.addCleanup(proxy.stop, check=check_exit)
        proxy.start()
        admin = port_of(config["admin"]["address"])
        wait_until(lambda: http_get(admin, "/readyz")[0] == 200, 10.0, "every worker serving")
        return proxy, admin

    def logged_in_clients(self, proxy, count=CLIENTS):
        clients = []
        for _ in range(count):
            client = self.env.raw(proxy=proxy)
            self.addCleanup(client.close)
            client.read_line()
            self.assertEqual(tagged_status(client.login(ALICE, ALICE_PW), "L1"), "OK")
            clients.append(client)
        return clients

    def wait_exit(self, proxy):
        code = proxy.proc.wait(timeout=EXIT_TIMEOUT)
        proxy.proc = None
        return code

    @requires_proxy
    def test_sessions_spread_over_the_workers_and_the_metrics_add_up(self):
        proxy, admin = self.start_workers("spread")
        before = Metrics(admin)
        self.logged_in_clients(proxy)
        self.assertEqual({event["worker"] for event in events_named(proxy, "login", result="ok")},
                         {str(index) for index in range(WORKERS)})
        after = Metrics(admin)
        self.assertEqual(after.get("imapfront_logins_total", result="ok")
                         - before.get("imapfront_logins_total", result="ok"), CLIENTS)
        self.assertEqual(after.get("imapfront_sessions_active"), CLIENTS)
        self.assertEqual(after.get("imapfront_backend_connections", backend="dovecot-a"), CLIENTS)
        self.assertEqual(len(worker_pids(proxy)), WORKERS)
        for pid in worker_pids(proxy).values():
            self.assertTrue(alive(pid))

    @requires_proxy
    def test_a_killed_worker_is_started_again_and_the_other_keeps_its_sessions(self):
        proxy, admin = self.start_workers("restart", check_exit=False)
        clients = self.logged_in_clients(proxy)
        os.kill(worker_pids(proxy)["1"], signal.SIGKILL)
        wait_until(lambda: len(events_named(proxy, "worker_started", worker="1")) == 2, 10.0, "worker 1 again")
        self.assertEqual(events_named(proxy, "worker_exited", worker="1")[0]["signal"], str(int(signal.SIGKILL)))
        wait_until(lambda: http_get(admin, "/readyz")[0] == 200, 10.0, "every worker serving again")

        survivors = [client for client in clients if answers_noop(client)]
        self.assertTrue(0 < len(survivors) < CLIENTS, f"{len(survivors)} of {CLIENTS} sessions survived")
        self.assertEqual(Metrics(admin).get("imapfront_sessions_active"), len(survivors))
        self.logged_in_clients(proxy, count=4)
        self.assertEqual(Metrics(admin).get("imapfront_sessions_active"), len(survivors) + 4)

    @requires_proxy
    def test_a_worker_started_after_the_program_file_is_gone_runs_the_supervisors_program(self):
        program = self.env.scratch.sub("imapfront-before-upgrade")
        shutil.copy2(imapfront_bin(), program)
        proxy, admin = self.start_workers("upgrade", check_exit=False, binary=program)
        os.unlink(program)  # what a package upgrade does to the file of a running program
        os.kill(worker_pids(proxy)["1"], signal.SIGKILL)
        wait_until(lambda: len(events_named(proxy, "worker_started", worker="1")) == 2, 10.0, "worker 1 again")
        wait_until(lambda: http_get(admin, "/readyz")[0] == 200, 10.0, "every worker serving again")
        self.assertEqual(os.readlink(f"/proc/{worker_pids(proxy)['1']}/exe"), program + " (deleted)")
        self.assertEqual(events_named(proxy, "worker_start_failed"), [])
        self.logged_in_clients(proxy, count=4)

    @requires_proxy
    def test_a_config_change_reaches_every_worker_and_counts_once(self):
        config = fresh_ports(self.env.config)
        proxy = Imapfront(self.env.scratch, config, "reload", args=["--workers", str(WORKERS), "--threads", "1"])
        folder = self.env.scratch.mkdir("workers-reload")
        proxy.config_path = os.path.join(folder, "imapfront.yaml")
        write_text(proxy.config_path, to_yaml(config) + "\n")
        self.addCleanup(proxy.stop)
        proxy.start()
        admin = port_of(config["admin"]["address"])
        wait_until(lambda: http_get(admin, "/readyz")[0] == 200, 10.0, "every worker serving")

        config["vhosts"]["abcd.test"]["aliases"].append("fresh.abcd.test")
        write_text(proxy.config_path, to_yaml(config) + "\n")
        wait_until(lambda: {event.get("worker") for event in events_named(proxy, "config_reload", result="ok")}
                   >= {str(index) for index in range(WORKERS)}, 10.0, "every worker reloaded")
        self.assertEqual(Metrics(admin).get("imapfront_config_reloads_total", result="ok"), 1)
        for _ in range(CLIENTS):
            with self.env.raw(proxy=proxy) as client:
                client.read_line()
                self.assertEqual(tagged_status(client.command("v", "VHOST fresh.abcd.test"), "v"), "OK")

    @requires_proxy
    def test_sigterm_drains_every_worker_and_the_supervisor_exits_0(self):
        proxy, admin = self.start_workers("drain")
        clients = self.logged_in_clients(proxy)
        pids = worker_pids(proxy).values()
        proxy.proc.send_signal(signal.SIGTERM)
        for client in clients:
            self.assertTrue(client.read_line(timeout=10.0).startswith(b"* BYE [UNAVAILABLE]"))
        self.assertEqual(self.wait_exit(proxy), 0)
        for pid in pids:
            self.assertFalse(alive(pid), f"worker {pid} outlived the supervisor")

    @requires_proxy
    def test_workers_drain_and_exit_when_the_supervisor_is_killed(self):
        proxy, _ = self.start_workers("orphans", check_exit=False)
        client = self.logged_in_clients(proxy, count=1)[0]
        pids = list(worker_pids(proxy).values())
        proxy.proc.kill()
        self.assertTrue(client.read_line(timeout=10.0).startswith(b"* BYE [UNAVAILABLE]"))
        wait_until(lambda: not any(alive(pid) for pid in pids), EXIT_TIMEOUT, "the workers to exit")

    @requires_proxy
    def test_a_worker_that_cannot_bind_stops_the_supervisor_with_status_1(self):
        config = fresh_ports(self.env.config)
        taken = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.addCleanup(taken.close)
        taken.bind((HOST, int(config["listeners"][0]["address"].rsplit(":", 1)[1])))
        taken.listen()
        proxy = Imapfront(self.env.scratch, config, "unbindable", args=["--workers", str(WORKERS)])
        self.addCleanup(proxy.stop, check=False)
        proxy.start_detached()
        self.assertEqual(self.wait_exit(proxy), 1)
        self.assertTrue(events_named(proxy, "worker_failed_to_start"))

    @requires_proxy
    def test_port_0_is_refused_with_workers(self):
        config = fresh_ports(self.env.config)
        config["listeners"][0]["address"] = f"{HOST}:0"
        proxy = Imapfront(self.env.scratch, config, "port0", args=["--workers", str(WORKERS)])
        self.addCleanup(proxy.stop, check=False)
        proxy.start_detached()
        self.assertEqual(self.wait_exit(proxy), 1)
        with open(proxy.stderr) as f:
            self.assertIn("--workers needs a fixed port", f.read())
