#!/usr/bin/env python3
"""What SELECTA costs, next to what a client does without it.

Starts the integration environment (two Dovecots, imapfront) and times, N
times each, one client request and its reply on loopback:

  selecta_open      SELECTA between two identities whose links are open
  selecta_open_selected  the same with a mailbox selected (deselected first)
  selecta_new_link  SELECTA that opens a link (connect + master login): a
                    second imapfront with max_links 2 cycles three identities,
                    so every switch evicts the link it will need next
  login_direct      today's alternative: fresh TCP connection, greeting and
                    LOGIN straight to the backend
  login_proxy       the same through imapfront

Every backend is plain TCP (no TLS) so the numbers are about the proxy.
Prints one JSON line per scenario and per ratio, then a Markdown table.
Run by hand: IMAPFRONT_BIN=build/imapfront python3 tests/bench/selecta_bench.py
"""

import argparse
import json
import math
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

from harness import (HOST, USERS_A, USERS_B, Environment, RawClient, free_port,  # noqa: E402
                     tagged_status)

PROFILE = ["bob1@abcd.test", "bob2@defg.test", "dave@defg.test"]
PASSWORDS = {**USERS_A, **USERS_B}
WARMUP = 10


def plain_backends(config):
    config["backends"]["dovecot-a"] = {"address": config["backends"]["dovecot-a"]["address"],
                                       "tls": "none"}
    config["profiles"] = {"bob": list(PROFILE)}
    config["multiaccount"] = {"lista_count": "draft", "max_links": 8}
    config["limits"]["max_connections_per_ip"] = 10000
    config["log"]["level"] = "warn"


def logged_in(port, user):
    client = RawClient(port)
    client.read_line()
    reply = client.login(user, PASSWORDS[user])
    if tagged_status(reply, "L1") != "OK":
        raise RuntimeError(f"login of {user} failed: {reply}")
    return client


def selecta(client, identity):
    lines = client.command("s", f"SELECTA {identity}")
    if tagged_status(lines, "s") != "OK":
        raise RuntimeError(f"SELECTA {identity} failed: {lines}")


def timed(n, action, prepare=lambda i: None):
    """Milliseconds of each of n calls of action(i), after a warm-up;
    prepare(i) runs untimed before each."""
    for i in range(WARMUP):
        prepare(i)
        action(i)
    samples = []
    for i in range(n):
        prepare(i)
        started = time.perf_counter()
        action(i)
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def selecta_open(port, n):
    client = logged_in(port, PROFILE[0])
    selecta(client, PROFILE[1])
    try:
        return timed(n, lambda i: selecta(client, PROFILE[i % 2]))
    finally:
        client.close()


def selecta_open_selected(port, n):
    """As selecta_open with INBOX selected first: the switch deselects it on
    the old backend (UNSELECT), one backend round trip."""
    client = logged_in(port, PROFILE[0])
    selecta(client, PROFILE[1])
    try:
        return timed(n, lambda i: selecta(client, PROFILE[i % 2]),
                     prepare=lambda i: client.command("x", "EXAMINE INBOX"))
    finally:
        client.close()


def selecta_new_link(port, n):
    client = logged_in(port, PROFILE[0])
    try:
        return timed(n, lambda i: selecta(client, PROFILE[(i + 1) % 3]))
    finally:
        client.close()


def fresh_login(port, user):
    client = logged_in(port, user)
    client.close()


def describe_machine():
    model = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/loadavg") as f:
        load = f.read().split()[0]  # other work on the machine widens p99
    return {"nproc": os.cpu_count(), "cpu": model, "loadavg_1min": load}


def summary(name, samples):
    ordered = sorted(samples)
    p99 = ordered[max(math.ceil(0.99 * len(ordered)) - 1, 0)]
    return {"scenario": name, "n": len(samples), "median_ms": round(statistics.median(ordered), 3),
            "p99_ms": round(p99, 3)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=200, help="repetitions per scenario")
    args = parser.parse_args()

    machine = describe_machine()
    env = Environment()
    try:
        env.start(tweak=plain_backends)
        evicting = json.loads(json.dumps(env.config))
        for listener in evicting["listeners"]:
            listener["address"] = f"{HOST}:{free_port()}"
        evicting["multiaccount"]["max_links"] = 2
        evicting_proxy = env.start_proxy(evicting, name="imapfront-evicting")

        proxy_port = env.proxy.port("plain")
        results = [
            summary("selecta_open", selecta_open(proxy_port, args.n)),
            summary("selecta_open_selected", selecta_open_selected(proxy_port, args.n)),
            summary("selecta_new_link", selecta_new_link(evicting_proxy.port("plain"), args.n)),
            summary("login_direct", timed(args.n, lambda i: fresh_login(env.b.imap_port, "bob2@defg.test"))),
            summary("login_proxy", timed(args.n, lambda i: fresh_login(proxy_port, "bob2@defg.test"))),
        ]
    finally:
        env.stop()

    by_name = {r["scenario"]: r for r in results}
    for result in results:
        print(json.dumps({"bench": "selecta", **result, **machine}))
    ratios = [("selecta_open_selected", "selecta_open"), ("selecta_new_link", "selecta_open"), ("login_direct", "selecta_open"),
              ("login_proxy", "selecta_open"), ("login_proxy", "login_direct"),
              ("login_direct", "selecta_new_link")]
    for top, bottom in ratios:
        print(json.dumps({"bench": "selecta", "ratio": f"{top}/{bottom}",
                          "median": round(by_name[top]["median_ms"] / by_name[bottom]["median_ms"], 2),
                          "p99": round(by_name[top]["p99_ms"] / by_name[bottom]["p99_ms"], 2)}))
    print()
    print(f"Machine: {machine['nproc']} CPUs, {machine['cpu']}, load average "
          f"{machine['loadavg_1min']} at start; N = {args.n} per scenario.\n")
    print("| scenario | median ms | p99 ms | median vs selecta_open |")
    print("|---|---:|---:|---:|")
    for result in results:
        ratio = result["median_ms"] / by_name["selecta_open"]["median_ms"]
        print(f"| {result['scenario']} | {result['median_ms']:.3f} | {result['p99_ms']:.3f} | {ratio:.1f}x |")


if __name__ == "__main__":
    main()
