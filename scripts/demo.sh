#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The main job, end to end: a live capture pipeline writes into pvshmsink in one process while the
# example algorithm reads its frames through the library in another; prints frames read, frame
# rate and read latency, and saves a PNG of a frame it read (build/demo-snapshot.png).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh

pvshm_install_dependencies
pvshm_build

# The built plugin, library, CLI and examples, as `meson devenv -C build` provides them.
set +u
eval "$(meson devenv -C build --dump)"
set -u

id="demo-$$"
snapshot="$PWD/build/demo-snapshot.png"
frames="${PVSHM_DEMO_FRAMES:-150}"

echo "Producer: videotestsrc (1280x720 BGR, 30 frames/s) ! pvshmsink shared-mem-id=$id"
# sync=false: publish each frame as soon as it is captured rather than at its presentation time.
gst-launch-1.0 -q \
    videotestsrc is-live=true pattern=smpte ! \
    video/x-raw,format=BGR,width=1280,height=720,framerate=30/1 ! \
    pvshmsink shared-mem-id="$id" persist=false sync=false &
producer=$!
# gst-launch stops its pipeline cleanly on SIGINT; persist=false then removes the segment.
trap 'kill -INT $producer 2>/dev/null || true; wait $producer 2>/dev/null || true' EXIT

echo "Algorithm: pvshm-example-algorithm $id --frames $frames"
pvshm-example-algorithm "$id" --frames "$frames" --timeout 10 \
    --snapshot "$snapshot"
