#!/usr/bin/env bash
# Makes sure podman has the Debian base images deploy/Dockerfile starts from
# (debian:bookworm and debian:bookworm-slim). Where no registry is reachable
# they are made from Debian's archive with debootstrap; the root file system
# is cached as a tarball under /var/cache, so later runs only import it.
# Usage: tests/deploy/base_image.sh   (needs root, podman and debootstrap)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export CONTAINERS_CONF="${CONTAINERS_CONF:-$here/containers.conf}"
cache=/var/cache/imapfront-deploy
tarball="$cache/debian-bookworm-minbase.tar"
image=docker.io/library/debian:bookworm

if podman image exists "$image" && podman image exists "$image-slim"; then
    exit 0
fi

mirror() {
    local uri
    uri="$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)"
    if [[ -z "$uri" ]]; then
        uri="$(awk '/^deb / {print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)"
    fi
    echo "${uri:-http://deb.debian.org/debian}"
}

if [[ ! -s "$tarball" ]]; then
    mkdir -p "$cache"
    rootfs="$(mktemp -d "$cache/rootfs.XXXXXX")"
    trap 'rm -rf "$rootfs"' EXIT
    echo "base_image: debootstrap bookworm into $rootfs (a few minutes, once)"
    debootstrap --variant=minbase bookworm "$rootfs" "$(mirror)" >"$cache/debootstrap.log" 2>&1 || {
        tail -20 "$cache/debootstrap.log"
        exit 1
    }
    tar -C "$rootfs" -cf "$tarball.partial" .
    mv "$tarball.partial" "$tarball"
fi

podman import \
    --change 'ENV=PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD=["bash"]' "$tarball" "$image" >/dev/null
podman tag "$image" "$image-slim"
echo "base_image: $image and $image-slim ready"
