"""Security: multi-account reaches only the logged-in person's profile, VHOST
cannot open another domain's mailbox, plaintext logins are refused before TLS
where configured, secrets appear in no log line and no response, and a master
password file readable by others is refused."""

import base64
import subprocess
import unittest

from harness import (HOST, MASTER_PASSWORD, QUOTED_PASSWORD, SPECIAL_PASSWORD, USERS_A, USERS_B,
                     EnvironmentTestCase, free_port, imapfront_bin, mailbox_owner, requires_proxy,
                     tagged_status, to_yaml)

BOB1, BOB2 = "bob1@abcd.test", "bob2@defg.test"
ALICE, DAVE = "alice@abcd.test", "dave@defg.test"
PASSWORDS = {**USERS_A, **USERS_B}


class Recorder:
    """Keeps every byte a client received, for the search for secrets."""

    def __init__(self):
        self.received = []

    def keep(self, lines):
        self.received.extend(lines)
        return lines


@requires_proxy
class ProfileIsolationTest(EnvironmentTestCase):

    def session(self, user, listener="plain"):
        client = self.env.raw(listener)
        self.addCleanup(client.close)
        client.read_line()
        self.assertEqual(tagged_status(client.login(user, PASSWORDS[user]), "L1"), "OK")
        return client

    def outsider_spellings(self):
        """Identities of another profile (or none), in every spelling a
        client can use: atom, other case, quoted, literal, master syntax."""
        plain = [ALICE, "ALICE@ABCD.TEST", "Alice@Abcd.Test", DAVE, "DAVE@defg.TEST",
                 "carol@abcd.test", "alice", "bob2", "bob1@abcd.test*proxy", "alice@abcd.test*proxy"]
        spellings = [name.encode() for name in plain]
        spellings += [b'"' + name.encode() + b'"' for name in (ALICE, "aLiCe@abcd.test", DAVE)]
        spellings += [b'"alice@abcd.test\\"', b'"alice\\@abcd.test"', b'"alice@abcd.test "',
                      b'" alice@abcd.test"', b"alice@abcd.test.", b'"alice@abcd.test\\\\"']
        return spellings

    def literal_command(self, client, tag, command, value):
        client.send(f"{tag} {command} {{{len(value)}}}\r\n".encode())
        first = client.read_line()
        if not first.startswith(b"+"):
            return [first]
        client.send(value + b"\r\n")
        return client.read_until_tag(tag)

    def test_selecta_and_lista_reach_only_the_own_profile(self):
        client = self.session(BOB1)
        for spelling in self.outsider_spellings():
            for command in ("SELECTA", "LISTA"):
                with self.subTest(command=command, spelling=spelling):
                    lines = client.command("x", command.encode() + b" " + spelling)
                    self.assertEqual(len(lines), 1, f"{command} listed or said something: {lines}")
                    self.assertIn(tagged_status(lines, "x"), ("NO", "BAD"), lines)
                    bare = spelling.strip(b'"')
                    lines = self.literal_command(client, "y", command, bare)
                    self.assertEqual(tagged_status(lines, "y"), "NO", lines)
                    self.assertEqual(len(lines), 1, lines)
        self.assertEqual(mailbox_owner(client), BOB1)
        # The control: the profile's own member is reachable in every spelling.
        for spelling in (b"BOB2@DEFG.TEST", b'"bob2@defg.test"'):
            with self.subTest(member=spelling):
                self.assertEqual(tagged_status(client.command("m", b"SELECTA " + spelling), "m"), "OK")
                self.assertEqual(mailbox_owner(client), BOB2)
                self.assertEqual(tagged_status(client.command("b", "SELECTA bob1@abcd.test"), "b"), "OK")

    def test_an_identity_without_profile_reaches_no_one(self):
        client = self.session(ALICE)
        # "*" is no atom character: the master-user spelling is BAD syntax.
        for target in (BOB1, BOB2, DAVE, '"ALICE@ABCD.TEST*proxy"'):
            with self.subTest(target=target):
                self.assertEqual(tagged_status(client.command("s", f"SELECTA {target}"), "s"), "NO")
                lines = client.command("l", f"LISTA {target}")
                self.assertEqual(lines, [lines[-1]])
                self.assertEqual(tagged_status(lines, "l"), "NO")
        lines = client.command("l", f"LISTA {ALICE}")
        self.assertEqual([line for line in lines if line.startswith(b"* LISTA")],
                         [b"* LISTA " + ALICE.encode()])
        self.assertEqual(mailbox_owner(client), ALICE)

    def test_a_failed_login_grants_no_profile(self):
        client = self.env.raw("plain")
        self.addCleanup(client.close)
        client.read_line()
        self.assertEqual(tagged_status(client.login(BOB1, b"wrong"), "L1"), "NO")
        for command in (f"SELECTA {BOB2}", f"LISTA {BOB1}"):
            with self.subTest(command=command):
                self.assertEqual(client.command("s", command), [b"s BAD Command not valid before login"])


@requires_proxy
class VhostIsolationTest(EnvironmentTestCase):

    def client(self, listener="plain", server_hostname=None):
        client = self.env.raw(listener, server_hostname=server_hostname)
        self.addCleanup(client.close)
        client.read_line()
        return client

    def test_vhost_binds_the_session_to_its_domain(self):
        cases = [("defg.test", ALICE), ("abcd.test", DAVE), ("imap.defg.test", ALICE),
                 ("DEFG.TEST", "ALICE@ABCD.TEST")]
        for vhost, user in cases:
            with self.subTest(vhost=vhost, user=user):
                client = self.client()
                self.assertEqual(client.command("v", f"VHOST {vhost}"), [b"v OK VHOST completed"])
                lines = client.login(user, PASSWORDS[user.lower()])
                self.assertEqual(lines, [b"L1 NO [AUTHENTICATIONFAILED] Authentication failed."])

    def test_vhost_then_a_bare_name_stays_in_the_vhost(self):
        client = self.client()
        self.assertEqual(client.command("v", "VHOST defg.test"), [b"v OK VHOST completed"])
        # alice exists only in abcd.test: as alice@defg.test she is no one.
        self.assertEqual(tagged_status(client.login("alice", PASSWORDS[ALICE]), "L1"), "NO")
        self.assertEqual(tagged_status(client.login("dave", PASSWORDS[DAVE]), "L1"), "OK")
        self.assertEqual(mailbox_owner(client), DAVE)

    def test_sni_of_one_domain_does_not_stop_vhost_binding(self):
        client = self.client("implicit", server_hostname="imap.abcd.test")
        self.assertEqual(client.command("v", "VHOST defg.test"), [b"v OK VHOST completed"])
        self.assertEqual(tagged_status(client.login(ALICE, PASSWORDS[ALICE]), "L1"), "NO")

    def test_vhost_after_login_is_refused(self):
        client = self.client()
        self.assertEqual(tagged_status(client.login(ALICE, PASSWORDS[ALICE]), "L1"), "OK")
        self.assertEqual(tagged_status(client.command("v", "VHOST defg.test"), "v"), "BAD")
        self.assertEqual(mailbox_owner(client), ALICE)

    def test_authzid_of_another_user_is_refused(self):
        client = self.client()
        blob = base64.b64encode(f"{DAVE}\0{ALICE}\0".encode() + PASSWORDS[ALICE]).decode()
        lines = client.command("a", f"AUTHENTICATE PLAIN {blob}")
        self.assertEqual(lines, [b"a NO [AUTHENTICATIONFAILED] Authentication failed."])


@requires_proxy
class PlaintextTest(EnvironmentTestCase):

    def client(self, listener):
        client = self.env.raw(listener)
        self.addCleanup(client.close)
        greeting = client.read_line()
        return client, greeting

    def test_no_login_before_tls_where_plaintext_is_not_allowed(self):
        for listener in ("plain_refused", "starttls"):
            with self.subTest(listener=listener):
                client, greeting = self.client(listener)
                self.assertIn(b"LOGINDISABLED", greeting)
                self.assertNotIn(b"AUTH=", greeting)
                privacy = b" NO [PRIVACYREQUIRED] Plaintext authentication disallowed without TLS"
                self.assertEqual(client.command("a", f"LOGIN {ALICE} alice-pw"), [b"a" + privacy])
                blob = base64.b64encode(f"\0{ALICE}\0alice-pw".encode()).decode()
                self.assertEqual(client.command("b", f"AUTHENTICATE PLAIN {blob}"), [b"b" + privacy])
                self.assertEqual(client.command("c", "AUTHENTICATE LOGIN"), [b"c" + privacy])
                self.assertEqual(client.command("s", "SELECT INBOX"),
                                 [b"s BAD Command not valid before login"])

    def test_starttls_then_login_is_allowed(self):
        client, _ = self.client("starttls")
        self.assertEqual(client.command("t", "STARTTLS"), [b"t OK Begin TLS negotiation now"])
        client.start_tls(self.env.ca.client_context())
        caps = client.command("c", "CAPABILITY")
        self.assertNotIn(b"LOGINDISABLED", caps[0])
        self.assertEqual(tagged_status(client.login(ALICE, PASSWORDS[ALICE]), "L1"), "OK")


@requires_proxy
class SecretsTest(EnvironmentTestCase):
    """Logins of every kind, good and bad, then a search of the debug log and
    of every byte the clients got for the passwords and their encodings."""

    def client(self, recorder, listener="plain"):
        client = self.env.raw(listener)
        self.addCleanup(client.close)
        recorder.keep([client.read_line()])
        return client

    def exercise(self):
        recorder = Recorder()
        for user, password in sorted(PASSWORDS.items()):
            client = self.client(recorder, "implicit")
            recorder.keep(client.login(user, password))
            recorder.keep(client.command("c", "CAPABILITY"))
            recorder.keep(client.command("x", "LOGOUT"))
            client = self.client(recorder)
            blob = base64.b64encode(b"\0" + user.encode() + b"\0" + password).decode()
            recorder.keep(client.command("a", f"AUTHENTICATE PLAIN {blob}"))
            wrong = base64.b64encode(b"\0" + user.encode() + b"\0" + password + b"x").decode()
            client = self.client(recorder)
            recorder.keep(client.command("w", f"AUTHENTICATE PLAIN {wrong}"))
            recorder.keep(client.login(user, password + b"x"))
        client = self.client(recorder)
        recorder.keep(client.login(BOB1, PASSWORDS[BOB1]))
        recorder.keep(client.command("s", f"SELECTA {BOB2}"))
        recorder.keep(client.command("i", "SELECT INBOX"))
        recorder.keep(client.command("l", f"LISTA {BOB1}"))
        recorder.keep(client.command("x", "LOGOUT"))
        # A mistyped master login from a client must not echo anything either.
        client = self.client(recorder)
        recorder.keep(client.command("m", f'LOGIN "{BOB2}*proxy" "{MASTER_PASSWORD}"'))
        client.close()
        return b"\n".join(recorder.received)

    def secrets(self):
        found = {}
        for user, password in PASSWORDS.items():
            found[f"password of {user}"] = password
            found[f"PLAIN blob of {user}"] = base64.b64encode(b"\0" + user.encode() + b"\0" + password)
        found["master password"] = MASTER_PASSWORD.encode()
        found["master PLAIN blob"] = base64.b64encode(f"{BOB2}\0proxy\0{MASTER_PASSWORD}".encode())
        found["quoted special password"] = QUOTED_PASSWORD.replace(b"\\", b"\\\\").replace(b'"', b'\\"')
        found["special password as latin-1"] = SPECIAL_PASSWORD.decode("utf-8").encode("latin-1")
        return found

    def test_no_secret_in_the_log_or_in_any_response(self):
        responses = self.exercise()
        self.assertIn(b"L1 OK", responses, "the exercise logged no one in")
        with open(self.env.proxy.log, "rb") as f:
            log = f.read()
        with open(self.env.proxy.stderr, "rb") as f:
            log += f.read()
        self.assertIn(b"login", log, "the log is empty: nothing was searched")
        for what, secret in self.secrets().items():
            with self.subTest(secret=what):
                self.assertNotIn(secret, log, f"{what} is in imapfront's log")
                self.assertNotIn(secret, responses, f"{what} reached a client")


@requires_proxy
class MasterPasswordFileTest(EnvironmentTestCase):
    """A master password file that group or others can read is refused by
    `imapfront check` and at startup, naming the file and the fix."""

    def config_with_open_secret(self, mode):
        config = dict(self.env.config)
        secret = self.env.scratch.write(f"open-master-{mode:o}", MASTER_PASSWORD + "\n", mode)
        pools = {name: dict(pool) for name, pool in config["pools"].items()}
        pools["pool-b"]["master"] = dict(pools["pool-b"]["master"], password_file=secret)
        config["pools"] = pools
        config.pop("admin", None)
        # Ports of its own: should it start, it must not share the running proxy's.
        config["listeners"] = [dict(listener, address=f"{HOST}:{free_port()}")
                               for listener in config["listeners"]]
        path = self.env.scratch.write(f"open-secret-{mode:o}.yaml", to_yaml(config) + "\n")
        return path, secret

    def assertRefused(self, result, secret):
        output = (result.stdout + result.stderr).decode("utf-8", "replace")
        self.assertNotEqual(result.returncode, 0, output)
        self.assertIn(secret, output)
        self.assertIn("readable by group or others", output)
        self.assertIn(f"chmod 600 {secret}", output)
        self.assertNotIn(MASTER_PASSWORD, output)

    def test_check_refuses_a_master_password_file_readable_by_others(self):
        for mode in (0o644, 0o640, 0o604):
            with self.subTest(mode=oct(mode)):
                path, secret = self.config_with_open_secret(mode)
                result = subprocess.run([imapfront_bin(), "check", path], capture_output=True, timeout=30)
                self.assertRefused(result, secret)

    def test_check_accepts_the_same_file_private(self):
        path, secret = self.config_with_open_secret(0o600)
        result = subprocess.run([imapfront_bin(), "check", path], capture_output=True, timeout=30)
        self.assertEqual(result.returncode, 0, (result.stdout + result.stderr).decode())

    def test_startup_refuses_a_master_password_file_readable_by_others(self):
        path, secret = self.config_with_open_secret(0o644)
        try:
            result = subprocess.run([imapfront_bin(), "--config", path], capture_output=True, timeout=15)
        except subprocess.TimeoutExpired:
            self.fail("imapfront started with a master password file readable by others")
        self.assertRefused(result, secret)


if __name__ == "__main__":
    unittest.main()
