#!/usr/bin/env python3
"""Instructions per relayed NOOP round trip, counted by callgrind: a figure
that does not depend on what else the machine is doing, for comparing two
builds of imapfront side by side (e.g. before and after a change) on a busy
machine, where CPU-time ratios would be noise.

    tests/bench/instructions.py --binary before=/path/imapfront --binary after=build/imapfront \
        --loadgen build/tests/bench/imapfront_loadgen

Each binary runs under valgrind --tool=callgrind with one data-plane thread
in front of the same Dovecot; the load generator logs in and sends N and then
2N NOOPs, counters zeroed before and dumped after each run; the difference of
the two counts divided by N is what one more NOOP costs, logins cancelled out.
"""

import argparse
import glob
import os
import re
import subprocess
import sys
import tempfile
import time

import targets as servers

HERE = os.path.dirname(os.path.abspath(__file__))


def dumped_instructions(folder, before):
    """Ir total of the callgrind dumps that appeared since `before`."""
    files = sorted(set(glob.glob(os.path.join(folder, "callgrind.out*"))) - before)
    total = 0
    for path in files:
        with open(path, encoding="utf-8", errors="replace") as dump:
            for line in dump:
                match = re.match(r"^(?:summary|totals): (\d+)", line)
                if match:
                    total += int(match.group(1))
                    break
    return total, set(files) | before


def measure(name, binary, loadgen, folder, cert, key, backend_port, count):
    target = servers.start_imapfront(binary, os.path.join(folder, name), cert, key, backend_port)
    config = target.process.launch[0][2]
    target.process.stop()
    out_dir = os.path.join(folder, name, "callgrind")
    os.makedirs(out_dir, exist_ok=True)
    process = servers.Process(f"{name}-callgrind", os.path.join(folder, name))
    process.spawn(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out_dir}/callgrind.out.%p",
                   binary, "--config", config, "--threads", "1"], [target.plain_port], greeting=False)
    seen = set(glob.glob(os.path.join(out_dir, "callgrind.out*")))
    figures = []
    try:
        for noops in (count, 2 * count):
            subprocess.run(["callgrind_control", "--zero", str(process.pid)], check=True, capture_output=True)
            subprocess.run([loadgen, "--scenario", "latency", "--target", name, "--port", str(target.plain_port),
                            "--user", servers.user(1), "--password", servers.PASSWORD, "--command", "noop",
                            "--count", str(noops)], check=True, capture_output=True, timeout=600)
            subprocess.run(["callgrind_control", "--dump", str(process.pid)], check=True, capture_output=True)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                total, now = dumped_instructions(out_dir, seen)
                if total:
                    seen = now
                    break
                time.sleep(0.2)
            figures.append(total)
    finally:
        process.stop()
    return (figures[1] - figures[0]) / count


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", action="append", required=True, help="NAME=PATH of an imapfront build")
    parser.add_argument("--loadgen", required=True)
    parser.add_argument("--count", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="imapfront-instr-") as folder:
        os.chmod(folder, 0o755)
        cert, key, _ = servers.make_certificate(folder)
        backend_target, backend = servers.start_backend(os.path.join(folder, "backend"), cert, key, 2, 1024, 1024)
        try:
            for spec in args.binary:
                name, path = spec.split("=", 1)
                per_noop = measure(name, os.path.abspath(path), args.loadgen, folder, cert, key,
                                   backend_target.plain_port, args.count)
                print(f"RESULT binary={name} instructions_per_noop={per_noop:.0f}", flush=True)
        finally:
            backend.stop()


if __name__ == "__main__":
    sys.exit(main())
