#!/usr/bin/env bash
# Builds and tests everything: the regular build, an ASan+UBSan build, and a
# short fuzz run when the fuzz script exists. Works from any folder and on a
# fresh clone; installs missing Debian packages first.
set -uo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
jobs=2
packages=(build-essential cmake ninja-build pkg-config libuv1-dev libssl-dev libyaml-cpp-dev
          catch2 python3 curl openssl dovecot-imapd clang llvm libclang-rt-14-dev
          cyrus-common sasl2-bin python3-yaml clang-format zlib1g-dev)

log() { printf '\n=== %s\n' "$*"; }

install_missing_packages() {
    local missing=()
    for package in "${packages[@]}"; do
        dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
    done
    if ((${#missing[@]} == 0)); then
        return 0
    fi
    log "installing ${missing[*]}"
    local sudo=()
    if ((EUID != 0)); then sudo=(sudo); fi
    export DEBIAN_FRONTEND=noninteractive
    "${sudo[@]}" apt-get update -q && "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
}

# cyrus-imapd conflicts with dovecot-imapd: the Cyrus tests take its imapd
# from the package unpacked, not installed (tests/integration/cyrus.py).
cyrus_cache=/var/cache/imapfront-test/cyrus
unpack_cyrus_imapd() {
    if [[ -x "$cyrus_cache/usr/lib/cyrus/bin/imapd" ]]; then
        return 0
    fi
    log "unpacking cyrus-imapd into $cyrus_cache"
    local scratch
    scratch="$(mktemp -d)"
    chmod a+rwx "$scratch"  # apt downloads as the _apt user
    # A stale or missing package list makes the download fail: refresh once.
    if ! (cd "$scratch" && apt-get download -q cyrus-imapd); then
        apt-get update -q && (cd "$scratch" && apt-get download -q cyrus-imapd) || { rm -rf "$scratch"; return 1; }
    fi
    mkdir -p "$cyrus_cache"
    dpkg-deb -x "$scratch"/cyrus-imapd_*.deb "$cyrus_cache"
    local status=$?
    rm -rf "$scratch"
    return "$status"
}

# The package's own Dovecot service must not hold the ports or the tests' names.
stop_system_dovecot() {
    if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet dovecot 2>/dev/null; then
        systemctl stop dovecot || true
    fi
}

# The tree follows its .clang-format; a file that does not is named here.
check_format() {
    local files
    mapfile -t files < <(cd "$repo" && git ls-files '*.cpp' '*.h')
    (cd "$repo" && clang-format --dry-run --Werror "${files[@]}")
}

build_and_test() {
    local dir="$1"; shift
    log "configure ${dir#"$repo"/} $*"
    cmake -S "$repo" -B "$dir" -G Ninja -DIMAPFRONT_WERROR=ON "$@" || return 1
    log "build ${dir#"$repo"/}"
    cmake --build "$dir" -j "$jobs" || return 1
    log "test ${dir#"$repo"/}"
    (cd "$dir" && ctest --output-on-failure -j 1 --timeout 900)
}

declare -a summary=()
failed=0
step() {
    local name="$1"; shift
    local started=$SECONDS
    if "$@"; then
        summary+=("PASS  $name ($((SECONDS - started))s)")
    else
        summary+=("FAIL  $name ($((SECONDS - started))s)")
        failed=1
    fi
}

step "packages" install_missing_packages
step "cyrus imapd" unpack_cyrus_imapd
stop_system_dovecot
step "clang-format" check_format
step "build + ctest" build_and_test "$repo/build"
ASAN_OPTIONS="detect_leaks=1:abort_on_error=0" UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
    step "asan build + ctest" build_and_test "$repo/build-asan" -DIMAPFRONT_SANITIZE=ON
if [[ -x "$repo/tests/fuzz/run.sh" || -f "$repo/tests/fuzz/run.sh" ]]; then
    step "fuzz (20 s)" bash "$repo/tests/fuzz/run.sh" 20
else
    summary+=("SKIP  fuzz (tests/fuzz/run.sh not present)")
fi

log "summary"
printf '%s\n' "${summary[@]}"
passed=$(printf '%s\n' "${summary[@]}" | grep -c '^PASS' || true)
failures=$(printf '%s\n' "${summary[@]}" | grep -c '^FAIL' || true)
echo "steps: $passed passed, $failures failed"
exit "$failed"
