#!/bin/sh
# Benchmark imapfront against direct Dovecot, haproxy, nginx and Dovecot's
# proxy. Installs the missing reference servers, builds Release with the load
# generator, then runs run_bench.py with this script's arguments.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build="$root/build-bench"

missing=""
command -v dovecot >/dev/null 2>&1 || missing="$missing dovecot-imapd"
command -v haproxy >/dev/null 2>&1 || missing="$missing haproxy"
command -v nginx >/dev/null 2>&1 || missing="$missing nginx"
[ -e /usr/lib/nginx/modules/ngx_mail_module.so ] || missing="$missing libnginx-mod-mail"
if [ -n "$missing" ]; then
    echo "installing:$missing"
    apt-get install -y $missing
fi

cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DIMAPFRONT_BENCH=ON
cmake --build "$build" --target imapfront imapfront_loadgen imapfront_floor_relay -j2

exec python3 "$here/run_bench.py" --imapfront "$build/imapfront" \
    --loadgen "$build/tests/bench/imapfront_loadgen" \
    --floor-relay "$build/tests/bench/imapfront_floor_relay" "$@"
