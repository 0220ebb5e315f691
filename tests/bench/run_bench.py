#!/usr/bin/env python3
"""Runs every benchmark scenario against direct Dovecot and each proxy in one
run, interleaved, and writes tests/bench/RESULTS.md. Installs nothing: it says
what is missing. See README.md."""

import argparse
import datetime
import os
import platform
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time

import procstat
import targets as servers
from report import write_results

HERE = os.path.dirname(os.path.abspath(__file__))
ALL_TARGETS = ["direct", "floor", "imapfront", "haproxy", "nginx", "dovecot-proxy"]
SCENARIOS = ["latency", "throughput", "mixed", "logins", "idle", "selecta"]
BIG_MESSAGE = 20 * 1024 * 1024


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="1 round, small sizes: a smoke test")
    parser.add_argument("--full", action="store_true", help="idle with 20,000 plaintext / 5,000 TLS sessions")
    parser.add_argument("--scenario", action="append", choices=SCENARIOS,
                        help="run only this scenario (repeatable)")
    parser.add_argument("--targets", default=",".join(ALL_TARGETS),
                        help="comma-separated subset of " + ",".join(ALL_TARGETS))
    parser.add_argument("--rounds", type=int, help="rounds (default 3, 1 with --quick)")
    parser.add_argument("--imapfront", default=os.path.join(HERE, "..", "..", "build-bench", "imapfront"))
    parser.add_argument("--loadgen", default=os.path.join(
        HERE, "..", "..", "build-bench", "tests", "bench", "imapfront_loadgen"))
    parser.add_argument("--floor-relay", default=os.path.join(
        HERE, "..", "..", "build-bench", "tests", "bench", "imapfront_floor_relay"))
    parser.add_argument("--output", default=os.path.join(HERE, "RESULTS.md"))
    parser.add_argument("--imapfront-workers", default="auto",
                        help="imapfront --workers: 'auto' (enough worker processes for the idle sessions, "
                             "no flag when one process holds them all), a number, or 0 for never")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder")
    args = parser.parse_args()
    if args.imapfront_workers != "auto" and not args.imapfront_workers.isdigit():
        parser.error("--imapfront-workers takes 'auto' or a number")
    args.targets = [t for t in args.targets.split(",") if t]
    unknown = set(args.targets) - set(ALL_TARGETS)
    if unknown:
        parser.error(f"unknown targets: {', '.join(sorted(unknown))}")
    args.scenarios = args.scenario or SCENARIOS
    args.rounds = args.rounds or (1 if args.quick else 3)
    return args


def sizes(args):
    if args.quick:
        return dict(latency=300, fetches=3, mixed=3.0, logins=3.0, idle=200, idle_tls=100, selecta=5)
    idle, idle_tls = (20000, 5000) if args.full else (2000, 500)
    return dict(latency=10000, fetches=40, mixed=8.0, logins=6.0, idle=idle, idle_tls=idle_tls, selecta=20)


def raise_fd_limit(wanted):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    for limit in (max(wanted, hard), hard):
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))
            return limit
        except (ValueError, OSError):
            continue
    return soft


def idle_sessions(args, size):
    """The most idle sessions any one run of the idle scenario asks for (0 without it)."""
    return max(size["idle"], size["idle_tls"]) if "idle" in args.scenarios else 0


def imapfront_workers(args, size):
    """imapfront's --workers value, or None to start it as one process: the
    one place that decides. 'auto' gives each worker at most
    SESSIONS_PER_PROCESS idle sessions and keeps one process (no flag) when
    it holds them all, so the default benchmark runs imapfront as before."""
    if args.imapfront_workers != "auto":
        return int(args.imapfront_workers) or None
    workers = servers.processes_for(idle_sessions(args, size), size["fd_limit"])
    return workers if workers > 1 else None


# Each variant: (name, scenario, loadgen arguments, tls, only_for). The
# per-variant figure and CPU normaliser live in report.py.
def variants(args, size):
    users = ["--users", "50"]
    found = []
    if "latency" in args.scenarios:
        found += [("latency_noop", "latency", ["--command", "noop", "--count", str(size["latency"])], False, None),
                  ("latency_fetch", "latency", ["--command", "fetch", "--count", str(size["latency"])], False, None)]
    if "throughput" in args.scenarios:
        fetch = ["--user", servers.BIG_USER, "--count", str(size["fetches"])]
        found += [("throughput_plain", "throughput", fetch, False, None),
                  ("throughput_tls", "throughput", fetch, True, None)]
    if "mixed" in args.scenarios:
        found.append(("mixed", "mixed", ["--sessions", "50", "--duration", str(size["mixed"])] + users, False, None))
    if "logins" in args.scenarios:
        login = ["--concurrency", "16", "--duration", str(size["logins"])] + users
        found += [("logins_plain", "logins", login, False, None),
                  ("logins_tls", "logins", login, True, None),
                  ("logins_tls_resume", "logins", login + ["--resume"], True, None)]
    if "idle" in args.scenarios:
        # The load generator, too, holds at most SESSIONS_PER_PROCESS sessions per process.
        def idle(sessions):
            processes = servers.processes_for(sessions, size["fd_limit"])
            return ["--sessions", str(sessions), "--concurrency", "32", "--processes", str(processes)] + users
        found += [("idle_plain", "idle", idle(size["idle"]), False, None),
                  ("idle_tls", "idle", idle(size["idle_tls"]), True, None)]
    if "selecta" in args.scenarios:
        found.append(("selecta", "selecta", ["--count", str(size["selecta"]), "--user", servers.user(1),
                                             "--other-user", servers.user(2)], False, ["imapfront"]))
    return found


RESULT_FIELD = re.compile(r"(\w+)=(\S+)")


def parse_result(line):
    return {key: value for key, value in RESULT_FIELD.findall(line)}


def run_variant(args, target, variant):
    """Runs the load generator once; returns the RESULT fields plus cpu_s (and
    rss deltas for idle), or None with a message when it failed."""
    name, scenario, extra, tls, _ = variant
    port = target.tls_port if tls else target.plain_port
    command = [args.loadgen, "--scenario", scenario, "--target", target.name, "--port", str(port),
               "--password", servers.PASSWORD] + (["--tls"] if tls else []) + extra
    if scenario == "idle" and target.process:
        # Memory a proxy kept from earlier scenarios would hide what idle
        # sessions cost: measure on a fresh process.
        target.process.restart()
    root = target.root_pid
    cpu_before = procstat.cpu_seconds(root) if root else None
    rss_before = procstat.rss_kib(root) if root else None
    fields = None
    output = []
    proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    timeout = time.monotonic() + 1200
    try:
        for line in proc.stdout:
            output.append(line.rstrip())
            if line.startswith("RESULT"):
                fields = parse_result(line)
            if line.startswith("READY") and fields is not None:
                time.sleep(1.0)  # let allocations settle before reading memory
                if root:
                    fields["rss_delta_kib"] = procstat.rss_kib(root) - rss_before
                proc.stdin.close()
            if time.monotonic() > timeout:
                break
        proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    if fields is None:
        print(f"  {name} {target.name}: no result: {' | '.join(output[-3:])}", flush=True)
        return None
    if root:
        fields["cpu_s"] = procstat.cpu_seconds(root) - cpu_before
    return fields


def settle(backend_root, limit=5.0):
    """Waits (at most `limit` seconds) until the backend's process tree
    has been idle for a quarter second: processes of the last run exiting
    and being reaped would otherwise slow the next target's run."""
    deadline = time.monotonic() + limit
    before = procstat.cpu_seconds(backend_root)
    while time.monotonic() < deadline:
        time.sleep(0.25)
        now = procstat.cpu_seconds(backend_root)
        if now - before < 0.01:
            return
        before = now


def machine():
    model = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {"nproc": os.cpu_count(), "cpu": model, "kernel": platform.release(),
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}


def versions():
    found = {}
    for name, command in (("dovecot", ["dovecot", "--version"]), ("haproxy", ["haproxy", "-v"]),
                          ("nginx", ["nginx", "-v"])):
        try:
            result = subprocess.run(command, capture_output=True, text=True, timeout=10)
            found[name] = (result.stdout + result.stderr).strip().splitlines()[0]
        except (OSError, IndexError, subprocess.TimeoutExpired):
            continue
    return found


def start_targets(args, scratch, size):
    """Starts the backend and the chosen proxies; returns (targets, every process)."""
    fd_limit = size["fd_limit"]
    cert, key, combined = servers.make_certificate(scratch)
    backend_target, backend = servers.start_backend(os.path.join(scratch, "backend"), cert, key,
                                                     50, BIG_MESSAGE, fd_limit)
    processes = [backend]
    started = {"direct": backend_target}
    port = backend_target.plain_port
    starters = {
        "floor": lambda: servers.start_floor_relay(args.floor_relay, os.path.join(scratch, "floor"), port),
        "imapfront": lambda: servers.start_imapfront(args.imapfront, os.path.join(scratch, "imapfront"),
                                                     cert, key, port, size["imapfront_workers"]),
        "haproxy": lambda: servers.start_haproxy(os.path.join(scratch, "haproxy"), combined, port,
                                                 fd_limit),
        "nginx": lambda: servers.start_nginx(os.path.join(scratch, "nginx"), cert, key, port,
                                             fd_limit, idle_sessions(args, size)),
        "dovecot-proxy": lambda: servers.start_dovecot_proxy(os.path.join(scratch, "dovecot-proxy"),
                                                            cert, key, port, fd_limit),
    }
    for name in args.targets:
        if name == "direct":
            continue
        made = starters[name]()
        target, extra = made if isinstance(made, tuple) else (made, None)
        started[name] = target
        processes.append(target.process)
        if extra:
            processes.append(extra)
    return [started[name] for name in args.targets], processes


def main():
    args = parse_args()
    missing = servers.missing_tools(args.targets)
    if missing:
        sys.exit("missing packages: " + " ".join(missing) +
                 f"\ninstall them (apt-get install {' '.join(missing)}) or run tests/bench/run.sh")
    # (binary, what it is, the target that needs it or None for every run)
    for path, what, target in ((args.loadgen, "the load generator (build with -DIMAPFRONT_BENCH=ON)", None),
                               (args.imapfront, "imapfront", "imapfront"),
                               (args.floor_relay, "the floor relay (build with -DIMAPFRONT_BENCH=ON)", "floor")):
        if not os.access(path, os.X_OK) and (target is None or target in args.targets):
            sys.exit(f"missing {what}: {path}")
    size = sizes(args)
    fd_limit = raise_fd_limit(4 * max(size["idle"], size["idle_tls"]) + 10000)
    size["fd_limit"] = fd_limit
    # A process holds two descriptors per proxied session (client and
    # backend): where the hard limit cannot be raised (no CAP_SYS_RESOURCE),
    # the idle sessions are shared by several processes of each kind.
    size["imapfront_workers"] = imapfront_workers(args, size)
    size["nginx_workers"] = servers.nginx_sizing(idle_sessions(args, size), fd_limit)[0]
    size["loadgen_processes"] = servers.processes_for(idle_sessions(args, size), fd_limit)
    size["sessions_per_process"] = servers.sessions_per_process(fd_limit)
    size["dovecot_login_clients"] = servers.dovecot_client_limits(fd_limit)[0]
    print(f"file descriptor limit {fd_limit}: up to {size['sessions_per_process']} idle sessions "
          f"per process; load generator processes {size['loadgen_processes']}, imapfront workers "
          f"{size['imapfront_workers'] or 'none (one process)'}, nginx workers {size['nginx_workers']}", flush=True)
    scratch = tempfile.mkdtemp(prefix="imapfront-bench-")
    os.chmod(scratch, 0o755)
    processes = []
    samples = {}  # (variant, target) -> [fields, ...]
    try:
        target_list, processes = start_targets(args, scratch, size)
        backend_root = processes[0].pid
        plan = variants(args, size)
        for round_number in range(args.rounds):
            print(f"round {round_number + 1}/{args.rounds}", flush=True)
            for variant in plan:
                # Rotated among the targets that run this variant, so each
                # of them takes its turn first: the first one after another
                # variant meets a backend still reaping that variant's work.
                taking_part = [t for t in target_list
                               if (not variant[4] or t.name in variant[4]) and t.runs(variant[1], variant[3])]
                shift = round_number % len(taking_part) if taking_part else 0
                for target in taking_part[shift:] + taking_part[:shift]:
                    settle(backend_root)
                    fields = run_variant(args, target, variant)
                    if fields is not None:
                        samples.setdefault((variant[0], target.name), []).append(fields)
                        print(f"  {variant[0]:18} {target.name:14} "
                              + " ".join(f"{k}={v}" for k, v in fields.items()
                                         if k not in ("scenario", "target", "tls")), flush=True)
        write_results(args.output, machine(), versions(), args, size, plan,
                      [t.name for t in target_list], samples)
        print(f"wrote {args.output}", flush=True)
    finally:
        for process in reversed(processes):
            process.stop()
        if args.keep:
            print(f"kept {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
