"""Integration test harness: a throw-away test CA, real Dovecot backends and
imapfront itself, all on 127.0.0.1 in a scratch folder that is removed at the
end. Python 3 standard library only.

Environment:
  IMAPFRONT_BIN        the imapfront binary under test (set by ctest).
  IMAPFRONT_IT_DIRECT  when "1", tests talk to Dovecot A directly instead of
                       the proxy; tests of proxy-only behaviour skip. This is
                       how a test's own logic is checked against a real server.
  IMAPFRONT_IT_KEEP    when "1", the scratch folder is kept for inspection.
"""

import base64
import hashlib
import imaplib
import os
import random
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import unittest

HOST = "127.0.0.1"
STARTUP_TIMEOUT = 15.0
IO_TIMEOUT = 20.0
STOP_TIMEOUT = 10.0

DIRECT = os.environ.get("IMAPFRONT_IT_DIRECT") == "1"

MASTER_USER = "proxy"
MASTER_PASSWORD = "master-secret"

# A password that needs quoting, escaping and a literal on its way through.
SPECIAL_PASSWORD = 'p "q\\ \xe9t\xe9 \u00fcber'.encode("utf-8")
# The same without 8-bit bytes, for the quoted-string form of LOGIN.
QUOTED_PASSWORD = b'e "r\\ in'

USERS_A = {
    "alice@abcd.test": b"alice-pw",
    "bob1@abcd.test": b"bob1-pw",
    "carol@abcd.test": SPECIAL_PASSWORD,
    "erin@abcd.test": QUOTED_PASSWORD,
}
USERS_B = {
    "dave@defg.test": b"dave-pw",
    "bob2@defg.test": b"bob2-pw",
}


def requires_proxy(test):
    """Marks a test of behaviour that only imapfront has (VHOST, SNI...)."""
    return unittest.skipIf(DIRECT, "needs imapfront, not a bare backend")(test)


_handed_out_ports = set()


def free_port():
    """A loopback port that is free now and was not handed out before in this
    process: the kernel may offer a port just released by bind((HOST, 0)) again,
    and one config must never get the same port twice."""
    for _ in range(100):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind((HOST, 0))
            port = s.getsockname()[1]
        if port not in _handed_out_ports:
            _handed_out_ports.add(port)
            return port
    raise RuntimeError("no loopback port not handed out before, after 100 tries")


def wait_for_port(port, timeout, alive=lambda: True, greeting=False):
    """Waits until `port` accepts a connection (and, with greeting, sends a
    line). Raises if the deadline passes or alive() turns false."""
    deadline = time.monotonic() + timeout
    last_error = None
    while time.monotonic() < deadline:
        if not alive():
            raise RuntimeError(f"process died before port {port} was ready")
        try:
            with socket.create_connection((HOST, port), timeout=1.0) as s:
                if not greeting:
                    return
                s.settimeout(2.0)
                if s.recv(1024):
                    return
        except OSError as e:
            last_error = e
        time.sleep(0.05)
    raise TimeoutError(f"port {port} not ready after {timeout}s: {last_error}")


def stop_process(proc, timeout=STOP_TIMEOUT):
    """SIGTERM, bounded wait, then SIGKILL. Returns the exit code."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=timeout)
    return proc.returncode


def tail(path, lines=40):
    return "\n".join(_read_lines(path)[-lines:])


def head(path, lines=30):
    """The start of a file: where a sanitizer report names the fault."""
    return "\n".join(_read_lines(path)[:lines])


def _read_lines(path):
    try:
        with open(path, "rb") as f:
            return f.read().decode("utf-8", "replace").splitlines()
    except OSError:
        return []


# ---------------------------------------------------------------- scratch


class Scratch:
    """A folder under /tmp for one test environment. Dovecot's unprivileged
    processes must read files in it, hence the permissive modes."""

    def __init__(self):
        self.path = tempfile.mkdtemp(prefix="imapfront-it-")
        os.chmod(self.path, 0o755)

    def sub(self, *parts):
        return os.path.join(self.path, *parts)

    def mkdir(self, *parts):
        path = self.sub(*parts)
        os.makedirs(path, exist_ok=True)
        os.chmod(path, 0o755)
        return path

    def write(self, name, data, mode=0o644):
        path = self.sub(name)
        with open(path, "wb" if isinstance(data, bytes) else "w") as f:
            f.write(data)
        os.chmod(path, mode)
        return path

    def remove(self):
        if os.environ.get("IMAPFRONT_IT_KEEP") == "1":
            sys.stderr.write(f"kept scratch folder {self.path}\n")
            return
        shutil.rmtree(self.path, ignore_errors=True)


# ---------------------------------------------------------------- test CA


class TestCA:
    """A CA and the leaf certificates the tests need, made with the openssl
    command line."""

    def __init__(self, scratch):
        self.dir = scratch.mkdir("tls")
        self.ca_cert = os.path.join(self.dir, "ca.pem")
        self.ca_key = os.path.join(self.dir, "ca.key")
        self._openssl(
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-keyout", self.ca_key, "-out", self.ca_cert, "-days", "2",
            "-subj", "/CN=imapfront test CA",
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign")
        self.abcd = self.issue("abcd", "imap.abcd.test",
                               ["DNS:localhost", "IP:127.0.0.1", "DNS:imap.abcd.test"])
        self.defg = self.issue("defg", "imap.defg.test", ["DNS:imap.defg.test"])
        self.backend = self.issue("backend", "localhost", ["DNS:localhost", "IP:127.0.0.1"])
        for name in os.listdir(self.dir):
            os.chmod(os.path.join(self.dir, name), 0o644)

    def issue(self, name, common_name, alt_names):
        """Returns (cert_path, key_path) of a server certificate."""
        cert = os.path.join(self.dir, f"{name}.pem")
        key = os.path.join(self.dir, f"{name}.key")
        csr = os.path.join(self.dir, f"{name}.csr")
        ext = os.path.join(self.dir, f"{name}.ext")
        with open(ext, "w") as f:
            f.write(f"subjectAltName={','.join(alt_names)}\n"
                    "basicConstraints=CA:FALSE\n"
                    "keyUsage=digitalSignature\n"
                    "extendedKeyUsage=serverAuth\n")
        self._openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                      "-nodes", "-keyout", key, "-out", csr, "-subj", f"/CN={common_name}")
        self._openssl("x509", "-req", "-in", csr, "-CA", self.ca_cert, "-CAkey", self.ca_key,
                      "-CAcreateserial", "-out", cert, "-days", "2", "-extfile", ext)
        return cert, key

    def client_context(self):
        ctx = ssl.create_default_context(cafile=self.ca_cert)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        return ctx

    @staticmethod
    def _openssl(*args):
        subprocess.run(["openssl", *args], check=True, timeout=30,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


# ---------------------------------------------------------------- Dovecot

DOVECOT_CONF = """\
instance_name = {instance}
base_dir = {dir}/run
state_dir = {dir}/state
log_path = {dir}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = yes
ssl_cert = <{cert}
ssl_key = <{key}
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
auth_master_user_separator = *
{users_settings}
mail_location = maildir:{dir}/mail/%u
mail_max_userip_connections = 1000
default_vsz_limit = 2G
default_process_limit = 200
default_client_limit = 2000
imap_max_line_length = 256k

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
  process_min_avail = 1
  client_limit = 1000
}}
service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
{extra}
"""


def _mail_owner():
    """Mail files belong to nobody when run as root (Dovecot refuses uid 0),
    else to the user running the tests."""
    if os.geteuid() == 0:
        return "nobody", "nogroup"
    import grp
    import pwd
    return pwd.getpwuid(os.geteuid()).pw_name, grp.getgrgid(os.getegid()).gr_name


class Dovecot:
    """One foreground Dovecot master with its own folders and ports."""

    def __init__(self, scratch, name, ca, users, extra_conf=""):
        self.name = name
        self.users = dict(users)
        self.ca = ca
        self.dir = scratch.mkdir(f"dovecot-{name}")
        self.imap_port = free_port()
        self.imaps_port = free_port()
        self.proc = None
        user, group = _mail_owner()
        for folder in ("run", "state", "mail"):
            os.makedirs(os.path.join(self.dir, folder), exist_ok=True)
        shutil.chown(os.path.join(self.dir, "mail"), user, group)
        self._write_passwd("users.passwd", self.users)
        self._write_passwd("master.passwd", {MASTER_USER: MASTER_PASSWORD.encode()})
        if os.geteuid() == 0:
            users_settings = f"mail_uid = {user}\nmail_gid = {group}"
        else:
            users_settings = (f"default_internal_user = {user}\ndefault_login_user = {user}\n"
                              f"mail_uid = {user}\nmail_gid = {group}")
        cert, key = ca.backend
        self.conf = os.path.join(self.dir, "dovecot.conf")
        with open(self.conf, "w") as f:
            f.write(DOVECOT_CONF.format(
                instance=f"imapfront-it-{name}-{os.getpid()}", dir=self.dir, cert=cert, key=key,
                users_settings=users_settings, imap_port=self.imap_port,
                imaps_port=self.imaps_port, extra=extra_conf))
        self.log = os.path.join(self.dir, "dovecot.log")

    def _write_passwd(self, name, users):
        path = os.path.join(self.dir, name)
        with open(path, "wb") as f:
            for user, password in users.items():
                assert b":" not in password and b"\n" not in password
                f.write(user.encode() + b":" + password + b"::::::\n")
        os.chmod(path, 0o644)

    def start(self):
        with open(os.path.join(self.dir, "stderr.log"), "wb") as stderr:
            self.proc = subprocess.Popen(["dovecot", "-F", "-c", self.conf],
                                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                         stderr=stderr, start_new_session=True)
        try:
            wait_for_port(self.imap_port, STARTUP_TIMEOUT, self.running, greeting=True)
            wait_for_port(self.imaps_port, STARTUP_TIMEOUT, self.running)
        except Exception:
            self.stop()
            raise RuntimeError(f"dovecot {self.name} did not start:\n{tail(self.log)}\n"
                               f"{tail(os.path.join(self.dir, 'stderr.log'))}")

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        if self.proc is None:
            return
        try:
            # Every process of the instance at once: the master alone waits
            # for its children one by one.
            os.killpg(self.proc.pid, signal.SIGTERM)
            stop_process(self.proc)
        except ProcessLookupError:
            pass
        finally:
            # Children (imap, auth...) belong to the master's session.
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            self.proc = None

    def connect(self, user):
        """An authenticated imaplib session straight to this backend."""
        imap = imaplib.IMAP4(HOST, self.imap_port, timeout=IO_TIMEOUT)
        imap.authenticate("PLAIN", lambda _: b"\0" + user.encode() + b"\0" + self.users[user])
        return imap

    def append(self, user, message, mailbox="INBOX"):
        """Seeds a message directly on the backend; returns its UID."""
        imap = self.connect(user)
        try:
            typ, data = imap.append(mailbox, None, None, message)
            if typ != "OK":
                raise RuntimeError(f"APPEND failed: {data}")
            match = re.search(rb"APPENDUID \d+ (\d+)", data[0] or b"")
            return int(match.group(1)) if match else None
        finally:
            imap.logout()


# ---------------------------------------------------------------- YAML


def to_yaml(value, indent=0):
    """Block-style YAML for dicts, lists and scalars; strings double-quoted."""
    pad = "  " * indent
    if isinstance(value, dict):
        if not value:
            return "{}"
        lines = []
        for key, item in value.items():
            if isinstance(item, (dict, list)) and item:
                lines.append(f"{pad}{key}:\n{to_yaml(item, indent + 1)}")
            else:
                lines.append(f"{pad}{key}: {to_yaml(item)}")
        return "\n".join(lines)
    if isinstance(value, list):
        if not value:
            return "[]"
        lines = []
        for item in value:
            text = to_yaml(item, indent + 1)
            if isinstance(item, (dict, list)) and item:
                text = text.lstrip()
            lines.append(f"{pad}- {text}")
        return "\n".join(lines)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


# ---------------------------------------------------------------- imapfront


LISTENERS = ("starttls", "implicit", "plain", "plain_refused")


def base_config(scratch, ca, backend_a, backend_b):
    """The routing config most tests use, as a dict: four listeners, two
    vhosts on two Dovecots, and a vhost whose only backend is down."""
    master_file = scratch.write("master-password", MASTER_PASSWORD + "\n", 0o600)
    abcd_cert, abcd_key = ca.abcd
    defg_cert, defg_key = ca.defg
    return {
        "listeners": [
            {"name": "starttls", "address": f"{HOST}:{free_port()}", "tls": "starttls",
             "default_vhost": "abcd.test"},
            {"name": "implicit", "address": f"{HOST}:{free_port()}", "tls": "implicit",
             "default_vhost": "abcd.test"},
            {"name": "plain", "address": f"{HOST}:{free_port()}", "tls": "none",
             "default_vhost": "abcd.test", "allow_plaintext_auth": True},
            {"name": "plain_refused", "address": f"{HOST}:{free_port()}", "tls": "none",
             "default_vhost": "abcd.test"},
        ],
        "tls": {"certificates": [{"cert": abcd_cert, "key": abcd_key},
                                 {"cert": defg_cert, "key": defg_key}]},
        "backends": {
            "dovecot-a": {"address": f"{HOST}:{backend_a.imap_port}", "tls": "starttls",
                          "ca": ca.ca_cert},
            "dovecot-b": {"address": f"{HOST}:{backend_b.imap_port}", "tls": "none"},
            "dead": {"address": f"{HOST}:{free_port()}", "tls": "none"},
        },
        "pools": {
            "pool-a": {"servers": ["dovecot-a"],
                       "master": {"user": MASTER_USER, "password_file": master_file,
                                  "style": "authzid"}},
            "pool-b": {"servers": ["dovecot-b"],
                       "master": {"user": MASTER_USER, "password_file": master_file,
                                  "style": "authzid"}},
            "pool-dead": {"servers": ["dead"],
                          "health": {"interval": "1s", "timeout": "500ms", "fall": 1, "rise": 1}},
        },
        "vhosts": {
            "abcd.test": {"pool": "pool-a", "aliases": ["imap.abcd.test"]},
            "defg.test": {"pool": "pool-b", "aliases": ["imap.defg.test"]},
            "down.test": {"pool": "pool-dead"},
        },
        "profiles": {"bob": ["bob1@abcd.test", "bob2@defg.test"]},
        "limits": {"login_timeout": "2s", "auth_failures": 3, "auth_failure_delay": "100ms",
                   "max_line": 65536, "backend_timeout": "3s"},
        "log": {"format": "json", "level": "debug"},
    }


def imapfront_bin():
    path = os.environ.get("IMAPFRONT_BIN")
    if not path:
        here = os.path.dirname(os.path.abspath(__file__))
        path = os.path.join(here, "..", "..", "build", "imapfront")
    return os.path.abspath(path)


def listener_port(config, name):
    for listener in config["listeners"]:
        if listener["name"] == name:
            return int(listener["address"].rsplit(":", 1)[1])
    raise KeyError(name)


class Imapfront:
    """One imapfront process running a config dict."""

    def __init__(self, scratch, config, name="imapfront", args=(), binary=None, preexec=None):
        self.config = config
        self.args = list(args)  # extra command-line arguments (--workers N)
        self.binary = binary or imapfront_bin()
        self.preexec = preexec  # runs in the child before the program: CPU affinity, a cgroup
        self.scratch = scratch
        self.config_path = scratch.write(f"{name}.yaml", to_yaml(config) + "\n")
        self.log = scratch.sub(f"{name}.log")
        self.stderr = scratch.sub(f"{name}.stderr")
        self.proc = None

    def port(self, listener):
        return listener_port(self.config, listener)

    def start_detached(self):
        """Starts the process without waiting for its listeners."""
        env = dict(os.environ)
        env.setdefault("ASAN_OPTIONS", "detect_leaks=1")
        with open(self.log, "wb") as stdout, open(self.stderr, "wb") as stderr:
            self.proc = subprocess.Popen([self.binary, "--config", self.config_path] + self.args,
                                         stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr,
                                         env=env, start_new_session=True, preexec_fn=self.preexec)

    def start(self):
        self.start_detached()
        try:
            for listener in self.config["listeners"]:
                wait_for_port(self.port(listener["name"]), STARTUP_TIMEOUT, self.running)
        except Exception:
            self.stop(check=False)
            raise RuntimeError(f"imapfront did not start:\n{tail(self.log)}\n{head(self.stderr)}")

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, check=True):
        """Stops the process; with check, a crash or a non-zero exit (a
        sanitizer report) is an error."""
        if self.proc is None:
            return
        crashed_before = self.proc.poll() is not None
        code = stop_process(self.proc)
        self.proc = None
        if check and (crashed_before or code != 0):
            raise AssertionError(f"imapfront exited with {code}"
                                 f"{' before it was stopped' if crashed_before else ''}:\n"
                                 f"{head(self.stderr)}\n{tail(self.log)}")

    def log_text(self):
        with open(self.log, "rb") as f:
            return f.read().decode("utf-8", "replace")


class DirectTarget:
    """Stands in for imapfront when IMAPFRONT_IT_DIRECT=1: every listener is
    Dovecot A, so tests that do not need the proxy check their own logic."""

    def __init__(self, backend):
        self.backend = backend
        self.log = os.devnull

    def port(self, listener):
        return self.backend.imaps_port if listener == "implicit" else self.backend.imap_port

    def running(self):
        return self.backend.running()

    def start(self):
        pass

    def stop(self, check=True):
        pass

    def log_text(self):
        return ""


# ---------------------------------------------------------------- environment


class Environment:
    """Scratch folder, CA, Dovecot A and B and one imapfront. Call stop()
    whatever happens; it is safe after a partial start."""

    def __init__(self):
        self.scratch = Scratch()
        self.backends = []
        self.proxies = []
        self.ca = None
        self.a = self.b = self.proxy = None
        self.config = None
        self.seeded = {}  # user -> (uid, message) of the first message in INBOX

    def start(self, with_proxy=True, tweak=None):
        self.ca = TestCA(self.scratch)
        self.a = self.add_backend("a", USERS_A)
        self.b = self.add_backend("b", USERS_B)
        for backend in (self.a, self.b):
            for user in backend.users:
                message = welcome_message(user)
                self.seeded[user] = (backend.append(user, message), message)
        self.config = base_config(self.scratch, self.ca, self.a, self.b)
        if tweak:
            tweak(self.config)
        if with_proxy:
            self.proxy = self.start_proxy(self.config)
        return self

    def add_backend(self, name, users, extra_conf=""):
        backend = Dovecot(self.scratch, name, self.ca, users, extra_conf)
        self.backends.append(backend)
        backend.start()
        return backend

    def start_proxy(self, config, name="imapfront"):
        proxy = DirectTarget(self.a) if DIRECT else Imapfront(self.scratch, config, name)
        self.proxies.append(proxy)
        proxy.start()
        return proxy

    def stop(self):
        errors = []
        for proxy in reversed(self.proxies):
            try:
                proxy.stop()
            except Exception as e:  # keep stopping the rest
                errors.append(e)
        for backend in self.backends:
            try:
                backend.stop()
            except Exception as e:
                errors.append(e)
        self.scratch.remove()
        if errors:
            raise errors[0]

    # Client helpers bound to this environment.

    def imap(self, listener="plain", server_hostname=None, proxy=None):
        """An imaplib client on a listener: IMAP4_SSL for the implicit one,
        IMAP4 otherwise (call .starttls(ssl_context=env.ctx()) as needed)."""
        proxy = proxy or self.proxy
        port = proxy.port(listener)
        if listener == "implicit":
            return IMAP4SNI(HOST, port, ssl_context=self.ca.client_context(),
                            server_hostname=server_hostname or "localhost")
        return imaplib.IMAP4(HOST, port, timeout=IO_TIMEOUT)

    def raw(self, listener="plain", server_hostname=None, proxy=None):
        proxy = proxy or self.proxy
        client = RawClient(proxy.port(listener))
        if listener == "implicit":
            client.start_tls(self.ca.client_context(), server_hostname or "localhost")
        return client


class IMAP4SNI(imaplib.IMAP4_SSL):
    """IMAP4_SSL that sends a chosen SNI name while connecting to 127.0.0.1."""

    def __init__(self, host, port, ssl_context, server_hostname):
        self._sni = server_hostname
        super().__init__(host, port, ssl_context=ssl_context, timeout=IO_TIMEOUT)

    def _create_socket(self, timeout):
        sock = socket.create_connection((self.host, self.port), timeout)
        return self.ssl_context.wrap_socket(sock, server_hostname=self._sni)


class EnvironmentTestCase(unittest.TestCase):
    """Shares one Environment per test class."""

    with_proxy = True

    @classmethod
    def tweak_config(cls, config):
        """Subclasses change the base config here."""

    @classmethod
    def setUpClass(cls):
        cls.env = Environment()
        cls.addClassCleanup(cls.env.stop)
        cls.env.start(with_proxy=cls.with_proxy, tweak=cls.tweak_config)

    def tearDown(self):
        # A crash shows up at the test that caused it, not at the class's end.
        for proxy in self.env.proxies:
            stderr = getattr(proxy, "stderr", "")
            self.assertTrue(proxy.running(), f"imapfront died:\n{head(stderr)}")


# ---------------------------------------------------------------- raw client


class ConnectionClosed(Exception):
    pass


class RawClient:
    """A socket speaking bytes: send, read lines, read up to a tagged reply.
    Every read has a deadline; literals in responses are read whole."""

    def __init__(self, port, timeout=IO_TIMEOUT):
        self.sock = socket.create_connection((HOST, port), timeout=timeout)
        self.timeout = timeout
        self.buffer = bytearray()

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send(self, data):
        self.sock.sendall(data)

    def start_tls(self, context, server_hostname="localhost"):
        if self.buffer:
            raise AssertionError(f"plaintext bytes before the TLS handshake: {bytes(self.buffer)!r}")
        self.sock = context.wrap_socket(self.sock, server_hostname=server_hostname)

    def _fill(self, deadline):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"no data; buffer {bytes(self.buffer[:200])!r}")
        self.sock.settimeout(remaining)
        try:
            chunk = self.sock.recv(65536)
        except socket.timeout:
            raise TimeoutError(f"no data; buffer {bytes(self.buffer[:200])!r}")
        if not chunk:
            raise ConnectionClosed(bytes(self.buffer))
        self.buffer += chunk

    def read_line(self, timeout=None):
        """One response line without CRLF; a literal {n} at its end is read
        and appended, so a line is a whole response."""
        deadline = time.monotonic() + (timeout or self.timeout)
        line = bytearray()
        while True:
            while b"\r\n" not in self.buffer:
                self._fill(deadline)
            end = self.buffer.index(b"\r\n")
            part = bytes(self.buffer[:end])
            del self.buffer[:end + 2]
            line += part
            match = re.search(rb"\{(\d+)\+?\}$", part)
            if not match:
                return bytes(line)
            size = int(match.group(1))
            while len(self.buffer) < size:
                self._fill(deadline)
            line += b"\r\n" + bytes(self.buffer[:size])
            del self.buffer[:size]

    def read_until_tag(self, tag, timeout=None):
        """Lines up to and including the one tagged `tag`."""
        deadline = time.monotonic() + (timeout or self.timeout)
        lines = []
        prefix = tag.encode() + b" " if isinstance(tag, str) else tag + b" "
        while True:
            line = self.read_line(max(deadline - time.monotonic(), 0.001))
            lines.append(line)
            if line.startswith(prefix):
                return lines

    def command(self, tag, text, timeout=None):
        data = text if isinstance(text, bytes) else text.encode()
        self.send(tag.encode() + b" " + data + b"\r\n")
        return self.read_until_tag(tag, timeout)

    def read_to_eof(self, timeout=None):
        """Everything until the peer closes; raises TimeoutError if it does not."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            try:
                self._fill(deadline)
            except ConnectionClosed:
                data = bytes(self.buffer)
                self.buffer.clear()
                return data
            except (ConnectionResetError, ssl.SSLError):
                data = bytes(self.buffer)
                self.buffer.clear()
                return data

    def login(self, user, password):
        """LOGIN with the password as a synchronizing literal."""
        self.send(b"L1 LOGIN " + quote(user.encode()) + b" {" + str(len(password)).encode() + b"}\r\n")
        first = self.read_line()
        if not first.startswith(b"+"):
            return [first]
        self.send(password + b"\r\n")
        return self.read_until_tag("L1")


def first_literal(response):
    """The bytes of the first literal in a response read by read_line."""
    match = re.search(rb"\{(\d+)\}\r\n", response)
    if not match:
        raise AssertionError(f"no literal in {response[:200]!r}")
    return response[match.end():match.end() + int(match.group(1))]


def quote(value):
    return b'"' + value.replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"'


def tagged_status(lines, tag):
    """'OK', 'NO' or 'BAD' of the line tagged `tag`."""
    for line in lines:
        if line.startswith(tag.encode() + b" "):
            return line.split(b" ", 2)[1].decode().upper()
    raise AssertionError(f"no tagged {tag} reply in {lines!r}")


# ---------------------------------------------------------------- messages


def welcome_message(user):
    """The first message of every test mailbox: its subject names the owner,
    so a test can tell which backend account a session reached."""
    return (f"From: postmaster@imapfront.test\r\nTo: {user}\r\n"
            f"Subject: mailbox of {user}\r\nMessage-ID: <welcome.{user}>\r\n\r\n"
            f"Welcome, {user}. This message was put here by the test harness.\r\n").encode()


def mailbox_owner(client):
    """Whose INBOX a logged-in RawClient sees, from the welcome message."""
    client.command("own1", "EXAMINE INBOX")
    lines = client.command("own2", "FETCH 1 (BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    match = re.search(rb"Subject: mailbox of (\S+)", b"\n".join(lines))
    return match.group(1).decode() if match else None


def make_message(size, seed, subject="test message"):
    """A deterministic RFC 5322 message of exactly `size` bytes: headers and
    a base64-looking body of pseudo-random bytes in CRLF lines."""
    header = (f"From: sender@abcd.test\r\nTo: rcpt@abcd.test\r\nSubject: {subject}\r\n"
              f"Message-ID: <{seed}.{size}@imapfront.test>\r\n"
              f"MIME-Version: 1.0\r\nContent-Type: application/octet-stream\r\n"
              f"Content-Transfer-Encoding: base64\r\n\r\n").encode()
    body_size = size - len(header)
    raw = random.Random(seed).randbytes(body_size * 3 // 4 + 64)
    body = base64.encodebytes(raw).replace(b"\n", b"\r\n")[:body_size]
    if body.endswith(b"\r"):
        body = body[:-1] + b"A"
    message = header + body
    assert len(message) == size
    return message


def sha256(data):
    return hashlib.sha256(data).hexdigest()


# ---------------------------------------------------------------- curl


def curl(args, timeout=60):
    """Runs curl; returns CompletedProcess with bytes stdout/stderr."""
    return subprocess.run(["curl", "--silent", "--show-error", "--max-time", str(int(timeout)),
                           *args], capture_output=True, timeout=timeout + 10)
