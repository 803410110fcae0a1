#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Builds the Debian packages (debian/) from this tree, runs lintian on them, and installs them as
# a user would: `apt-get install ./*.deb` in a clean Debian 12 root made by mmdebstrap from this
# machine's Debian mirror, where scripts/package_check.sh then uses each package. Run as root
# (mmdebstrap and chroot); it installs the packaging tools it is missing. The .deb files and
# lintian's output stay in build/debian-packages/. Takes some minutes: it prints each step's time.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" -eq 0 ] || { echo "scripts/package.sh: run as root (mmdebstrap, chroot)" >&2; exit 1; }

tree=$PWD
out=$tree/build/debian-packages
work=$(mktemp -d /tmp/pvshm-package.XXXXXX)
root=$work/root
mounted=()
cleanup() {
    local target
    for target in "${mounted[@]}"; do umount "$target" || true; done
    rm -rf "$work"
}
trap cleanup EXIT

started=$SECONDS
step_started=$SECONDS
step() {
    echo "== $* (after $((SECONDS - started)) s)"
    step_started=$SECONDS
}
step_done() {
    echo "   took $((SECONDS - step_started)) s"
}

step "packaging tools and build dependencies"
tools=(dpkg-dev debhelper dh-python lintian mmdebstrap)
missing=()
for package in "${tools[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -ne 0 ] || ! dpkg-checkbuilddeps -B -Pnocheck 2>/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${tools[@]}"
    # Build-Depends of debian/control (without the test ones).
    DEBIAN_FRONTEND=noninteractive apt-get build-dep -y -qq --no-install-recommends \
        -o APT::Build-Profiles=nocheck ./
fi
step_done

step "dpkg-buildpackage -b (a copy of the tree in build/debian-build, so that nothing is written next to it)"
# Always the same directory: the compiler's flags name it, so ccache serves the next build.
source_dir=$tree/build/debian-build/pvshm
rm -rf "$(dirname "$source_dir")"
mkdir -p "$source_dir"
git ls-files -z --cached --others --exclude-standard | tar --null -T - -cf - |
    tar -xf - -C "$source_dir"
(cd "$source_dir" && DEB_BUILD_OPTIONS=nocheck dpkg-buildpackage -b -us -uc) \
    >"$work/build.log" 2>&1 || { tail -50 "$work/build.log"; exit 1; }
rm -rf "$out"
mkdir -p "$out"
(cd "$(dirname "$source_dir")" && cp ./*.deb ./*.changes ./*.buildinfo "$out/")
rm -rf "$(dirname "$source_dir")"
ls -1 "$out"/*.deb
step_done

step "lintian"
# Exit status 1 on any error tag; warnings are printed and explained in README.
lintian --display-level '>=warning' "$out"/*.changes | tee "$out/lintian.txt"
step_done

step "mmdebstrap --variant=minbase bookworm (from this machine's Debian mirror)"
sources=$(grep -l -E '^[^#]*deb\.debian\.org|^[^#]*debian\.org/debian' \
    /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list \
    2>/dev/null || true)
[ -n "$sources" ] || sources="http://deb.debian.org/debian"
# shellcheck disable=SC2086 # one argument per sources file
mmdebstrap --quiet --variant=minbase --skip=cleanup/apt/lists bookworm "$root" $sources
step_done

step "apt-get install ./*.deb in the new root"
mkdir -p "$root/packages"
cp "$out"/*.deb "$root/packages/"
cp scripts/package_check.sh "$root/packages/"
cp /etc/resolv.conf "$root/etc/resolv.conf"
mount -t proc proc "$root/proc" && mounted=("$root/proc" "${mounted[@]}")
# Segments of the check live in the root's own /dev/shm, not in this machine's.
mkdir -p "$root/dev/shm"
mount -t tmpfs -o mode=1777 tmpfs "$root/dev/shm" && mounted=("$root/dev/shm" "${mounted[@]}")
# gstreamer1.0-tools and -plugins-base for the producer, g++ and pkgconf for the C++ reader.
chroot "$root" /bin/sh -c 'cd /packages && DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
    --no-install-recommends ./*.deb gstreamer1.0-tools gstreamer1.0-plugins-base g++ pkgconf' \
    >"$out/apt-install.log" 2>&1 || { tail -30 "$out/apt-install.log"; exit 1; }
chroot "$root" dpkg-query -W 'libpvshm*' gstreamer1.0-pvshm python3-pvshm pvshm-tools
step_done

step "checks in the new root (scripts/package_check.sh)"
chroot "$root" /bin/bash /packages/package_check.sh
step_done

echo "packages checked in a clean Debian 12 root in $((SECONDS - started)) s; they are in $out"
