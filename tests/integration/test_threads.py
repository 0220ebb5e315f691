"""The default number of data-plane threads is the number of CPUs imapfront
may use: its CPU affinity mask, cut down by a CPU quota on its cgroup (a
container's CPU limit). A real imapfront, its `started` log line."""

import os
import unittest

from harness import EnvironmentTestCase, Imapfront, requires_proxy
from test_operations import events_named, fresh_ports, wait_until

CGROUP_V1_CPU = "/sys/fs/cgroup/cpu"


def started_threads(proxy):
    events = wait_until(lambda: events_named(proxy, "started"), 10.0, "the started line")
    return int(events[0]["threads"])


class ThreadsTest(EnvironmentTestCase):

    with_proxy = False

    def start(self, name, preexec=None):
        proxy = Imapfront(self.env.scratch, fresh_ports(self.env.config), name, preexec=preexec)
        self.addCleanup(proxy.stop)
        proxy.start()
        return proxy

    @requires_proxy
    def test_one_thread_per_cpu_of_the_affinity_mask(self):
        usable = len(os.sched_getaffinity(0))
        self.assertEqual(started_threads(self.start("all-cpus")), usable)
        only_cpu = min(os.sched_getaffinity(0))
        self.assertEqual(started_threads(self.start("one-cpu", lambda: os.sched_setaffinity(0, {only_cpu}))), 1)

    @requires_proxy
    def test_a_cgroup_cpu_quota_caps_the_threads(self):
        if len(os.sched_getaffinity(0)) < 2:
            self.skipTest("one usable CPU: a quota of one CPU would change nothing")
        group = os.path.join(CGROUP_V1_CPU, f"imapfront-it-{os.getpid()}")
        try:
            os.mkdir(group)
        except OSError as error:
            self.skipTest(f"cannot make a cgroup v1 cpu group here ({error}): needs root and the v1 cpu controller")
        self.addCleanup(os.rmdir, group)
        with open(os.path.join(group, "cpu.cfs_period_us"), "w") as f:
            f.write("100000")
        with open(os.path.join(group, "cpu.cfs_quota_us"), "w") as f:
            f.write("100000")  # one CPU's worth per period

        def join_group():
            with open(os.path.join(group, "cgroup.procs"), "w") as f:
                f.write(str(os.getpid()))

        proxy = self.start("quota", join_group)
        self.assertEqual(started_threads(proxy), 1)
        proxy.stop()


if __name__ == "__main__":
    unittest.main()
