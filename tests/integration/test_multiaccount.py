"""Multi-account (LISTA, SELECTA) against real servers: Dovecot A (master
login style authzid), Dovecot B (style separator) and a real Cyrus (authzid),
one profile bob = [bob1@abcd.test, bob2@defg.test, bob3@cyrus.test].

Every account's INBOX starts with a message whose subject names its owner, put
there on its own backend, so each check sees which account a session reached.
"""

import os
import re
import select
import signal
import time
import unittest

import cyrus
from harness import (HOST, Environment, EnvironmentTestCase, mailbox_owner, requires_proxy,
                     tagged_status, welcome_message)

PROFILE = ["bob1@abcd.test", "bob2@defg.test", "bob3@cyrus.test"]
PASSWORDS = {"bob1@abcd.test": b"bob1-pw", "bob2@defg.test": b"bob2-pw", "bob3@cyrus.test": b"bob3-pw"}
OUTSIDERS = ["alice@abcd.test", "nobody@nowhere.test", "ALICE@abcd.test", "Dave@DEFG.test"]


def add_cyrus_routes(config, cyrus_port):
    """Cyrus as a third backend for bob3, and master styles that differ per pool."""
    master_file = config["pools"]["pool-a"]["master"]["password_file"]
    config["backends"]["cyrus"] = {"address": f"{HOST}:{cyrus_port}", "tls": "none"}
    config["pools"]["pool-cyrus"] = {
        "servers": ["cyrus"],
        "master": {"user": "proxy", "password_file": master_file, "style": "authzid"}}
    config["pools"]["pool-b"]["master"]["style"] = "separator"
    # Cyrus runs without virtdomains: it knows bob3@cyrus.test as "bob3".
    config["vhosts"]["cyrus.test"] = {"pool": "pool-cyrus", "username": "local"}
    config["profiles"] = {"bob": list(PROFILE)}
    config["multiaccount"] = {"lista_count": "draft", "max_links": 8}


def message(account, tag):
    return (f"From: test@imapfront.test\r\nTo: {account}\r\nSubject: {tag} for {account}\r\n"
            f"Message-ID: <{tag}.{account}>\r\n\r\n{tag}\r\n").encode()


def pending(client, wait):
    """Bytes that arrive within `wait` seconds, without blocking longer."""
    end = time.monotonic() + wait
    while time.monotonic() < end:
        ready, _, _ = select.select([client.sock], [], [], max(end - time.monotonic(), 0))
        if not ready:
            break
        chunk = client.sock.recv(65536)
        if not chunk:
            break
        client.buffer += chunk
    return bytes(client.buffer)


def untagged(lines, tag):
    """The lines before the tagged one."""
    assert lines[-1].startswith(tag.encode() + b" "), lines
    return lines[:-1]


@requires_proxy
class MultiAccountTest(EnvironmentTestCase):
    """Needs root and the Cyrus binaries that tests/run.sh installs."""

    @classmethod
    def setUpClass(cls):
        reason = cyrus.unavailable_reason()
        if reason:
            raise unittest.SkipTest(reason)
        cls.env = Environment()
        cls.addClassCleanup(cls.env.stop)
        cls.cyrus = cyrus.Cyrus(cls.env.scratch, {"bob3": PASSWORDS["bob3@cyrus.test"]})
        cls.env.backends.append(cls.cyrus)  # stopped with the environment
        cls.cyrus.start()
        cls.cyrus.append("bob3", welcome_message("bob3@cyrus.test"))
        cls.env.start(tweak=cls.tweak_config)

    @classmethod
    def tweak_config(cls, config):
        add_cyrus_routes(config, cls.cyrus.imap_port)

    def append_on_backend(self, account, data):
        if account == "bob3@cyrus.test":
            return self.cyrus.append("bob3", data)
        backend = self.env.a if account.endswith("@abcd.test") else self.env.b
        return backend.append(account, data)

    def connect_on_backend(self, account):
        if account == "bob3@cyrus.test":
            return self.cyrus.connect("bob3")
        backend = self.env.a if account.endswith("@abcd.test") else self.env.b
        return backend.connect(account)

    def session(self, account="bob1@abcd.test"):
        client = self.env.raw("plain")
        self.addCleanup(client.close)
        client.read_line()
        reply = client.login(account, PASSWORDS[account])
        self.assertEqual(tagged_status(reply, "L1"), "OK", reply)
        return client

    def selecta(self, client, identity, tag="sa"):
        lines = client.command(tag, b"SELECTA " + identity)
        self.assertEqual(tagged_status(lines, tag), "OK", lines)
        return lines

    # ---------------------------------------------------------------- LISTA

    def test_lista_lists_the_profile_in_config_order_with_count_only_when_unselected(self):
        client = self.session()
        lines = client.command("l1", "LISTA bob2@defg.test")
        self.assertEqual(untagged(lines, "l1"),
                         [b"* 3 EXISTS"] + [b"* LISTA " + m.encode() for m in PROFILE])
        self.assertEqual(tagged_status(lines, "l1"), "OK")
        client.command("s1", "SELECT INBOX")
        lines = client.command("l2", "LISTA bob1@abcd.test")
        self.assertEqual(untagged(lines, "l2"), [b"* LISTA " + m.encode() for m in PROFILE])
        self.assertEqual(tagged_status(lines, "l2"), "OK")

    def test_lista_from_a_cyrus_login_lists_the_same_profile(self):
        client = self.session("bob3@cyrus.test")
        self.assertEqual(mailbox_owner(client), "bob3@cyrus.test")
        lines = client.command("l1", "LISTA bob3@cyrus.test")
        self.assertEqual([line for line in lines if line.startswith(b"* LISTA")],
                         [b"* LISTA " + m.encode() for m in PROFILE])

    def test_lista_refuses_outsiders_and_needs_an_argument(self):
        client = self.session()
        for outsider in OUTSIDERS:
            with self.subTest(outsider=outsider):
                lines = client.command("l1", "LISTA " + outsider)
                self.assertEqual(lines, [lines[-1]], "nothing listed for an outsider")
                self.assertEqual(tagged_status(lines, "l1"), "NO", lines)
        self.assertEqual(tagged_status(client.command("l2", "LISTA"), "l2"), "BAD")
        self.assertEqual(mailbox_owner(client), "bob1@abcd.test")

    # ---------------------------------------------------------------- SELECTA

    def test_selecta_reaches_each_members_own_mailbox(self):
        client = self.session()
        for member in PROFILE[1:] + PROFILE[:1]:
            with self.subTest(member=member):
                lines = self.selecta(client, member.encode())
                self.assertRegex(lines[-1], rb"^sa OK \[CAPABILITY [^\]]*IMAP4rev1")
                client.command("s1", "SELECT INBOX")
                fetched = b"\n".join(client.command("f1", "FETCH 1 BODY.PEEK[HEADER]"))
                self.assertIn(f"Subject: mailbox of {member}".encode(), fetched)

    def test_selecta_back_and_forth_100_times_keeps_the_right_owner(self):
        client = self.session()
        started = time.monotonic()
        for i in range(100):
            member = PROFILE[(i + 1) % len(PROFILE)]
            self.selecta(client, member.encode(), tag=f"x{i}")
            self.assertEqual(mailbox_owner(client), member, f"switch {i}")
        self.assertLess(time.monotonic() - started, 30)
        self.assertTrue(self.env.proxy.running(), "imapfront is not running")

    def test_selecta_select_fetch_pipelined_in_one_write(self):
        client = self.session()
        client.command("e0", "EXAMINE INBOX")  # the switch must deselect first
        for member in ("bob3@cyrus.test", "bob2@defg.test", "bob1@abcd.test"):
            with self.subTest(member=member):
                client.send(f"p1 SELECTA {member}\r\np2 SELECT INBOX\r\np3 FETCH 1 BODY[]\r\n".encode())
                lines = client.read_until_tag("p3")
                tagged = [line.split(b" ", 2)[:2] for line in lines if re.match(rb"^p\d ", line)]
                self.assertEqual(tagged, [[b"p1", b"OK"], [b"p2", b"OK"], [b"p3", b"OK"]], lines)
                self.assertIn(f"Welcome, {member}.".encode(), b"\n".join(lines))
                before_switch = lines[:[line[:3] for line in lines].index(b"p1 ")]
                self.assertIn(b"* OK [CLOSED] Previous mailbox closed", before_switch)

    def test_selecta_accepts_other_spellings_of_a_member(self):
        client = self.session()
        spellings = [(b"BOB3@CYRUS.TEST", "bob3@cyrus.test"),
                     (b'"bob2@defg.test"', "bob2@defg.test"),
                     (b"Bob1@Abcd.Test", "bob1@abcd.test")]
        for spelling, member in spellings:
            with self.subTest(spelling=spelling):
                self.selecta(client, spelling)
                self.assertEqual(mailbox_owner(client), member)
        with self.subTest(spelling="literal"):
            client.send(b"lit SELECTA {15}\r\n")
            self.assertTrue(client.read_line().startswith(b"+"))
            client.send(b"bob3@cyrus.test\r\n")
            self.assertEqual(tagged_status(client.read_until_tag("lit"), "lit"), "OK")
            self.assertEqual(mailbox_owner(client), "bob3@cyrus.test")

    def test_selecta_refuses_outsiders_and_keeps_the_session(self):
        client = self.session()
        for outsider in OUTSIDERS:
            with self.subTest(outsider=outsider):
                lines = client.command("s1", "SELECTA " + outsider)
                self.assertEqual(tagged_status(lines, "s1"), "NO", lines)
        self.assertEqual(tagged_status(client.command("s2", "SELECTA"), "s2"), "BAD")
        self.assertEqual(mailbox_owner(client), "bob1@abcd.test")

    def test_deleted_message_survives_selecta(self):
        for member in ("bob2@defg.test", "bob3@cyrus.test"):
            with self.subTest(member=member):
                uid = self.append_on_backend(member, message(member, "delete-me"))
                client = self.session()
                self.selecta(client, member.encode())
                client.command("s1", "SELECT INBOX")
                stored = client.command("st", f"UID STORE {uid} +FLAGS.SILENT (\\Deleted)")
                self.assertEqual(tagged_status(stored, "st"), "OK", stored)
                lines = self.selecta(client, b"bob1@abcd.test")
                self.assertNotIn(b"EXPUNGE", b"\n".join(lines))
                direct = self.connect_on_backend(member)
                try:
                    direct.select("INBOX", readonly=True)
                    typ, data = direct.uid("FETCH", str(uid), "(FLAGS)")
                    self.assertEqual(typ, "OK")
                    self.assertIn(b"\\Deleted", data[0] or b"", f"message {uid} of {member}: {data}")
                finally:
                    direct.logout()

    def condstore_signs(self, client):
        """Whether SELECT reports HIGHESTMODSEQ and a flag change reports MODSEQ."""
        selected = b"\n".join(client.command("s1", "SELECT INBOX"))
        stored = b"\n".join(client.command("f1", "STORE 1 +FLAGS (\\Flagged)"))
        client.command("f2", "STORE 1 -FLAGS (\\Flagged)")
        return b"HIGHESTMODSEQ" in selected, b"MODSEQ" in stored

    def test_enable_condstore_applies_after_selecta_to_a_new_link(self):
        for member in ("bob2@defg.test", "bob3@cyrus.test"):
            with self.subTest(member=member):
                client = self.session()
                enabled = client.command("en", "ENABLE CONDSTORE")
                self.assertIn(b"* ENABLED CONDSTORE", b"\n".join(enabled))
                self.selecta(client, member.encode())
                self.assertEqual(self.condstore_signs(client), (True, True))

    def test_without_enable_a_flag_change_has_no_modseq(self):
        """The control of the test above: MODSEQ comes from the replayed ENABLE."""
        for member in ("bob2@defg.test", "bob3@cyrus.test"):
            with self.subTest(member=member):
                client = self.session()
                self.selecta(client, member.encode())
                self.assertFalse(self.condstore_signs(client)[1])

    def test_idle_sees_the_active_backend_only(self):
        for active, inactive in (("bob2@defg.test", "bob3@cyrus.test"),
                                 ("bob3@cyrus.test", "bob2@defg.test")):
            with self.subTest(active=active):
                client = self.session()
                # Open links to every member, with INBOX once selected on each.
                for member in (inactive, active):
                    self.selecta(client, member.encode())
                    client.command("s1", "SELECT INBOX")
                client.send(b"i1 IDLE\r\n")
                self.assertTrue(client.read_line().startswith(b"+"))
                for other in (inactive, "bob1@abcd.test"):
                    self.append_on_backend(other, message(other, "idle-elsewhere"))
                # Cyrus notices new mail by polling every second (imapidlepoll).
                self.assertNotIn(b"EXISTS", pending(client, 2.5),
                                 "an inactive backend's update reached the client")
                self.append_on_backend(active, message(active, "idle-here"))
                deadline = time.monotonic() + 5
                while b"EXISTS" not in client.buffer and time.monotonic() < deadline:
                    pending(client, 0.2)
                self.assertRegex(bytes(client.buffer), rb"\* \d+ EXISTS")
                client.buffer.clear()
                client.send(b"DONE\r\n")
                self.assertEqual(tagged_status(client.read_until_tag("i1"), "i1"), "OK")

    # ---------------------------------------------------------------- login

    def test_primary_login_stays_pass_through(self):
        for member in PROFILE:
            with self.subTest(member=member):
                client = self.env.raw("plain")
                client.read_line()
                reply = client.login(member, b"wrong-" + PASSWORDS[member])
                client.close()
                self.assertEqual(tagged_status(reply, "L1"), "NO", reply)


def _kill_group(backend):
    """Drops every connection of a Dovecot at once, with no BYE."""
    os.killpg(backend.proc.pid, signal.SIGKILL)


@requires_proxy
class BackendLossTest(EnvironmentTestCase):
    """Backends killed on purpose: Dovecots of their own, one pair per test."""

    PAIRS = {"inactive": ("kim1@killc.test", "kim2@killd.test"),
             "active": ("lee1@kille.test", "lee2@killf.test")}

    @classmethod
    def setUpClass(cls):
        cls.env = Environment()
        cls.addClassCleanup(cls.env.stop)
        cls.env.start(with_proxy=False)
        cls.extra = {}
        config = cls.env.config
        master = config["pools"]["pool-a"]["master"]
        for members in cls.PAIRS.values():
            for identity in members:
                domain = identity.split("@")[1]
                backend = cls.env.add_backend(domain, {identity: b"pw"})
                backend.append(identity, welcome_message(identity))
                cls.extra[identity] = backend
                config["backends"][domain] = {"address": f"{HOST}:{backend.imap_port}", "tls": "none"}
                config["pools"][domain] = {"servers": [domain], "master": dict(master)}
                config["vhosts"][domain] = {"pool": domain}
            config["profiles"][members[0].split("@")[0][:3]] = list(members)
        cls.env.proxy = cls.env.start_proxy(config)

    def session_on(self, first, second):
        client = self.env.raw("plain")
        self.addCleanup(client.close)
        client.read_line()
        self.assertEqual(tagged_status(client.login(first, b"pw"), "L1"), "OK")
        self.assertEqual(tagged_status(client.command("s1", f"SELECTA {second}"), "s1"), "OK")
        self.assertEqual(mailbox_owner(client), second)
        return client

    def test_killing_the_inactive_backend_leaves_the_session_working(self):
        first, second = self.PAIRS["inactive"]
        client = self.session_on(first, second)
        _kill_group(self.extra[first])
        time.sleep(0.3)
        self.assertEqual(mailbox_owner(client), second)
        self.assertEqual(tagged_status(client.command("n1", "NOOP"), "n1"), "OK")
        lines = client.command("s2", f"SELECTA {first}")
        self.assertEqual(tagged_status(lines, "s2"), "NO", lines)
        self.assertEqual(mailbox_owner(client), second)
        self.assertTrue(self.env.proxy.running(), "imapfront is not running")

    def test_killing_the_active_backend_gives_bye_within_a_second(self):
        first, second = self.PAIRS["active"]
        client = self.session_on(first, second)
        client.command("s2", "SELECT INBOX")
        killed = time.monotonic()
        _kill_group(self.extra[second])
        rest = client.read_to_eof(timeout=1.0)
        self.assertLess(time.monotonic() - killed, 1.0)
        self.assertIn(b"* BYE", rest)
        self.assertTrue(self.env.proxy.running(), "imapfront is not running")


if __name__ == "__main__":
    unittest.main()
