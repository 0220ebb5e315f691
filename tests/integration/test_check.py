"""`imapfront check FILE`: exit 0 on a good config, 1 with file:line:col on
a broken one."""

import re
import subprocess
import unittest

from harness import EnvironmentTestCase, imapfront_bin, requires_proxy, to_yaml


def check(path):
    return subprocess.run([imapfront_bin(), "check", path], capture_output=True, timeout=30)


@requires_proxy
class CheckTest(EnvironmentTestCase):
    with_proxy = False

    def write(self, name, text):
        return self.env.scratch.write(name, text)

    def good_text(self):
        return to_yaml(self.env.config) + "\n"

    def assertPointsAt(self, result, path, line):
        output = (result.stdout + result.stderr).decode(errors="replace")
        self.assertEqual(result.returncode, 1, output)
        self.assertRegex(output, re.escape(f"{path}:{line}:") + r"\d+")

    def test_generated_config_passes(self):
        path = self.write("good.yaml", self.good_text())
        result = check(path)
        self.assertEqual(result.returncode, 0, (result.stdout + result.stderr).decode(errors="replace"))

    def test_invalid_value_is_reported_at_its_line(self):
        lines = self.good_text().splitlines()
        index = next(n for n, line in enumerate(lines) if 'tls: "starttls"' in line)
        lines[index] = lines[index].replace('"starttls"', '"sometimes"')
        path = self.write("bad-value.yaml", "\n".join(lines) + "\n")
        self.assertPointsAt(check(path), path, index + 1)

    def test_unknown_vhost_pool_is_reported_at_its_line(self):
        lines = self.good_text().splitlines()
        index = next(n for n, line in enumerate(lines) if 'pool: "pool-b"' in line)
        lines[index] = lines[index].replace('"pool-b"', '"no-such-pool"')
        path = self.write("bad-pool.yaml", "\n".join(lines) + "\n")
        self.assertPointsAt(check(path), path, index + 1)

    def test_yaml_syntax_error_is_reported_at_its_line(self):
        path = self.write("bad-syntax.yaml", "listeners:\n  - { name: imap, address: [\n")
        result = check(path)
        output = (result.stdout + result.stderr).decode(errors="replace")
        self.assertEqual(result.returncode, 1, output)
        self.assertRegex(output, re.escape(path) + r":\d+:\d+")

    def test_missing_file_fails(self):
        result = check(self.env.scratch.sub("does-not-exist.yaml"))
        self.assertNotEqual(result.returncode, 0)


if __name__ == "__main__":
    unittest.main()
