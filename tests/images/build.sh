#!/usr/bin/env bash
# Build a systemd Debian test-host image locally: debootstrap a rootfs and `docker import` it.
# No container registry is needed (or reachable).
#
# usage: tests/images/build.sh <suite> [tag]     suite: bookworm (Debian 12) | trixie (Debian 13)
#
# The image is rebuilt only when this script changes (its sha256 is stored as an image label),
# so repeated `make test` runs reuse it.
set -euo pipefail

suite=${1:?usage: build.sh <bookworm|trixie> [tag]}
tag=${2:-onprem-mlflow/debian-${suite}:test}
mirror=${DEBIAN_MIRROR:-}
recipe=$(sha256sum "$0" | cut -c1-16)

if docker image inspect "$tag" >/dev/null 2>&1; then
  have=$(docker image inspect -f '{{ index .Config.Labels "onprem.mlflow.recipe" }}' "$tag")
  if [ "$have" = "$recipe" ]; then
    echo "image $tag is up to date (recipe $recipe)"
    exit 0
  fi
fi

if [ -z "$mirror" ]; then
  # Use the mirror this machine's apt already uses; no host name is written in the repo.
  mirror=$(sed -n 's/^URIs: *\([^ ]*\).*/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | grep -v security | head -n1)
  [ -n "$mirror" ] || mirror=$(awk '$1=="deb" && $0 !~ /security/ {print $2; exit}' /etc/apt/sources.list 2>/dev/null)
fi
[ -n "$mirror" ] || { echo "no Debian mirror found; set DEBIAN_MIRROR" >&2; exit 1; }

command -v debootstrap >/dev/null || { echo "debootstrap is missing (apt-get install debootstrap)" >&2; exit 1; }

work=$(mktemp -d /var/tmp/onprem-mlflow-rootfs.XXXXXX)
cleanup() {
  # An interrupted debootstrap can leave /proc or /sys mounted in the rootfs: unmount first,
  # and never recurse into a mounted tree.
  mount | awk -v w="$work" 'index($3, w) == 1 {print $3}' | sort -r | xargs -r -n1 umount -l
  if ! mount | grep -q " $work"; then rm -rf --one-file-system "$work"; fi
}
trap cleanup EXIT
rootfs=$work/rootfs

# Packages a test host needs so that Ansible and systemd work; everything else is the roles' job.
include=systemd,systemd-sysv,dbus,python3,python3-apt,sudo,ca-certificates,iproute2,procps
echo "debootstrap $suite from $mirror ..."
debootstrap --variant=minbase --include="$include" "$suite" "$rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 \
  || { tail -n 40 "$work/debootstrap.log" >&2; exit 1; }

# Trim what a container does not need and would only slow boots down.
chroot "$rootfs" /bin/sh -eu <<'CHROOT'
rm -f /etc/machine-id /var/lib/dbus/machine-id && : > /etc/machine-id
for unit in getty@tty1.service systemd-timesyncd.service apt-daily.timer apt-daily-upgrade.timer \
            e2scrub_all.timer fstrim.timer; do
  systemctl mask "$unit" >/dev/null 2>&1 || true
done
apt-get clean
rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin
CHROOT
# The apt sources of the image point at the same mirror as the build.
printf 'deb %s %s main\n' "$mirror" "$suite" > "$rootfs/etc/apt/sources.list"

tar -C "$rootfs" -c . | docker import \
  --change 'CMD ["/lib/systemd/systemd"]' \
  --change 'ENV container=docker' \
  --change "LABEL onprem.mlflow.recipe=$recipe" \
  - "$tag" >/dev/null
echo "built $tag (recipe $recipe)"
