#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Run by scripts/package.sh inside a clean Debian 12 root where the pvshm packages were installed
# with apt: uses every package as a user would. A file that is missing is named with the package
# that should hold it, and what that package holds.
set -euo pipefail
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || gcc -print-multiarch)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
id="package-check-$$"

# PACKAGE PATH...: each path must exist, or the check says where it should have come from.
expect_files() {
    local package=$1 path missing=0
    shift
    for path in "$@"; do
        [ -e "$path" ] && continue
        echo "MISSING $path: package $package should hold it"
        # Where a file of that name went, if any package holds one.
        dpkg -S "*/$(basename "$(dirname "$path")")/$(basename "$path")" 2>/dev/null |
            sed 's/^/  found instead: /' || true
        missing=1
    done
    if [ $missing -eq 1 ]; then
        echo "  $package holds:"
        dpkg -L "$package" | sed 's/^/    /'
        exit 1
    fi
}

expect_files libpvshm0 "/usr/lib/$multiarch/libpvshm.so.0"
expect_files libpvshm-dev /usr/include/pvshm/pvshm.hpp "/usr/lib/$multiarch/libpvshm.so" \
    "/usr/lib/$multiarch/pkgconfig/pvshm.pc"
expect_files gstreamer1.0-pvshm "/usr/lib/$multiarch/gstreamer-1.0/libgstpvshm.so"
expect_files python3-pvshm /usr/lib/python3/dist-packages/pvshm/__init__.py
expect_files pvshm-tools /usr/bin/pvshm /usr/lib/systemd/system/pvshm-serve@.service \
    /usr/lib/systemd/system/pvshm-mirror@.service /usr/lib/systemd/system/pvshm-rtsp.service \
    /usr/lib/systemd/system/pvshm-web.service /usr/lib/sysusers.d/pvshm.conf

echo "== gst-inspect-1.0 pvshmsink"
gst-inspect-1.0 pvshmsink | grep -E '^  (Filename|Version|Source module|Binary package|Origin URL)'

echo "== pvshm --help"
pvshm --help | head -3

echo "== videotestsrc ! pvshmsink: 30 frames of 320x240 BGR into id $id"
gst-launch-1.0 -q videotestsrc num-buffers=30 ! video/x-raw,format=BGR,width=320,height=240 ! \
    pvshmsink shared-mem-id="$id"
pvshm info "$id" | grep -E '^(frames written|format|size)'

echo "== pvshm snapshot"
pvshm snapshot "$id" "$work/frame.png"
[ -s "$work/frame.png" ]

echo "== python3 -c 'import pvshm' reading the frame"
python3 - "$id" <<'PY'
import sys
import pvshm
frame, info = pvshm.Reader(sys.argv[1]).read(with_info=True)
assert frame.shape == (240, 320, 3) and frame.any(), frame.shape
assert info["sequence"] == 30, info["sequence"]
print(f"pvshm {pvshm.__version__} ({pvshm.__file__}): frame #{info['sequence']}, {frame.shape}")
PY

echo "== a C++ program built with pkg-config --cflags --libs pvshm"
cat >"$work/reader.cpp" <<'CPP'
#include <cstdio>
#include <pvshm/pvshm.hpp>

int main(int argc, char** argv)
{
    pvshm::ImageMeta meta;
    meta.width = 320;
    meta.height = 240;
    cv::Mat rgb = pvshm::read_image_from_shared_memory(argv[argc - 1], meta);
    std::printf("read %dx%d, %d channels, mean %.1f\n", rgb.cols, rgb.rows, rgb.channels(),
                cv::mean(rgb)[0]);
    return rgb.cols == 320 && rgb.rows == 240 && cv::countNonZero(rgb.reshape(1)) > 0 ? 0 : 1;
}
CPP
# shellcheck disable=SC2046 # pkg-config's words are separate arguments
g++ -std=c++17 -o "$work/reader" "$work/reader.cpp" $(pkg-config --cflags --libs pvshm)
"$work/reader" "$id"

echo "== the systemd units and their user"
# It exits 0 after a warning, which it prints: any output fails.
verified=$(systemd-analyze verify /usr/lib/systemd/system/pvshm-*.service 2>&1)
[ -z "$verified" ] || { echo "$verified"; exit 1; }
ls /usr/lib/systemd/system/pvshm-*.service
getent passwd pvshm

pvshm clear "$id"
echo "all package checks passed"
