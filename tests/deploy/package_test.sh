#!/usr/bin/env bash
# Builds the Debian package (CPack, deploy/debian/package.cmake) and checks it:
# - its name imapfront_<version>_<arch>.deb, control fields, conffiles,
#   maintainer scripts and contents (dpkg-deb);
# - the man pages render without warnings;
# - in a clean container from the Debian base image (tests/deploy/base_image.sh):
#   `apt-get install ./imapfront_*.deb` resolves the dependencies, makes the
#   system user, `imapfront --version` and `imapfront check
#   /etc/imapfront/imapfront.yaml` pass, `systemd-analyze verify` accepts the
#   unit where the package put it (with the binary and man pages it names),
#   and imapfront runs as that user with the shipped configuration until a
#   SIGTERM drains it;
# - in that container booted with systemd as its init (podman --systemd):
#   `systemctl start` returns once imapfront has said READY=1, the service
#   runs as the system user with the unit's hardening in force, `systemctl
#   reload` reloads, `systemctl stop` drains it to a clean exit.
# Usage: tests/deploy/package_test.sh   (as root; installs what is missing)
# The package is built in build-deb/ (Release, prefix /usr).
set -uo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
export CONTAINERS_CONF="${CONTAINERS_CONF:-$repo/tests/deploy/containers.conf}"
image=docker.io/library/debian:bookworm
started=$SECONDS
failures=0

pass() { echo "PASS  $*"; }
fail() {
    echo "FAIL  $*"
    failures=$((failures + 1))
}
finish() {
    echo "package_test: $failures failure(s) in $((SECONDS - started))s"
    ((failures == 0))
    exit
}
step_time() { echo "      ($((SECONDS - $1))s)"; }

install_missing() {
    local missing=()
    for package in podman runc catatonit debootstrap uidmap slirp4netns fuse-overlayfs \
        containernetworking-plugins dpkg-dev man-db file build-essential cmake ninja-build pkg-config \
        libuv1-dev libssl-dev libyaml-cpp-dev catch2 python3; do
        dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
    done
    ((${#missing[@]} == 0)) && return 0
    echo "package_test: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
}
install_missing || { fail "installing packages"; finish; }

# --- build the package
t=$SECONDS
build="$repo/build-deb"
log="$build/package_test.log"
mkdir -p "$build"
rm -f "$build"/imapfront_*.deb
if cmake -S "$repo" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=/usr \
    -DCMAKE_SKIP_INSTALL_ALL_DEPENDENCY=ON -DIMAPFRONT_WERROR=ON >"$log" 2>&1 &&
    cmake --build "$build" -j 2 --target imapfront imapfront_man >>"$log" 2>&1 &&
    (cd "$build" && cpack -G DEB >>"$log" 2>&1); then
    pass "cpack built $(cd "$build" && ls imapfront_*.deb)"
else
    fail "building the package"$'\n'"$(tail -20 "$log")"
    finish
fi
step_time $t

version="$(sed -nE 's/^project\(imapfront VERSION ([0-9.]+).*/\1/p' "$repo/CMakeLists.txt")"
deb="$build/imapfront_${version}_$(dpkg --print-architecture).deb"
[[ -f "$deb" ]] && pass "package file is ${deb##*/}" || { fail "no $deb"; finish; }

# --- what is in it
field() { dpkg-deb -f "$deb" "$1"; }
[[ "$(field Package)" == imapfront && "$(field Version)" == "$version" ]] &&
    pass "control: Package imapfront, Version $version" || fail "control: $(field Package) $(field Version)"
depends="$(field Depends)"
missing_depends=()
depends_names="$(sed -E 's/ \([^)]*\)//g; s/, /\n/g' <<<"$depends")"
for library in adduser procps libuv1 libssl3 libyaml-cpp0.7 libstdc++6; do
    grep -qxF "$library" <<<"$depends_names" || missing_depends+=("$library")
done
((${#missing_depends[@]} == 0)) && pass "Depends: $depends" || fail "Depends lacks ${missing_depends[*]}: $depends"

contents="$(dpkg-deb -c "$deb" | awk '{print $6}' | sed 's|^\./|/|')"
for path in /usr/bin/imapfront /etc/imapfront/imapfront.yaml /usr/lib/systemd/system/imapfront.service \
    /usr/share/man/man8/imapfront.8.gz /usr/share/man/man5/imapfront.yaml.5.gz \
    /usr/share/doc/imapfront/examples/imapfront.example.yaml \
    /usr/share/doc/imapfront/monitoring/imapfront-alerts.yml \
    /usr/share/doc/imapfront/monitoring/tests/imapfront-alerts_test.yml \
    /usr/share/doc/imapfront/monitoring/imapfront-dashboard.json; do
    grep -qx "$path" <<<"$contents" || fail "the package lacks $path"
done
pass "contents: binary, config, unit, man pages, examples, monitoring"

control="$(mktemp -d)"
trap 'rm -rf "$control"' EXIT  # widened below once containers exist
dpkg-deb -e "$deb" "$control/DEBIAN"
dpkg-deb -x "$deb" "$control/root"
grep -qx /etc/imapfront/imapfront.yaml "$control/DEBIAN/conffiles" &&
    pass "conffiles: /etc/imapfront/imapfront.yaml" || fail "conffiles does not list the config"
for script in postinst prerm postrm; do
    [[ -x "$control/DEBIAN/$script" ]] && sh -n "$control/DEBIAN/$script" || fail "$script missing or not valid sh"
done
pass "maintainer scripts postinst, prerm, postrm"
file "$control/root/usr/bin/imapfront" | grep -q 'stripped' && ! file "$control/root/usr/bin/imapfront" | grep -q 'not stripped' &&
    pass "the binary is stripped" || fail "the binary is not stripped"

unit="$control/root/usr/lib/systemd/system/imapfront.service"
for line in "Type=notify" "User=imapfront" "ExecStart=/usr/bin/imapfront --config /etc/imapfront/imapfront.yaml" \
    'ExecReload=/bin/kill -HUP $MAINPID' "AmbientCapabilities=CAP_NET_BIND_SERVICE" "NoNewPrivileges=yes" \
    "LimitNOFILE=200000" "TimeoutStopSec=45"; do
    grep -qxF "$line" "$unit" || fail "the unit lacks '$line'"
done
pass "the unit: Type=notify, User, ExecStart, ExecReload with SIGHUP, hardening of docs/operations.md"

for page in man8/imapfront.8.gz man5/imapfront.yaml.5.gz; do
    warnings="$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$control/root/usr/share/man/$page" 2>&1 >/dev/null)"
    [[ -z "$warnings" ]] && pass "man page $page renders without warnings" || fail "man $page: $warnings"
    zcat "$control/root/usr/share/man/$page" | grep -q "^\.TH .*\"imapfront $version\"" ||
        fail "man $page does not carry version $version"
done

# --- in a clean container
t=$SECONDS
"$repo/tests/deploy/base_image.sh" || { fail "base image"; finish; }
inner="$(cat <<'INNER'
set -u
failures=0
pass() { echo "PASS  [container] $*"; }
fail() { echo "FAIL  [container] $*"; failures=$((failures + 1)); }
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/tmp/apt.log 2>&1 &&
    apt-get install -y -q --no-install-recommends /pkg/imapfront_*.deb >>/tmp/apt.log 2>&1 ||
    { tail -20 /tmp/apt.log; fail "apt-get install ./imapfront_*.deb"; exit 1; }
pass "apt-get install ./${DEB_NAME} resolved its dependencies"
version="$(imapfront --version)"
[[ "$version" == "imapfront $VERSION" ]] && pass "imapfront --version: $version" ||
    fail "imapfront --version printed '$version'"
out="$(imapfront check /etc/imapfront/imapfront.yaml 2>&1)" && pass "imapfront check: $out" ||
    fail "imapfront check /etc/imapfront/imapfront.yaml: $out"
entry="$(getent passwd imapfront)"
uid="$(cut -d: -f3 <<<"$entry")"
[[ -n "$entry" && "$uid" -lt 1000 && "$entry" == *:/usr/sbin/nologin ]] &&
    pass "system user: $entry" || fail "no system user imapfront: '$entry'"

# The shipped config, run as that user: ready on /readyz, drained by SIGTERM.
setpriv --reuid=imapfront --regid=imapfront --init-groups imapfront --config /etc/imapfront/imapfront.yaml >/tmp/run.log 2>&1 &
pid=$!
ready=""
for _ in $(seq 50); do
    if exec 3<>/dev/tcp/127.0.0.1/9143 2>/dev/null; then
        printf 'GET /readyz HTTP/1.0\r\nHost: localhost\r\n\r\n' >&3
        ready="$(head -n 1 <&3)"
        exec 3<&-
        [[ "$ready" == *" 200 "* ]] && break
    fi
    sleep 0.2
done
[[ "$ready" == *" 200 "* ]] && pass "imapfront runs as user imapfront with the shipped config: /readyz 200" ||
    fail "imapfront did not get ready: $(cat /tmp/run.log)"
kill -TERM "$pid"
status=124
for _ in $(seq 50); do
    if ! kill -0 "$pid" 2>/dev/null; then wait "$pid"; status=$?; break; fi
    sleep 0.2
done
[[ "$status" == 0 ]] && pass "SIGTERM drains it: exit 0" || { kill -KILL "$pid" 2>/dev/null; fail "exit status $status after SIGTERM"; }

# systemd-analyze verify needs the unit's programs and man pages in place.
apt-get install -y -q --no-install-recommends systemd man-db >>/tmp/apt.log 2>&1 || fail "installing systemd man-db"
out="$(systemd-analyze verify /usr/lib/systemd/system/imapfront.service 2>&1)" && [[ -z "$out" ]] &&
    pass "systemd-analyze verify accepts imapfront.service" || fail "systemd-analyze verify: $out"
man -w imapfront.yaml >/dev/null && man -w 8 imapfront >/dev/null && pass "man finds imapfront(8) and imapfront.yaml(5)" ||
    fail "man does not find the pages"
exit $((failures > 0))
INNER
)"
container="imapfront-package-test-$$"
booted="$container-systemd"
test_image="localhost/$container:latest"
remove_containers() {
    podman rm -f "$container" "$booted" >/dev/null 2>&1
    podman rmi -f "$test_image" >/dev/null 2>&1
}
trap 'rm -rf "$control"; remove_containers' EXIT
out="$(podman run --name "$container" --network slirp4netns -v "$build:/pkg:ro" -e VERSION="$version" \
    -e DEB_NAME="${deb##*/}" "$image" bash -c "$inner" 2>&1)"
status=$?
echo "$out" | grep -E '^(PASS|FAIL)' || echo "$out" | tail -20
if ((status != 0)); then
    fail "in the container (exit status $status)"
    finish
fi
step_time $t

# --- the same container, booted with systemd as its init
t=$SECONDS
podman commit -q "$container" "$test_image" >/dev/null && podman rm "$container" >/dev/null &&
    podman run -d --name "$booted" --systemd=always "$test_image" /lib/systemd/systemd >/dev/null ||
    { fail "booting the container with systemd"; finish; }
in_booted() { timeout 120 podman exec "$booted" bash -c "$1"; }
state=""
for _ in $(seq 60); do
    state="$(in_booted 'systemctl is-system-running' 2>/dev/null)"
    [[ "$state" == running || "$state" == degraded ]] && break
    sleep 0.5
done
[[ "$state" == running || "$state" == degraded ]] && pass "[systemd] booted ($state)" ||
    fail "[systemd] did not boot: '$state'"

# Type=notify: start returns only after READY=1 (or fails after
# TimeoutStartSec), so the listener must accept right after it.
if in_booted 'systemctl start imapfront && systemctl is-active --quiet imapfront'; then
    pass "[systemd] systemctl start imapfront: active (Type=notify, READY=1 received)"
else
    fail "[systemd] systemctl start imapfront"$'\n'"$(in_booted 'journalctl -u imapfront --no-pager | tail -20')"
fi
greeting="$(in_booted 'exec 3<>/dev/tcp/127.0.0.1/1143 && head -c 4 <&3')"
[[ "$greeting" == "* OK" ]] && pass "[systemd] the listener greets right after start" ||
    fail "[systemd] no greeting on 127.0.0.1:1143: '$greeting'"
status_lines="$(in_booted 'pid=$(systemctl show -p MainPID --value imapfront); grep -E "^(Uid|NoNewPrivs|CapEff):" /proc/$pid/status; getent passwd imapfront | cut -d: -f3')"
uid="$(tail -1 <<<"$status_lines")"
# CAP_NET_BIND_SERVICE is bit 10: 0x400 and nothing else.
if grep -qP "^Uid:\t$uid\t" <<<"$status_lines" && grep -qP '^NoNewPrivs:\t1$' <<<"$status_lines" &&
    grep -qP '^CapEff:\t0000000000000400$' <<<"$status_lines"; then
    pass "[systemd] runs as imapfront (uid $uid), NoNewPrivs, only CAP_NET_BIND_SERVICE"
else
    fail "[systemd] process credentials:"$'\n'"$status_lines"
fi
if in_booted 'systemctl reload imapfront && systemctl is-active --quiet imapfront' &&
    in_booted 'journalctl -u imapfront --no-pager | grep -q "\"config_reload\",\"result\":\"ok\",\"trigger\":\"SIGHUP\""'; then
    pass "[systemd] systemctl reload: SIGHUP reloaded the configuration"
else
    fail "[systemd] systemctl reload"$'\n'"$(in_booted 'journalctl -u imapfront --no-pager | tail -10')"
fi
stopped="$(in_booted 'systemctl stop imapfront; systemctl show imapfront -p Result -p ExecMainStatus -p ActiveState --value | tr "\n" " "')"
if [[ "$stopped" == "success 0 inactive " ]] && in_booted 'journalctl -u imapfront --no-pager | grep -q "\"event\":\"draining\""'; then
    pass "[systemd] systemctl stop: drained, exit 0"
else
    fail "[systemd] systemctl stop: Result, ExecMainStatus, ActiveState = $stopped"
fi
step_time $t

finish
