#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Every benchmark of pvshm next to its anchor (GStreamer's shmsink/shmsrc, iceoryx, OpenCV, memcpy, a
# gst-rtsp-server launch line, pvshm rtsp for pvshm web, a gdppay/SRT pair, raw frames for the
# link's encodings) measured in the same run: prints a Markdown table
# and writes it (and, but for RTSP and SRT, as JSON) under bench/results/.
#
#   bench/run.sh [--quick]     --quick: seconds, only to prove the benchmarks still work; its
#                              results go to the build directory, not bench/results
#
# PVSHM_BUILD_DIR names the build directory (default: build).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh

quick=()
[ "${1:-}" = "--quick" ] && quick=(--quick)

build="${PVSHM_BUILD_DIR:-build}"
results=bench/results
if [ ${#quick[@]} -eq 0 ]; then
    pvshm_install_dependencies
    pvshm_build
else
    results="$build/bench/results"
fi

mkdir -p "$results"
name="$(date -u +%Y%m%dT%H%M%SZ)${quick:+-quick}"
lines="$(mktemp)"
trap 'rm -f "$lines"' EXIT

# The Python module and the plugin come from the build tree.
set +u
eval "$(meson devenv -C "$build" --dump)"
set -u

for program in floor write read workflows transport scale latency iceoryx; do
    # iceoryx's is built only where iceoryx is installed (scripts/deps.sh installs it).
    [ -x "$build/bench/pvshm-bench-$program" ] || continue
    echo "running pvshm-bench-$program ${quick[*]}" >&2
    "$build/bench/pvshm-bench-$program" "${quick[@]}" >>"$lines"
done
echo "running bench/python_read.py ${quick[*]}" >&2
/usr/bin/python3 bench/python_read.py "${quick[@]}" >>"$lines"

{
    echo "Machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)," \
        "$(uname -sr), load average $(cut -d' ' -f1-3 /proc/loadavg)"
    /usr/bin/python3 bench/report.py "$results/$name.json" <"$lines"
    # Beyond one host, each next to its hand-built anchor (a minute or two each: full runs only).
    if [ ${#quick[@]} -eq 0 ]; then
        echo
        echo "### pvshm rtsp, 1080p30 to an OpenCV viewer"
        echo
        bench/rtsp.sh
        echo
        echo "### pvshm web, 1080p30 in headless Chromium, next to pvshm rtsp"
        echo
        bench/web.sh
        echo
        echo "### pvshm serve --encode raw|jpeg|lossless -> pvshm mirror, 1080p30 at 1000 Mbit/s"
        echo
        bench/link.sh
        echo
        echo "### pvshm serve -> pvshm mirror over SRT on 127.0.0.1"
        for srt_case in "--rate 5 --frames 60" "--rate 10 --frames 100" \
            "--size 3840x2160 --rate 1 --frames 12" "--format JPEG --rate 30 --frames 300"; do
            echo
            # shellcheck disable=SC2086 # the case's options, one word each
            bench/srt.sh $srt_case
        done
    fi
} | tee "$results/$name.md"
