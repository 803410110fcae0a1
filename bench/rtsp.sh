#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# `pvshm rtsp` against its anchor, a hand-written gst-rtsp-server launch line (test-launch style,
# bench/rtsp_anchor.cpp) serving the same videotestsrc with the same encoder settings, while one
# viewer, OpenCV's VideoCapture with FFmpeg's RTSP client over TCP (bench/rtsp_viewer.py), decodes
# --frames frames: server CPU per frame, frames per second seen, and glass-to-glass latency, from
# the capture time painted into each frame (bench/stamp_blocks.hpp) to the decoded picture.
#
#   bench/rtsp.sh [--frames N] [--size WxH]      (defaults: 300 frames of 1920x1080 at 30 fps)
#
# For pvshm the producer (videotestsrc ! pvshmsink sync=false, as the README's live pipelines)
# is a process of its own and is counted apart; the anchor has its source inside the server. Both
# stamp their frames right after videotestsrc. PVSHM_BUILD_DIR names the build directory.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/common.sh
source bench/stamped_producer.sh

stamped_setup rtsp "$@"
# What pvshm rtsp puts after videoconvert (tools/rtsp_server.cpp, x264enc).
encoder="videoconvert ! video/x-raw,format=I420 ! x264enc tune=zerolatency speed-preset=ultrafast \
key-int-max=30 ! rtph264pay name=pay0 pt=96 config-interval=1"

# Prints "<wall seconds> <latency p50 ms> <latency p99 ms>" after the viewer decoded $frames
# frames of $1.
view() {
    timeout 120 /usr/bin/python3 bench/rtsp_viewer.py "$1" "$frames" | /usr/bin/python3 -c '
import json, sys
row = json.load(sys.stdin)
print(row["seconds"], row["latency_p50_ms"], row["latency_p99_ms"])'
}

fps() {
    awk -v s="$1" -v n="$frames" 'BEGIN { printf "%.1f", n / s }'
}

report() {
    printf '| %-30s | %15s | %17s | %8s | %22s |\n' "$@"
}

# One row from "<seconds> <p50> <p99>" and the CPU figures.
row() {
    local seconds p50 p99
    read -r seconds p50 p99 <<<"$2"
    report "$1" "$3" "$4" "$(fps "$seconds")" "$p50 / $p99"
}

machine "$frames frames of ${width}x$height, x264enc, viewer OpenCV (FFmpeg)"
report "server" "server ms/frame" "producer ms/frame" "fps seen" "glass-to-glass p50/p99 ms"
report "---" "---" "---" "---" "---"

# pvshm: producer (stamped after videotestsrc) | pvshm rtsp.
start_stamped_producer
port="$(free_port SOCK_STREAM)"
"$build/tools/pvshm" rtsp "$id" --port "$port" --json >"$work/pvshm.events" 2>/dev/null &
server=$!
bench_pids+=("$server")
wait_for_line "$work/pvshm.events" stream-added
server_start="$(cpu_ticks "$server")"
producer_start="$(cpu_ticks "$producer")"
seen="$(view "rtsp://127.0.0.1:$port/$id")"
row "pvshm rtsp" "$seen" "$(per_frame "$server_start" "$(cpu_ticks "$server")")" \
    "$(per_frame "$producer_start" "$(cpu_ticks "$producer")")"
kill "$server" "$producer"

# The anchor: the source inside the server.
port="$(free_port SOCK_STREAM)"
"$build/bench/pvshm-bench-rtsp-anchor" "$port" \
    "( videotestsrc pattern=smpte is-live=true ! $caps ! identity name=stamp ! $encoder )" \
    >"$work/anchor.out" 2>&1 &
anchor=$!
bench_pids+=("$anchor")
wait_for_line "$work/anchor.out" listening
anchor_start="$(cpu_ticks "$anchor")"
seen="$(view "rtsp://127.0.0.1:$port/anchor")"
row "gst-rtsp-server launch line" "$seen" "$(per_frame "$anchor_start" "$(cpu_ticks "$anchor")")" "-"
