#!/usr/bin/env bash
# Quick start: installs what is missing, builds imapfront (Release), then runs
# a local demo (two Dovecot backends with demo users behind imapfront on
# 127.0.0.1:1143 and 127.0.0.1:1993) until Ctrl-C. Extra arguments go to
# tests/integration/demo.py (--plain-port, --tls-port, --for SECONDS).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
packages=(build-essential cmake ninja-build pkg-config libuv1-dev libssl-dev libyaml-cpp-dev
          catch2 python3 curl openssl dovecot-imapd)

missing=()
for package in "${packages[@]}"; do
    dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
if ((${#missing[@]} > 0)); then
    echo "installing ${missing[*]}"
    sudo=()
    if ((EUID != 0)); then sudo=(sudo); fi
    export DEBIAN_FRONTEND=noninteractive
    "${sudo[@]}" apt-get update -q
    "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

cmake -S "$repo" -B "$repo/build" -G Ninja -DCMAKE_BUILD_TYPE=Release
cmake --build "$repo/build" -j 2 --target imapfront

IMAPFRONT_BIN="$repo/build/imapfront" python3 "$repo/tests/integration/demo.py" "$@" || status=$?
# Ctrl-C ends the demo; that is the normal way out.
if [[ ${status:-0} -ne 0 && ${status:-0} -ne 130 ]]; then
    exit "$status"
fi
exit 0
