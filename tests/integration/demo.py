"""A local imapfront demo: a test CA, two Dovecot backends with demo users
and a welcome message each, and imapfront in front of them with a plaintext
listener (127.0.0.1:1143) and an implicit-TLS listener (127.0.0.1:1993).
Runs until Ctrl-C (or --for SECONDS), then stops everything and removes its
scratch folder.

  python3 tests/integration/demo.py [--plain-port 1143] [--tls-port 1993] [--for SECONDS]
"""

import argparse
import os
import signal
import socket
import sys
import time

import harness

USAGE = """
imapfront demo is running (log: {log})

Users (password):       alice@abcd.test (alice-pw), bob1@abcd.test (bob1-pw)  -> Dovecot A
                        dave@defg.test (dave-pw),  bob2@defg.test (bob2-pw)  -> Dovecot B
Listeners:              127.0.0.1:{plain} plaintext, default vhost abcd.test
                        127.0.0.1:{tls} implicit TLS; SNI imap.abcd.test / imap.defg.test picks the vhost
Test CA:                {ca}

Read alice's welcome message (a bare name takes the listener's default vhost):
  curl --user alice:alice-pw 'imap://127.0.0.1:{plain}/INBOX;UID=1'
Over TLS, with a full address:
  curl --cacert {ca} --user dave@defg.test:dave-pw 'imaps://127.0.0.1:{tls}/INBOX;UID=1'
The SNI name selects the vhost, so a bare name works there too:
  curl --cacert {ca} --connect-to imap.defg.test:993:127.0.0.1:{tls} \\
       --user dave:dave-pw 'imaps://imap.defg.test/INBOX;UID=1'
Type IMAP yourself (try: a VHOST defg.test, b LOGIN dave dave-pw, c SELECT INBOX, d LOGOUT):
  openssl s_client -quiet -connect 127.0.0.1:{tls} -servername imap.abcd.test -CAfile {ca}

Press Ctrl-C to stop.
"""


def demo_config(env, plain_port, tls_port):
    config = harness.base_config(env.scratch, env.ca, env.a, env.b)
    config["listeners"] = [
        {"name": "plain", "address": f"127.0.0.1:{plain_port}", "tls": "none",
         "default_vhost": "abcd.test", "allow_plaintext_auth": True},
        {"name": "implicit", "address": f"127.0.0.1:{tls_port}", "tls": "implicit",
         "default_vhost": "abcd.test"},
    ]
    del config["vhosts"]["down.test"]
    del config["pools"]["pool-dead"]
    del config["backends"]["dead"]
    config["limits"] = {"login_timeout": "60s", "auth_failure_delay": "1s"}
    config["log"] = {"format": "json", "level": "info"}
    return config


def port_is_free(port):
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def stop_like_ctrl_c(signum, frame):
    raise KeyboardInterrupt


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plain-port", type=int, default=1143)
    parser.add_argument("--tls-port", type=int, default=1993)
    parser.add_argument("--for", dest="seconds", type=float, default=None,
                        help="stop by itself after this many seconds")
    args = parser.parse_args()
    for port in (args.plain_port, args.tls_port):
        if not port_is_free(port):
            sys.exit(f"port {port} is in use; pick others with --plain-port/--tls-port")
    if not os.access(harness.imapfront_bin(), os.X_OK):
        sys.exit(f"no imapfront binary at {harness.imapfront_bin()}: build first or set IMAPFRONT_BIN")

    signal.signal(signal.SIGTERM, stop_like_ctrl_c)
    env = harness.Environment()
    try:
        env.start(with_proxy=False)
        env.proxy = env.start_proxy(demo_config(env, args.plain_port, args.tls_port))
        print(USAGE.format(log=env.proxy.log, plain=args.plain_port, tls=args.tls_port,
                           ca=env.ca.ca_cert), flush=True)
        deadline = None if args.seconds is None else time.monotonic() + args.seconds
        while deadline is None or time.monotonic() < deadline:
            if not env.proxy.running():
                sys.exit(f"imapfront stopped:\n{harness.tail(env.proxy.stderr)}")
            time.sleep(0.5)
    except KeyboardInterrupt:
        print("\nstopping", flush=True)
    finally:
        env.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
