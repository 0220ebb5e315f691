"""The benchmark's servers on loopback: one Dovecot backend tuned for load, and
in front of it imapfront, haproxy (TCP mode), nginx's mail proxy (with its
auth_http responder) and Dovecot as a proxy. Each target has a plaintext and
an implicit-TLS port; `root_pid` is the process whose tree is the proxy
(None for direct Dovecot). Python standard library only."""

import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

from harness import (HOST, free_port, stop_process, tail, to_yaml,  # noqa: E402
                     wait_for_port)

PASSWORD = "pw"
MASTER_USER = "proxy"
MASTER_PASSWORD = "master-secret"
DOMAIN = "bench.test"
SERVER_NAME = "imap.bench.test"
BIG_USER = f"big@{DOMAIN}"
NGINX_MAIL_MODULE = "/usr/lib/nginx/modules/ngx_mail_module.so"
STARTUP_TIMEOUT = 30.0

# Every process that holds idle sessions (load generator, imapfront worker,
# nginx worker, Dovecot login process) holds at most this many: each may open
# at most 20,000 descriptors on the benchmark machine (a hard limit a
# container without CAP_SYS_RESOURCE cannot raise) and a proxy needs two per
# session, client and backend, plus a few of its own.
SESSIONS_PER_PROCESS = 9000
# Descriptors a process keeps besides its sessions' (listeners, logs, pipes).
RESERVED_DESCRIPTORS = 200


def sessions_per_process(fd_limit):
    """SESSIONS_PER_PROCESS, or fewer where the descriptor limit is lower."""
    return max(1, min(SESSIONS_PER_PROCESS, (fd_limit - RESERVED_DESCRIPTORS) // 2))


def processes_for(sessions, fd_limit):
    """How many processes share `sessions` so that none holds more than it may."""
    per_process = sessions_per_process(fd_limit)
    return max(1, (sessions + per_process - 1) // per_process)


def user(index):
    return f"user{index}@{DOMAIN}"


def missing_tools(targets):
    """What the chosen targets need that this machine lacks, as apt packages."""
    needs = {"direct": [("dovecot", "dovecot-imapd")]}
    needs["dovecot-proxy"] = needs["direct"]
    needs["imapfront"] = needs["direct"]
    needs["floor"] = needs["direct"]
    needs["haproxy"] = needs["direct"] + [("haproxy", "haproxy")]
    needs["nginx"] = needs["direct"] + [("nginx", "nginx")]
    missing = set()
    for target in targets:
        for command, package in needs.get(target, []):
            if shutil.which(command) is None:
                missing.add(package)
    if "nginx" in targets and not os.path.exists(NGINX_MAIL_MODULE):
        missing.add("libnginx-mod-mail")
    return sorted(missing)


def _run(*args):
    subprocess.run(list(args), check=True, timeout=60,
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _write(path, text, mode=0o644):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)
    return path


def make_certificate(folder):
    """A self-signed P-256 certificate for every TLS listener: (cert, key, combined)."""
    cert, key = os.path.join(folder, "server.pem"), os.path.join(folder, "server.key")
    _run("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", key, "-out", cert, "-days", "2", "-subj", f"/CN={SERVER_NAME}",
         "-addext", f"subjectAltName=DNS:{SERVER_NAME},DNS:localhost,IP:127.0.0.1")
    combined = os.path.join(folder, "server-combined.pem")
    with open(combined, "w") as out:
        for part in (cert, key):
            with open(part) as f:
                out.write(f.read())
    for path in (cert, key, combined):
        os.chmod(path, 0o644)
    return cert, key, combined


def _message(size, seed):
    header = (f"From: sender@{DOMAIN}\r\nTo: rcpt@{DOMAIN}\r\nSubject: bench {seed}\r\n"
              f"Message-ID: <{seed}.{size}@{DOMAIN}>\r\n\r\n").encode()
    line = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ+/0123456789ab\r\n"
    body = (line * (size // len(line) + 1))[:size - len(header)]
    return header + body


def seed_maildirs(mail_root, users, big_size):
    """Writes mailboxes straight into Maildir: ten 3 KiB messages per user and
    one message of big_size for BIG_USER. Dovecot indexes them on first use."""
    owner = ("nobody", "nogroup") if os.geteuid() == 0 else (None, None)
    mailboxes = {user(i): [_message(3072, f"{i}.{n}") for n in range(10)] for i in range(1, users + 1)}
    mailboxes[BIG_USER] = [_message(big_size, "big")]
    for name, messages in mailboxes.items():
        for sub in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(mail_root, name, sub), exist_ok=True)
        for n, data in enumerate(messages):
            path = os.path.join(mail_root, name, "cur", f"{1700000000 + n}.M{n}P1.bench,S={len(data)}:2,")
            with open(path, "wb") as f:
                f.write(data)
    if owner[0]:
        for folder, _, files in os.walk(mail_root):
            shutil.chown(folder, *owner)
            for name in files:
                shutil.chown(os.path.join(folder, name), *owner)


# ---------------------------------------------------------------- Dovecot

DOVECOT_COMMON = """\
instance_name = {instance}
base_dir = {dir}/run
state_dir = {dir}/state
log_path = {dir}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = yes
ssl_cert = <{cert}
ssl_key = <{key}
ssl_min_protocol = TLSv1.2
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
{users_settings}
mail_max_userip_connections = 1000000
default_vsz_limit = 2G
default_process_limit = 6000
default_client_limit = 60000
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {imap_port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {imaps_port}
  }}
  service_count = 0
  process_min_avail = 2
  client_limit = {login_client_limit}
}}
service anvil {{
  client_limit = {anvil_client_limit}
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
"""

BACKEND_EXTRA = """\
auth_master_user_separator = *
mail_location = maildir:{dir}/mail/%u
passdb {{
  driver = passwd-file
  master = yes
  args = scheme=PLAIN {dir}/master.passwd
  result_success = continue
}}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN {dir}/users.passwd
}}
userdb {{
  driver = passwd-file
  args = {dir}/users.passwd
}}
# Several idle clients per imap process, so tens of thousands of sessions fit
# in memory; few enough that 50 busy sessions still spread over the cores.
service imap {{
  process_limit = 6000
  client_limit = 10
  service_count = 0
}}
"""

PROXY_EXTRA = """\
passdb {{
  driver = static
  args = proxy=y host=127.0.0.1 port={backend_port} nopassword=y
}}
userdb {{
  driver = static
  args = uid=nobody gid=nogroup home=/nonexistent
}}
"""


def _users_settings():
    if os.geteuid() == 0:
        return "mail_uid = nobody\nmail_gid = nogroup"
    import grp
    import pwd
    name = pwd.getpwuid(os.geteuid()).pw_name
    group = grp.getgrgid(os.getegid()).gr_name
    return (f"default_internal_user = {name}\ndefault_login_user = {name}\n"
            f"mail_uid = {name}\nmail_gid = {group}")


class Process:
    """One server process started in its own session (its tree is the target)."""

    def __init__(self, name, folder):
        self.name = name
        self.folder = folder
        self.proc = None

    def spawn(self, args, ports, greeting=True):
        self.launch = (args, ports, greeting)
        stderr_path = os.path.join(self.folder, f"{self.name}.stderr")
        with open(stderr_path, "wb") as stderr:
            self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=stderr,
                                         stderr=stderr, start_new_session=True)
        alive = lambda: self.proc.poll() is None  # noqa: E731
        try:
            for port in ports:
                wait_for_port(port, STARTUP_TIMEOUT, alive, greeting=greeting)
        except Exception:
            self.stop()
            raise RuntimeError(f"{self.name} did not start:\n{tail(stderr_path)}")

    def restart(self):
        """A fresh process with the same configuration and ports."""
        self.stop()
        self.spawn(*self.launch)

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def stop(self):
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, 15)
        except ProcessLookupError:
            pass
        stop_process(self.proc)
        try:
            os.killpg(self.proc.pid, 9)
        except (ProcessLookupError, PermissionError):
            pass
        self.proc = None


class Target:
    def __init__(self, name, plain_port, tls_port, process, scenarios=None):
        self.name = name
        self.plain_port = plain_port
        self.tls_port = tls_port  # None: no TLS listener, the TLS variants skip it
        self.process = process  # None for direct Dovecot: there is no proxy to measure
        self.scenarios = scenarios  # None: every scenario

    def runs(self, scenario, tls):
        return (self.tls_port is not None or not tls) and (self.scenarios is None or scenario in self.scenarios)

    @property
    def root_pid(self):
        return self.process.pid if self.process else None


def dovecot_client_limits(fd_limit):
    """(imap-login, anvil) client_limit. A login process keeps two
    descriptors for every session it proxies (client and backend; with TLS
    too) or hands to an imap process over TLS: past SESSIONS_PER_PROCESS
    clients Dovecot's master starts another login process rather than one
    running out of descriptors. anvil is a single process: it takes what the
    limit allows."""
    return sessions_per_process(fd_limit), max(1, fd_limit - RESERVED_DESCRIPTORS)


def start_dovecot(name, folder, cert, key, extra, fd_limit):
    os.makedirs(folder, exist_ok=True)
    os.chmod(folder, 0o755)
    for sub in ("run", "state"):
        os.makedirs(os.path.join(folder, sub), exist_ok=True)
    imap_port, imaps_port = free_port(), free_port()
    login_client_limit, anvil_client_limit = dovecot_client_limits(fd_limit)
    conf = DOVECOT_COMMON.format(instance=f"bench-{name}-{os.getpid()}", dir=folder, cert=cert,
                                 key=key, users_settings=_users_settings(), imap_port=imap_port,
                                 imaps_port=imaps_port, login_client_limit=login_client_limit,
                                 anvil_client_limit=anvil_client_limit) + extra
    path = _write(os.path.join(folder, "dovecot.conf"), conf)
    process = Process(name, folder)
    process.spawn(["dovecot", "-F", "-c", path], [imap_port])
    return process, imap_port, imaps_port


def start_backend(folder, cert, key, users, big_size, fd_limit):
    os.makedirs(os.path.join(folder, "mail"), exist_ok=True)
    seed_maildirs(os.path.join(folder, "mail"), users, big_size)
    lines = [f"{user(i)}:{PASSWORD}::::::" for i in range(1, users + 1)] + [f"{BIG_USER}:{PASSWORD}::::::"]
    _write(os.path.join(folder, "users.passwd"), "\n".join(lines) + "\n")
    _write(os.path.join(folder, "master.passwd"), f"{MASTER_USER}:{MASTER_PASSWORD}::::::\n")
    process, imap_port, imaps_port = start_dovecot("backend", folder, cert, key,
                                                   BACKEND_EXTRA.format(dir=folder), fd_limit)
    return Target("direct", imap_port, imaps_port, None), process


def start_dovecot_proxy(folder, cert, key, backend_port, fd_limit):
    process, imap_port, imaps_port = start_dovecot(
        "dovecot-proxy", folder, cert, key, PROXY_EXTRA.format(backend_port=backend_port), fd_limit)
    return Target("dovecot-proxy", imap_port, imaps_port, process)


def start_imapfront(binary, folder, cert, key, backend_port, workers=None):
    """workers: None runs one process (no --workers flag); a number runs that
    many worker processes sharing the listeners' fixed ports (SO_REUSEPORT),
    each with its own descriptor limit."""
    os.makedirs(folder, exist_ok=True)
    plain, tls = free_port(), free_port()
    master_file = _write(os.path.join(folder, "master-password"), MASTER_PASSWORD + "\n", 0o600)
    config = {
        "listeners": [
            {"name": "plain", "address": f"{HOST}:{plain}", "tls": "none",
             "default_vhost": DOMAIN, "allow_plaintext_auth": True},
            {"name": "implicit", "address": f"{HOST}:{tls}", "tls": "implicit",
             "default_vhost": DOMAIN},
        ],
        "tls": {"certificates": [{"cert": cert, "key": key}]},
        "backends": {"dovecot": {"address": f"{HOST}:{backend_port}", "tls": "none"}},
        "pools": {"bench": {"servers": ["dovecot"],
                            "master": {"user": MASTER_USER, "password_file": master_file,
                                       "style": "authzid"}}},
        "vhosts": {DOMAIN: {"pool": "bench", "aliases": [SERVER_NAME]}},
        "profiles": {"bench": [user(1), user(2)]},
        "limits": {"max_connections": 1000000, "max_connections_per_ip": 1000000,
                   "login_attempts_per_ip": 10000000,
                   "login_timeout": "60s", "idle_timeout": "30m", "auth_failure_delay": "0s"},
        "log": {"format": "json", "level": "warn"},
    }
    path = _write(os.path.join(folder, "imapfront.yaml"), to_yaml(config) + "\n")
    process = Process("imapfront", folder)
    command = [binary, "--config", path] + (["--workers", str(workers)] if workers else [])
    process.spawn(command, [plain, tls], greeting=False)
    return Target("imapfront", plain, tls, process)


def start_floor_relay(binary, folder, backend_port):
    """The floor: a bare plaintext relay (floor_relay/floor_relay.cpp). It
    measures what the kernel charges a proxy for moving bytes, so it runs only
    the scenarios on open sessions."""
    os.makedirs(folder, exist_ok=True)
    port = free_port()
    process = Process("floor", folder)
    process.spawn([binary, str(port), str(backend_port)], [port], greeting=False)
    return Target("floor", port, None, process, scenarios={"latency", "throughput", "mixed"})


# haproxy runs its TCP proxying in one process, so it holds only what that
# process's descriptor limit fits. Past that, a listener paused at maxconn
# would leave further clients queued without a greeting: the frontends close
# them instead, so the load generator counts them as failed at once and the
# results show how many sessions haproxy held.
HAPROXY_CONF = """\
global
  ssl-default-bind-options ssl-min-ver TLSv1.2
  maxconn {maxconn}
defaults
  mode tcp
  timeout connect 5s
  timeout client 1h
  timeout server 1h
frontend imap
  bind {host}:{plain}
  tcp-request connection reject if {{ fe_conn gt {held} }}
  default_backend dovecot
frontend imaps
  bind {host}:{tls} ssl crt {combined}
  tcp-request connection reject if {{ fe_conn gt {held} }}
  default_backend dovecot
backend dovecot
  server backend {host}:{backend_port}
"""


def start_haproxy(folder, combined, backend_port, fd_limit):
    os.makedirs(folder, exist_ok=True)
    plain, tls = free_port(), free_port()
    # Two descriptors per session; maxconn leaves room above `held` for the
    # connections being refused.
    held = (fd_limit - 2 * RESERVED_DESCRIPTORS) // 2
    path = _write(os.path.join(folder, "haproxy.cfg"), HAPROXY_CONF.format(
        host=HOST, plain=plain, tls=tls, combined=combined, backend_port=backend_port,
        held=held, maxconn=held + RESERVED_DESCRIPTORS // 4))
    process = Process("haproxy", folder)
    process.spawn(["haproxy", "-db", "-f", path], [plain, tls], greeting=False)
    return Target("haproxy", plain, tls, process)


AUTH_RESPONDER = """\
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Auth-Status", "OK")
        self.send_header("Auth-Server", "127.0.0.1")
        self.send_header("Auth-Port", sys.argv[2])
        self.end_headers()

    def log_message(self, *args):
        pass

ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
"""

NGINX_CONF = """\
load_module {module};
daemon off;
master_process on;
worker_processes {workers};
worker_rlimit_nofile {fd_limit};
pid {dir}/nginx.pid;
error_log {dir}/nginx-error.log warn;
events {{
  worker_connections {worker_connections};
}}
mail {{
  auth_http {host}:{auth_port}/auth;
  imap_auth plain login;
  ssl_certificate {cert};
  ssl_certificate_key {key};
  ssl_protocols TLSv1.2 TLSv1.3;
  ssl_session_cache shared:MAIL:20m;
  server {{
    listen {host}:{plain};
    protocol imap;
  }}
  server {{
    listen {host}:{tls} ssl;
    protocol imap;
  }}
}}
"""


def nginx_sizing(idle_sessions, fd_limit):
    """(worker_processes, worker_connections). A worker counts a session's
    client and backend connection against worker_connections, each worker
    within its own descriptor limit. Two workers with half the limit each
    while one worker alone could hold every idle session (so the default
    benchmark keeps its figures: nginx's memory grows with
    worker_connections); beyond that enough workers for the sessions, each
    allowed up to its descriptor limit, as the kernel does not share
    connections out evenly between them."""
    if idle_sessions <= fd_limit // 4:
        return 2, fd_limit // 2
    return max(2, processes_for(idle_sessions, fd_limit)), fd_limit - RESERVED_DESCRIPTORS


def start_nginx(folder, cert, key, backend_port, fd_limit, idle_sessions):
    """Returns (target, auth responder process): the responder is not part of
    nginx's measured tree, as in the issue's reference figures."""
    os.makedirs(folder, exist_ok=True)
    auth_port, plain, tls = free_port(), free_port(), free_port()
    workers, worker_connections = nginx_sizing(idle_sessions, fd_limit)
    responder_path = _write(os.path.join(folder, "auth_http.py"), AUTH_RESPONDER)
    responder = Process("nginx-auth-http", folder)
    responder.spawn([sys.executable, responder_path, str(auth_port), str(backend_port)],
                    [auth_port], greeting=False)
    path = _write(os.path.join(folder, "nginx.conf"), NGINX_CONF.format(
        module=NGINX_MAIL_MODULE, dir=folder, host=HOST, auth_port=auth_port, cert=cert, key=key,
        plain=plain, tls=tls, fd_limit=fd_limit, workers=workers,
        worker_connections=worker_connections))
    process = Process("nginx", folder)
    try:
        process.spawn(["nginx", "-p", folder, "-e", os.path.join(folder, "nginx-early.log"),
                       "-c", path], [plain, tls], greeting=False)
    except Exception:
        responder.stop()
        raise
    return Target("nginx", plain, tls, process), responder
