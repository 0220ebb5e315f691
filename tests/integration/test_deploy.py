"""deploy/: the Kubernetes manifests parse and agree with the routing YAML
they carry (ports, probes, secrets, drain time), the Dockerfile agrees with
them, and every example routing YAML passes `imapfront check`."""

import os
import re
import shlex
import shutil
import stat
import subprocess
import tempfile
import unittest

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
DEPLOY = os.path.join(REPO, "deploy")
KUBERNETES = os.path.join(DEPLOY, "kubernetes")
TEST_TLS = os.path.join(REPO, "tests", "data", "tls")
SHAPES = ("sidecar", "standalone")
ROUTING_FILE = "imapfront.yaml"
CHECK_TIMEOUT = 30


def imapfront_bin():
    path = os.environ.get("IMAPFRONT_BIN") or os.path.join(REPO, "build", "imapfront")
    return os.path.abspath(path)


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def shape_dir(shape):
    return os.path.join(KUBERNETES, shape)


def manifest_files(shape):
    """The Kubernetes objects of one deploy shape (not the routing YAML)."""
    folder = shape_dir(shape)
    return sorted(name for name in os.listdir(folder)
                  if name.endswith(".yaml") and name not in (ROUTING_FILE, "kustomization.yaml"))


def objects(shape):
    found = []
    for name in manifest_files(shape):
        found.extend(doc for doc in yaml.safe_load_all(read(os.path.join(shape_dir(shape), name))) if doc)
    return found


def one(shape, kind, name=None):
    matches = [o for o in objects(shape)
               if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)]
    if len(matches) != 1:
        raise AssertionError(f"{shape}: expected one {kind} {name or ''}, found {len(matches)}")
    return matches[0]


def pod_spec(shape):
    return one(shape, "Deployment")["spec"]["template"]["spec"]


def container(spec, name):
    return next(c for c in spec["containers"] if c["name"] == name)


def volumes(spec):
    return {v["name"]: v for v in spec["volumes"]}


def config_arg(app):
    args = app.get("args", [])
    return args[args.index("--config") + 1]


def configmap_of_config(shape):
    """The ConfigMap that the imapfront container's --config file comes from."""
    spec = pod_spec(shape)
    app = container(spec, "imapfront")
    folder = os.path.dirname(config_arg(app))
    mount = next(m for m in app["volumeMounts"] if m["mountPath"] == folder)
    return one(shape, "ConfigMap", volumes(spec)[mount["name"]]["configMap"]["name"]), mount


def embedded_config_text(shape):
    configmap, _ = configmap_of_config(shape)
    return configmap["data"][ROUTING_FILE]


def embedded_config(shape):
    return yaml.safe_load(embedded_config_text(shape))


def port_of(address):
    return int(address.rsplit(":", 1)[1])


def seconds(duration):
    match = re.fullmatch(r"(\d+)(ms|s|m|h)", str(duration))
    if not match:
        raise AssertionError(f"not a duration: {duration!r}")
    scale = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[match.group(2)]
    return int(match.group(1)) * scale


def container_port(app, port):
    """A probe's or Service's port, by number or by the container port's name."""
    if isinstance(port, int):
        return port
    return next(p["containerPort"] for p in app["ports"] if p.get("name") == port)


def parse_install(command):
    """`install -m MODE -o UID -g GID [-t DIR] SRC... [DEST]` -> options, {dest: src}."""
    if command[0] != "install":
        raise AssertionError(f"expected an install command, got {command}")
    options, operands, args = {}, [], list(command[1:])
    while args:
        arg = args.pop(0)
        if arg in ("-m", "-o", "-g", "-t"):
            options[arg] = args.pop(0)
        else:
            operands.append(arg)
    if "-t" in options:
        copies = {os.path.join(options["-t"], os.path.basename(s)): s for s in operands}
    else:
        copies = {operands[-1]: operands[0]}
    return options, copies


def mount_for(spec_container, path):
    """The volume mount holding `path` in a container."""
    folder = os.path.dirname(path)
    return next((m for m in spec_container.get("volumeMounts", []) if m["mountPath"] == folder), None)


def secret_keys(secret):
    return set(secret.get("stringData", {})) | set(secret.get("data", {}))


def password_files(config):
    return [pool["master"]["password_file"] for pool in config["pools"].values()
            if "password_file" in pool.get("master", {})]


class ManifestsTest(unittest.TestCase):
    def test_every_file_parses_as_yaml(self):
        count = 0
        for folder, _, names in os.walk(KUBERNETES):
            for name in names:
                self.assertTrue(name.endswith(".yaml"), name)
                docs = [d for d in yaml.safe_load_all(read(os.path.join(folder, name))) if d]
                self.assertTrue(docs, name)
                count += 1
        self.assertGreaterEqual(count, 2 * 5)

    def test_every_object_names_its_kind(self):
        for shape in SHAPES:
            for obj in objects(shape):
                with self.subTest(shape=shape, obj=obj.get("metadata", {}).get("name")):
                    self.assertIn("apiVersion", obj)
                    self.assertIn("kind", obj)
                    self.assertTrue(obj["metadata"]["name"])

    def test_kustomization_lists_every_manifest(self):
        for shape in SHAPES:
            with self.subTest(shape=shape):
                kustomization = yaml.safe_load(read(os.path.join(shape_dir(shape), "kustomization.yaml")))
                self.assertEqual(sorted(kustomization["resources"]), manifest_files(shape))

    def test_configmap_carries_the_routing_file_byte_for_byte(self):
        for shape in SHAPES:
            with self.subTest(shape=shape):
                self.assertEqual(embedded_config_text(shape), read(os.path.join(shape_dir(shape), ROUTING_FILE)))

    def test_config_is_mounted_as_a_folder_so_updates_reach_it(self):
        for shape in SHAPES:
            with self.subTest(shape=shape):
                _, mount = configmap_of_config(shape)
                self.assertNotIn("subPath", mount, "a subPath mount never sees ConfigMap updates")
                self.assertEqual(os.path.basename(config_arg(container(pod_spec(shape), "imapfront"))),
                                 ROUTING_FILE)

    def test_sidecar_dovecot_gets_the_example_master_user_settings(self):
        dovecot = one("sidecar", "ConfigMap", "dovecot-config")
        self.assertEqual(dovecot["data"]["imapfront.conf"],
                         read(os.path.join(DEPLOY, "backends", "dovecot-master-user.conf")))
        self.assertIn("!include /etc/dovecot/imapfront.conf", dovecot["data"]["dovecot.conf"])

    def test_sidecar_backend_is_the_dovecot_beside_it(self):
        config = embedded_config("sidecar")
        dovecot_conf = one("sidecar", "ConfigMap", "dovecot-config")["data"]["dovecot.conf"]
        for backend in config["backends"].values():
            self.assertEqual(backend["address"], "127.0.0.1:10143")
        self.assertRegex(dovecot_conf, r"address = 127\.0\.0\.1\s+port = 10143")

    def test_container_ports_match_the_listeners_and_admin(self):
        for shape in SHAPES:
            with self.subTest(shape=shape):
                config = embedded_config(shape)
                app = container(pod_spec(shape), "imapfront")
                declared = {p["containerPort"] for p in app["ports"]}
                wanted = {port_of(listener["address"]) for listener in config["listeners"]}
                wanted.add(port_of(config["admin"]["address"]))
                self.assertEqual(declared, wanted)

    def test_probes_hit_healthz_and_readyz_on_the_admin_port(self):
        for shape in SHAPES:
            with self.subTest(shape=shape):
                config = embedded_config(shape)
                admin = config["admin"]["address"]
                # The kubelet probes the Pod IP, not the container's loopback.
                self.assertTrue(admin.startswith("0.0.0.0:"), admin)
                app = container(pod_spec(shape), "imapfront")
                for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
                    get = app[probe]["httpGet"]
                    self.assertEqual(get["path"], path)
                    self.assertEqual(container_port(app, get["port"]), port_of(admin))

    def test_grace_period_outlasts_prestop_and_drain(self):
        for shape in SHAPES:
            with self.subTest(shape=shape):
                spec = pod_spec(shape)
                drain = seconds(embedded_config(shape)["limits"]["drain_timeout"])
                pre_stop = container(spec, "imapfront")["lifecycle"]["preStop"]["exec"]["command"]
                self.assertEqual(pre_stop[0], "sleep")
                self.assertGreater(int(pre_stop[1]), 0)
                self.assertGreater(spec["terminationGracePeriodSeconds"], drain + int(pre_stop[1]))

    def test_service_sends_imap_to_the_listeners(self):
        for shape in SHAPES:
            with self.subTest(shape=shape):
                service = one(shape, "Service")
                deployment = one(shape, "Deployment")
                labels = deployment["spec"]["template"]["metadata"]["labels"]
                self.assertLessEqual(service["spec"]["selector"].items(), labels.items())
                app = container(pod_spec(shape), "imapfront")
                listeners = {port_of(l["address"]) for l in embedded_config(shape)["listeners"]}
                targets = {container_port(app, p["targetPort"]) for p in service["spec"]["ports"]}
                self.assertEqual(targets, listeners)

    def test_master_password_travels_from_secret_to_password_file(self):
        for shape in SHAPES:
            spec = pod_spec(shape)
            app = container(spec, "imapfront")
            uid = app["securityContext"]["runAsUser"]
            self.assertNotEqual(uid, 0)
            for path in password_files(embedded_config(shape)):
                with self.subTest(shape=shape, password_file=path):
                    self.assert_secret_copied_to(shape, spec, uid, path)

    def assert_secret_copied_to(self, shape, spec, uid, path):
        app_mount = mount_for(container(spec, "imapfront"), path)
        self.assertIsNotNone(app_mount, f"no volume mounted at {os.path.dirname(path)}")
        self.assertTrue(app_mount.get("readOnly"))
        volume = volumes(spec)[app_mount["name"]]
        self.assertIn("emptyDir", volume)
        writers = [c for c in spec.get("initContainers", [])
                   if any(m["name"] == volume["name"] for m in c["volumeMounts"])]
        self.assertEqual(len(writers), 1)
        init = writers[0]
        options, copies = parse_install(init["command"])
        self.assertEqual(options["-m"], "0400")
        self.assertEqual(options["-o"], str(uid))
        source = copies.get(path)
        self.assertIsNotNone(source, f"{path} is not written by {shlex.join(init['command'])}")
        # The init container sees the same folder at the same path.
        self.assertEqual(mount_for(init, path)["name"], volume["name"])
        secret_mount = mount_for(init, source)
        secret_volume = volumes(spec)[secret_mount["name"]]["secret"]
        self.assertEqual(secret_volume["defaultMode"], 0o400)
        secret = one(shape, "Secret", secret_volume["secretName"])
        self.assertIn(os.path.basename(source), secret_keys(secret))

    def test_containers_run_as_the_image_user(self):
        image_uid = int(re.search(r"^USER (\d+)", read(os.path.join(DEPLOY, "Dockerfile")), re.M).group(1))
        for shape in SHAPES:
            with self.subTest(shape=shape):
                security = container(pod_spec(shape), "imapfront")["securityContext"]
                self.assertEqual(security["runAsUser"], image_uid)
                self.assertTrue(security["runAsNonRoot"])


class DockerfileTest(unittest.TestCase):
    def setUp(self):
        self.text = read(os.path.join(DEPLOY, "Dockerfile"))
        # One instruction per logical line.
        self.lines = [line.strip() for line in self.text.replace("\\\n", " ").splitlines()
                      if line.strip() and not line.lstrip().startswith("#")]

    def instructions(self, name):
        return [line[len(name) + 1:] for line in self.lines if line.split()[0] == name]

    def test_builds_on_bookworm_and_runs_on_slim(self):
        stages = self.instructions("FROM")
        self.assertEqual(len(stages), 2)
        self.assertRegex(stages[0], r"^debian:bookworm AS \w+$")
        self.assertEqual(stages[1], "debian:bookworm-slim")

    def test_runtime_installs_only_runtime_libraries(self):
        runtime = self.text.split("FROM debian:bookworm-slim", 1)[1].replace("\\\n", " ")
        installed = set()
        for command in re.findall(r"apt-get install ([^&\n]*)", runtime):
            installed |= {word for word in command.split() if not word.startswith("-")}
        self.assertEqual(installed, {"libuv1", "libssl3", "libyaml-cpp0.7", "ca-certificates"})

    def test_runs_as_non_root_and_exposes_the_ports(self):
        user = self.instructions("USER")[-1]
        self.assertNotIn(user.split(":")[0], ("0", "root"))
        self.assertEqual(set(self.instructions("EXPOSE")[0].split()), {"143", "993", "9143"})

    def test_healthcheck_asks_the_admin_endpoint(self):
        healthcheck = self.instructions("HEALTHCHECK")[0]
        self.assertIn("/healthz", healthcheck)
        self.assertIn("/9143", healthcheck)
        for shape in SHAPES:
            self.assertEqual(port_of(embedded_config(shape)["admin"]["address"]), 9143)


class ExampleConfigCheckTest(unittest.TestCase):
    """`imapfront check` on each example, with the files it names placed in a
    scratch root: the test PKI for certificates, dummy passwords mode 0600."""

    def setUp(self):
        self.root = tempfile.mkdtemp(prefix="imapfront-deploy-")
        self.addCleanup(shutil.rmtree, self.root)

    def place(self, path, source=None, text=None):
        target = self.root + path
        os.makedirs(os.path.dirname(target), exist_ok=True)
        if source:
            shutil.copyfile(source, target)
        else:
            with open(target, "w", encoding="utf-8") as f:
                f.write(text)
        os.chmod(target, stat.S_IRUSR | stat.S_IWUSR)
        return target

    def rooted_config(self, text, config_path):
        config = yaml.safe_load(text)
        files = {}
        for certificate in config.get("tls", {}).get("certificates", []):
            files[certificate["cert"]] = os.path.join(TEST_TLS, "abcd.pem")
            files[certificate["key"]] = os.path.join(TEST_TLS, "abcd.key")
        for backend in config.get("backends", {}).values():
            if "ca" in backend:
                files[backend["ca"]] = os.path.join(TEST_TLS, "ca.pem")
        for path, source in files.items():
            self.assertTrue(os.path.isabs(path), path)
            self.place(path, source=source)
            text = text.replace(path, self.root + path)
        for path in password_files(config):
            self.place(path, text="dummy-master-password\n")
            text = text.replace(path, self.root + path)
        return self.place(config_path, text=text)

    def check(self, path):
        binary = imapfront_bin()
        self.assertTrue(os.access(binary, os.X_OK), f"IMAPFRONT_BIN={binary} is not executable")
        result = subprocess.run([binary, "check", path], capture_output=True, text=True,
                                timeout=CHECK_TIMEOUT, cwd=self.root)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)

    def test_configmap_routing_yaml_passes_check(self):
        for shape in SHAPES:
            with self.subTest(shape=shape):
                config_path = config_arg(container(pod_spec(shape), "imapfront"))
                self.check(self.rooted_config(embedded_config_text(shape), f"/{shape}{config_path}"))

    def test_routing_files_pass_check(self):
        for shape in SHAPES:
            with self.subTest(shape=shape):
                text = read(os.path.join(shape_dir(shape), ROUTING_FILE))
                self.check(self.rooted_config(text, f"/files/{shape}/{ROUTING_FILE}"))


if __name__ == "__main__":
    unittest.main()
