"""Bytes in transit: big FETCH and APPEND byte-identical, IDLE, pipelining."""

import re
import threading
import unittest

from harness import (USERS_A, EnvironmentTestCase, first_literal, make_message, sha256, tagged_status)

ALICE = "alice@abcd.test"
ALICE_PW = USERS_A[ALICE]
BOB1 = "bob1@abcd.test"
MIB = 1024 * 1024


class TransferTest(EnvironmentTestCase):

    def client(self, listener="plain", user=ALICE):
        client = self.env.raw(listener)
        self.addCleanup(client.close)
        client.read_line()
        self.assertEqual(tagged_status(client.login(user, USERS_A[user]), "L1"), "OK")
        return client

    def fetch_direct(self, user, mailbox, uid):
        """The message as the backend stores it, bypassing the proxy."""
        imap = self.env.a.connect(user)
        try:
            imap.select(mailbox, readonly=True)
            typ, data = imap.uid("FETCH", str(uid), "(BODY.PEEK[])")
            self.assertEqual(typ, "OK")
            return data[0][1]
        finally:
            imap.logout()

    def test_20_mib_fetch_is_byte_identical(self):
        message = make_message(20 * MIB, seed=20)
        direct = self.env.a.connect(ALICE)
        direct.create("Big")
        direct.logout()
        uid = self.env.a.append(ALICE, message, "Big")
        for listener in ("plain", "implicit"):
            with self.subTest(listener=listener):
                c = self.client(listener)
                self.assertEqual(tagged_status(c.command("s", "EXAMINE Big"), "s"), "OK")
                lines = c.command("f", f"UID FETCH {uid} (BODY.PEEK[])", timeout=120)
                self.assertEqual(tagged_status(lines, "f"), "OK")
                fetched = first_literal(lines[0])
                self.assertEqual(len(fetched), len(message))
                self.assertEqual(sha256(fetched), sha256(message))

    def append(self, client, mailbox, message, literal_plus):
        client.command("c", f"CREATE {mailbox}")
        marker = "+" if literal_plus else ""
        client.send(f"a APPEND {mailbox} {{{len(message)}{marker}}}\r\n".encode())
        if not literal_plus:
            self.assertTrue(client.read_line().startswith(b"+"))
        client.send(message + b"\r\n")
        lines = client.read_until_tag("a", timeout=120)
        self.assertEqual(tagged_status(lines, "a"), "OK")
        return int(re.search(rb"APPENDUID \d+ (\d+)", lines[-1]).group(1))

    def test_10_mib_append_with_synchronizing_literal(self):
        message = make_message(10 * MIB, seed=101)
        uid = self.append(self.client("implicit"), "SyncAppend", message, literal_plus=False)
        self.assertEqual(sha256(self.fetch_direct(ALICE, "SyncAppend", uid)), sha256(message))

    def test_10_mib_append_with_literal_plus(self):
        message = make_message(10 * MIB, seed=102)
        uid = self.append(self.client("plain"), "PlusAppend", message, literal_plus=True)
        self.assertEqual(sha256(self.fetch_direct(ALICE, "PlusAppend", uid)), sha256(message))

    def test_idle_sees_a_message_appended_by_another_session(self):
        idler = self.client(user=BOB1)
        self.assertEqual(tagged_status(idler.command("s", "SELECT INBOX"), "s"), "OK")
        idler.send(b"i IDLE\r\n")
        self.assertTrue(idler.read_line().startswith(b"+"))
        other = self.client("implicit", user=BOB1)
        message = make_message(4096, seed=7, subject="seen by IDLE")
        result = {}
        appender = threading.Thread(target=lambda: result.update(
            uid=self.append(other, "INBOX", message, literal_plus=True)))
        appender.start()
        appender.join(timeout=30)
        self.assertFalse(appender.is_alive())
        self.assertIn("uid", result)
        seen = []
        for _ in range(10):
            line = idler.read_line(timeout=10)
            seen.append(line)
            if re.match(rb"\* \d+ EXISTS", line):
                break
        self.assertRegex(seen[-1], rb"\* \d+ EXISTS")
        idler.send(b"DONE\r\n")
        self.assertEqual(tagged_status(idler.read_until_tag("i"), "i"), "OK")

    def test_50_pipelined_commands_are_answered_in_order(self):
        c = self.client()
        # Dovecot itself delays NOOP and CHECK past later commands, so the
        # batch uses commands it answers in order. Each leaves its own
        # untagged reply before its tagged OK.
        commands = [("CAPABILITY", b"* CAPABILITY"), ("STATUS INBOX (MESSAGES)", b"* STATUS"),
                    ('LIST "" INBOX', b"* LIST"), ("NAMESPACE", b"* NAMESPACE")]
        tags = [f"p{n:02d}" for n in range(50)]
        batch = "".join(f"{tag} {commands[n % len(commands)][0]}\r\n" for n, tag in enumerate(tags))
        self.assertEqual(tagged_status(c.command("s", "SELECT INBOX"), "s"), "OK")
        c.send(batch.encode())
        answered = []
        untagged = []
        while len(answered) < len(tags):
            line = c.read_line()
            if line.startswith(b"*"):
                untagged.append(line)
                continue
            tag = line.split(b" ")[0].decode()
            answered.append(tag)
            self.assertIn(b" OK", line)
            self.assertIn(tag, tags)
            expected = commands[tags.index(tag) % len(commands)][1]
            self.assertTrue(any(u.upper().startswith(expected) for u in untagged), (tag, untagged))
            untagged = []
        self.assertEqual(answered, tags)

if __name__ == "__main__":
    unittest.main()
