"""A real Cyrus IMAP server for integration tests, in a scratch folder on a
free loopback port.

Debian's cyrus-imapd conflicts with dovecot-imapd, so the tests use Cyrus's
master and tools from `cyrus-common` (installed with apt) and its imapd binary
from the cyrus-imapd package unpacked (not installed) into CYRUS_CACHE by
tests/run.sh. Master is started as root and switches to the `cyrus` user,
which must read the scratch folder and the imapd binary.

Identities: no virtdomains; users are plain names (bob3) in a sasldb whose
realm is the server name. The proxy's vhost for Cyrus says `username: local`,
so bob3@cyrus.test reaches Cyrus as "bob3". The proxy logs in as "proxy"
(listed in `proxyservers`) with SASL PLAIN and authzid=bob3; "admin" (in
`admins`) creates the users' mailboxes
(`user/NAME`: the hierarchy separator is set to / explicitly).
"""

import grp
import os
import pwd
import re
import shutil
import subprocess
import imaplib

from harness import (HOST, IO_TIMEOUT, MASTER_PASSWORD, MASTER_USER, STARTUP_TIMEOUT,
                     free_port, stop_process, tail, wait_for_port)

CYRUS_CACHE = os.environ.get("IMAPFRONT_CYRUS_CACHE", "/var/cache/imapfront-test/cyrus")
CYRUS_IMAPD = os.path.join(CYRUS_CACHE, "usr/lib/cyrus/bin/imapd")
CYRUS_LIBEXEC = "/usr/lib/cyrus/bin"
CYRUS_MASTER = os.path.join(CYRUS_LIBEXEC, "master")
SERVER_NAME = "cyrus.test"
ADMIN_USER = "admin"
ADMIN_PASSWORD = b"admin-pw"

IMAPD_CONF = """\
configdirectory: {dir}/config
partition-default: {dir}/spool
servername: {server_name}
admins: {admin}
proxyservers: {proxy}
allowplaintext: yes
sasl_mech_list: PLAIN LOGIN
sasl_pwcheck_method: auxprop
sasl_auxprop_plugin: sasldb
sasl_sasldb_path: {dir}/sasldb2
virtdomains: off
unixhierarchysep: yes
hashimapspool: no
imapidlepoll: 1
failedloginpause: 0
lmtpsocket: {dir}/socket/lmtp
idlesocket: {dir}/socket/idle
notifysocket: {dir}/socket/notify
syslog_prefix: imapfront-it-cyrus
"""

CYRUS_CONF = """\
START {{
  recover cmd="{libexec}/ctl_cyrusdb -C {dir}/imapd.conf -r"
}}
SERVICES {{
  imap cmd="{imapd} -C {dir}/imapd.conf" listen="{host}:{port}" prefork=1
}}
EVENTS {{
}}
DAEMON {{
}}
"""


def unavailable_reason():
    """Why Cyrus cannot run here, or None when it can."""
    if os.geteuid() != 0:
        return "Cyrus master must be started as root"
    for path in (CYRUS_MASTER, CYRUS_IMAPD, shutil.which("saslpasswd2") or "/usr/sbin/saslpasswd2"):
        if not os.access(path, os.X_OK):
            return f"{path} missing (tests/run.sh installs cyrus-common, sasl2-bin and unpacks cyrus-imapd)"
    try:
        pwd.getpwnam("cyrus")
    except KeyError:
        return "no cyrus user (package cyrus-common)"
    return None


class Cyrus:
    """One root-started Cyrus master with its own folders, port and users."""

    def __init__(self, scratch, users):
        self.users = dict(users)  # bare user name -> password bytes
        self.dir = scratch.mkdir("cyrus")
        self.imap_port = free_port()
        self.proc = None
        uid = pwd.getpwnam("cyrus").pw_uid
        gid = grp.getgrnam("mail").gr_gid
        for folder in ("config", "spool", "socket"):
            path = os.path.join(self.dir, folder)
            os.makedirs(path, exist_ok=True)
            os.chown(path, uid, gid)
        self.conf = self._write("imapd.conf", IMAPD_CONF.format(
            dir=self.dir, server_name=SERVER_NAME, admin=ADMIN_USER, proxy=MASTER_USER))
        self._write("cyrus.conf", CYRUS_CONF.format(
            libexec=CYRUS_LIBEXEC, dir=self.dir, imapd=CYRUS_IMAPD, host=HOST, port=self.imap_port))
        sasldb = os.path.join(self.dir, "sasldb2")
        accounts = {**self.users, ADMIN_USER: ADMIN_PASSWORD, MASTER_USER: MASTER_PASSWORD.encode()}
        for user, password in accounts.items():
            subprocess.run(["saslpasswd2", "-f", sasldb, "-u", SERVER_NAME, "-p", "-c", user],
                           input=password, check=True, timeout=30, capture_output=True)
        os.chown(sasldb, uid, gid)
        os.chmod(sasldb, 0o640)

    def _write(self, name, text):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, 0o644)
        return path

    def start(self):
        """Starts master, waits for the greeting, creates every user's INBOX."""
        with open(os.path.join(self.dir, "stderr.log"), "wb") as stderr:
            self.proc = subprocess.Popen(
                [CYRUS_MASTER, "-C", self.conf, "-M", os.path.join(self.dir, "cyrus.conf"),
                 "-p", os.path.join(self.dir, "master.pid")],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr,
                start_new_session=True)
        try:
            wait_for_port(self.imap_port, STARTUP_TIMEOUT, self.running, greeting=True)
            admin = self._login(ADMIN_USER, ADMIN_PASSWORD)
            try:
                for user in self.users:
                    typ, data = admin.create(f"user/{user}")
                    if typ != "OK":
                        raise RuntimeError(f"CREATE user/{user}: {data}")
            finally:
                admin.logout()
        except Exception as e:
            self.stop()
            raise RuntimeError(f"cyrus did not start: {e}\n"
                               f"{tail(os.path.join(self.dir, 'stderr.log'))}") from e

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        if self.proc is None:
            return
        try:
            # Master and its imapd children share the session started above.
            os.killpg(self.proc.pid, 15)
            stop_process(self.proc)
        except ProcessLookupError:
            pass
        finally:
            try:
                os.killpg(self.proc.pid, 9)
            except (ProcessLookupError, PermissionError):
                pass
            self.proc = None

    def _login(self, user, password):
        imap = imaplib.IMAP4(HOST, self.imap_port, timeout=IO_TIMEOUT)
        imap.authenticate("PLAIN", lambda _: b"\0" + user.encode() + b"\0" + password)
        return imap

    def connect(self, user):
        """An authenticated imaplib session straight to Cyrus as `user`."""
        return self._login(user, self.users[user])

    def append(self, user, message, mailbox="INBOX"):
        """Seeds a message directly on Cyrus; returns its UID."""
        imap = self.connect(user)
        try:
            typ, data = imap.append(mailbox, None, None, message)
            if typ != "OK":
                raise RuntimeError(f"APPEND failed: {data}")
            match = re.search(rb"APPENDUID \d+ (\d+)", data[0] or b"")
            return int(match.group(1)) if match else None
        finally:
            imap.logout()
