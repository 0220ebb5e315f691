"""Turns the samples of a benchmark run into tests/bench/RESULTS.md: absolute
figures per target (median over rounds), each proxy's ratio to direct Dovecot
and to haproxy, and imapfront against the targets of the performance issue."""

import os
import statistics
import sys


def _f(fields, key):
    try:
        return float(fields[key])
    except (KeyError, ValueError):
        return None


def _per(numerator, denominator, scale=1.0):
    if numerator is None or not denominator:
        return None
    return numerator * scale / denominator


def _mib_fetched(fields):
    # The load generator times `fetches` fetches after one warm-up fetch; the
    # proxy's CPU covers all of them.
    mib, fetches = _f(fields, "mib"), _f(fields, "fetches")
    return mib * (fetches + 1) / fetches if mib and fetches else None


# (row label, variant, value of one sample, unit, higher is better)
ROWS = [
    ("NOOP round trip, median", "latency_noop", lambda f: _f(f, "median_us"), "µs", False),
    ("NOOP round trip, p99", "latency_noop", lambda f: _f(f, "p99_us"), "µs", False),
    ("FETCH 1 FLAGS round trip, median", "latency_fetch", lambda f: _f(f, "median_us"), "µs", False),
    ("FETCH 1 FLAGS round trip, p99", "latency_fetch", lambda f: _f(f, "p99_us"), "µs", False),
    ("proxy CPU per NOOP round trip", "latency_noop",
     lambda f: _per(_f(f, "cpu_s"), _f(f, "count"), 1e6), "µs", False),
    ("20 MiB FETCH, plaintext", "throughput_plain", lambda f: _f(f, "mib_s"), "MiB/s", True),
    ("20 MiB FETCH, implicit TLS", "throughput_tls", lambda f: _f(f, "mib_s"), "MiB/s", True),
    ("proxy CPU per MiB, plaintext", "throughput_plain",
     lambda f: _per(_f(f, "cpu_s"), _mib_fetched(f), 1e3), "ms", False),
    ("proxy CPU per MiB, TLS", "throughput_tls",
     lambda f: _per(_f(f, "cpu_s"), _mib_fetched(f), 1e3), "ms", False),
    ("mixed, 50 sessions", "mixed", lambda f: _f(f, "cmds_s"), "cmds/s", True),
    ("proxy CPU per mixed command", "mixed", lambda f: _per(_f(f, "cpu_s"), _f(f, "commands"), 1e6), "µs", False),
    ("logins, plaintext", "logins_plain", lambda f: _f(f, "logins_s"), "logins/s", True),
    ("logins, TLS full handshake", "logins_tls", lambda f: _f(f, "logins_s"), "logins/s", True),
    ("logins, TLS with resumption", "logins_tls_resume", lambda f: _f(f, "logins_s"), "logins/s", True),
    ("TLS resumption honoured", "logins_tls_resume", lambda f: _f(f, "resumed_pct"), "%", True),
    ("proxy CPU per login, plaintext", "logins_plain",
     lambda f: _per(_f(f, "cpu_s"), _f(f, "logins"), 1e6), "µs", False),
    ("proxy CPU per login, TLS full handshake", "logins_tls",
     lambda f: _per(_f(f, "cpu_s"), _f(f, "logins"), 1e6), "µs", False),
    ("proxy CPU per login, TLS resumed", "logins_tls_resume",
     lambda f: _per(_f(f, "cpu_s"), _f(f, "logins"), 1e6), "µs", False),
    ("idle sessions held, plaintext", "idle_plain", lambda f: _f(f, "idling"), "sessions", True),
    ("idle sessions held, TLS", "idle_tls", lambda f: _f(f, "idling"), "sessions", True),
    ("proxy memory per idle session, plaintext", "idle_plain",
     lambda f: _per(_f(f, "rss_delta_kib"), _f(f, "idling")), "KiB", False),
    ("proxy memory per idle session, TLS", "idle_tls",
     lambda f: _per(_f(f, "rss_delta_kib"), _f(f, "idling")), "KiB", False),
    ("SELECTA to an open link", "selecta", lambda f: _f(f, "open_selecta_us"), "µs", False),
    ("first SELECTA (connect + master login)", "selecta", lambda f: _f(f, "first_selecta_us"), "µs", False),
    ("fresh connect + LOGIN", "selecta", lambda f: _f(f, "fresh_login_us"), "µs", False),
    ("NOOP on the same connection", "selecta", lambda f: _f(f, "noop_us"), "µs", False),
]

# (goal, row of imapfront, row of the reference, reference target, at most/least factor, higher is better)
GOALS = [
    ("20 MiB FETCH plaintext >= 0.95x haproxy", "20 MiB FETCH, plaintext", "haproxy", 0.95, True),
    ("20 MiB FETCH TLS >= 0.95x haproxy", "20 MiB FETCH, implicit TLS", "haproxy", 0.95, True),
    ("mixed cmds/s >= haproxy", "mixed, 50 sessions", "haproxy", 1.0, True),
    ("CPU per NOOP <= 0.8x nginx", "proxy CPU per NOOP round trip", "nginx", 0.8, False),
    ("CPU per MiB <= nginx", "proxy CPU per MiB, plaintext", "nginx", 1.0, False),
    ("CPU per login <= nginx", "proxy CPU per login, plaintext", "nginx", 1.0, False),
    ("memory per idle session <= 0.5x nginx", "proxy memory per idle session, plaintext", "nginx", 0.5, False),
    ("memory per idle TLS session <= haproxy", "proxy memory per idle session, TLS", "haproxy", 1.0, False),
    ("CPU per TLS login (full handshake) <= haproxy", "proxy CPU per login, TLS full handshake", "haproxy", 1.0,
     False),
    ("logins/s >= haproxy", "logins, plaintext", "haproxy", 1.0, True),
]


def _number(value):
    if value is None:
        return "–"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def medians(samples, target_names):
    """{(row label, target): median of the per-round values}."""
    table = {}
    for label, variant, value, _, _ in ROWS:
        for target in target_names:
            values = [value(fields) for fields in samples.get((variant, target), [])]
            values = [v for v in values if v is not None]
            if values:
                table[(label, target)] = statistics.median(values)
    return table


def _cell(table, label, target):
    value = table.get((label, target))
    if value is None:
        return "–"
    text = _number(value)
    ratios = []
    for reference, short in (("direct", "d"), ("floor", "f"), ("haproxy", "h")):
        base = table.get((label, reference))
        if reference != target and target not in ("direct", "floor") and base:
            ratios.append(f"{value / base:.2f}×{short}")
    return text + (f" ({', '.join(ratios)})" if ratios else "")


def _idle_goal_line(held, size):
    goal = (f"| 20,000 idle sessions held on {os.cpu_count()} cores | {_number(held)} of {size['idle']:,} | – | – "
            "| >= 20,000 |")
    if size["idle"] < 20000:
        return f"{goal} not measured: {size['idle']:,} asked (run with --full) |"
    if held >= 20000:
        return f"{goal} yes |"
    # One imapfront process holds two descriptors per session: without
    # workers its descriptor limit alone can keep it short of the goal.
    fd_limit = size.get("fd_limit")
    if not size.get("imapfront_workers") and fd_limit and 2 * 20000 > fd_limit:
        return f"{goal} **no** (one process, file descriptor limit {fd_limit:,}: two per proxied session) |"
    return f"{goal} **no** |"


def _goal_lines(table, size):
    lines = ["| goal | imapfront | reference | ratio | required | met |", "|---|---|---|---|---|---|"]
    for goal, label, reference, factor, higher in GOALS:
        mine, theirs = table.get((label, "imapfront")), table.get((label, reference))
        if mine is None or theirs is None or not theirs:
            lines.append(f"| {goal} | {_number(mine)} | {_number(theirs)} | – | – | not measured |")
            continue
        ratio = mine / theirs
        met = ratio >= factor if higher else ratio <= factor
        sign = ">=" if higher else "<="
        lines.append(f"| {goal} | {_number(mine)} | {_number(theirs)} ({reference}) | {ratio:.2f} | "
                     f"{sign} {factor} | {'yes' if met else '**no**'} |")
    selecta_open = table.get(("SELECTA to an open link", "imapfront"))
    noop = table.get(("NOOP on the same connection", "imapfront"))
    first = table.get(("first SELECTA (connect + master login)", "imapfront"))
    fresh = table.get(("fresh connect + LOGIN", "imapfront"))
    if selecta_open and noop:
        met = selecta_open <= 2 * noop
        lines.append(f"| SELECTA to an open link <= 2x NOOP | {_number(selecta_open)} µs | {_number(noop)} µs (NOOP) "
                     f"| {selecta_open / noop:.2f} | <= 2 | {'yes' if met else '**no**'} |")
    if first and fresh:
        met = first < fresh
        lines.append(f"| first SELECTA < fresh connect + LOGIN | {_number(first)} µs | {_number(fresh)} µs "
                     f"(connect + LOGIN) | {first / fresh:.2f} | < 1 | {'yes' if met else '**no**'} |")
    held = table.get(("idle sessions held, plaintext", "imapfront"))
    if held is not None:
        lines.append(_idle_goal_line(held, size))
    resumed = table.get(("TLS resumption honoured", "imapfront"))
    if resumed is not None:
        lines.append(f"| TLS resumption >= 95% of offers | {resumed:.1f}% | – | – | >= 95% | "
                     f"{'yes' if resumed >= 95 else '**no**'} |")
    return lines


def _floor_lines(table):
    """What the floor relay says about the CPU-per-NOOP goal: no relay can
    spend less than the kernel charges for the two sockets it moves bytes
    through."""
    floor = table.get(("proxy CPU per NOOP round trip", "floor"))
    nginx = table.get(("proxy CPU per NOOP round trip", "nginx"))
    mine = table.get(("proxy CPU per NOOP round trip", "imapfront"))
    if not floor or not nginx or not mine:
        return []
    return ["", f"The floor relay (one thread, epoll, no protocol work) spent {_number(floor)} µs per NOOP round "
                f"trip: {floor / nginx:.2f}× nginx's, and imapfront {mine / floor:.2f}× the floor. A goal below "
                "the floor's ratio to nginx is below what this kernel charges any user-space relay."]


def _command_line():
    """run.sh with the arguments this run was given, less the binaries run.sh adds."""
    words, skip = [], False
    for word in sys.argv[1:]:
        if skip:
            skip = False
        elif word in ("--imapfront", "--loadgen", "--floor-relay"):
            skip = True
        elif not word.startswith(("--imapfront=", "--loadgen=", "--floor-relay=")):
            words.append(word)
    return " ".join(["tests/bench/run.sh"] + words)


def write_results(path, machine, versions, args, size, plan, target_names, samples):
    table = medians(samples, target_names)
    lines = [
        "# imapfront benchmark results",
        "",
        f"Run on {machine['date']}: {machine['nproc']} cores, {machine['cpu']}, Linux {machine['kernel']}.",
        "Versions: " + "; ".join(versions.values()) + ".",
        f"Rounds: {args.rounds} (medians; targets interleaved, order rotated each round). "
        f"Mode: {'quick' if args.quick else 'full' if args.full else 'normal'}. "
        f"Sizes: {size['latency']} round trips per latency run, {size['fetches']} fetches of 20 MiB, "
        f"mixed {size['mixed']:.0f} s with 50 sessions, logins {size['logins']:.0f} s with 16 workers, "
        f"idle {size['idle']} plaintext / {size['idle_tls']} TLS sessions.",
        "",
    ]
    if size.get("loadgen_processes", 1) > 1:
        lines += [
            f"Idle sessions per process: at most about {size['sessions_per_process']:,}, as each process may "
            f"open {size['fd_limit']:,} descriptors and a proxy needs two per session: the load generator runs "
            f"{size['loadgen_processes']} processes, imapfront "
            + (f"{size['imapfront_workers']} workers" if size.get("imapfront_workers") else "one process")
            + f", nginx {size['nginx_workers']} workers, Dovecot a login process per "
            f"{size['dovecot_login_clients']:,} clients; haproxy proxies in one process and holds what fits "
            "in it, refusing the rest.",
            "",
        ]
    lines += [
        "Everything runs on loopback on the same cores as the load generator and the Dovecot backend, so "
        "absolute figures drift by about 20% between runs: compare ratios within one run. "
        "Proxy CPU is utime+stime summed over the proxy's process tree (nginx workers, Dovecot's "
        "imap-login and auth processes; nginx's auth_http responder is not counted). Memory per idle "
        "session is the growth of the tree's resident memory with the sessions idle, divided by their "
        "number. `floor` is a bare relay with no protocol work (tests/bench/floor_relay), plaintext and "
        "open sessions only: the least any proxy can spend. Ratios: ×d to direct Dovecot, ×f to the floor, "
        "×h to haproxy.",
        "",
        "| metric | unit | " + " | ".join(target_names) + " |",
        "|---|---|" + "---|" * len(target_names),
    ]
    for label, variant, _, unit, higher in ROWS:
        if not any((label, t) in table for t in target_names):
            continue
        arrow = "↑" if higher else "↓"
        cells = [_cell(table, label, t) for t in target_names]
        lines.append(f"| {label} {arrow} | {unit} | " + " | ".join(cells) + " |")
    lines += ["", "↑ higher is better, ↓ lower is better.", "",
              "## imapfront against the targets of the performance issue", ""] + _goal_lines(table, size)
    lines += _floor_lines(table)
    lines += ["", f"Reproduce: `{_command_line()}` (see tests/bench/README.md).", ""]
    with open(path, "w") as f:
        f.write("\n".join(lines))
