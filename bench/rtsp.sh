#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# `pvshm rtsp` against its anchor, a hand-written gst-rtsp-server launch line (test-launch style,
# bench/rtsp_anchor.cpp) serving the same videotestsrc with the same encoder settings: server CPU
# per frame while one viewer (rtspsrc ! decodebin) decodes --frames frames over TCP.
#
#   bench/rtsp.sh [--frames N] [--size WxH]      (defaults: 300 frames of 1280x720 at 30 fps)
#
# For pvshm the producer (videotestsrc ! pvshmsink) is a process of its own and is counted
# apart; the anchor has its source inside the server. PVSHM_BUILD_DIR names the build directory.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/common.sh

frames=300
size=1280x720
bench_options "frames size" "[--frames N] [--size WxH]" "$@"
width="${size%x*}"
height="${size#*x}"
bench_setup

caps="video/x-raw,format=I420,width=$width,height=$height,framerate=30/1"
# What pvshm rtsp puts after videoconvert (tools/rtsp_server.cpp, x264enc).
encoder="videoconvert ! video/x-raw,format=I420 ! x264enc tune=zerolatency speed-preset=ultrafast \
key-int-max=30 ! rtph264pay name=pay0 pt=96 config-interval=1"
id="bench-rtsp-$$"
bench_ids+=("$id")

# Prints "<wall seconds>" after one viewer decoded $frames frames of $1.
view() {
    local start end
    start="$(date +%s.%N)"
    timeout 120 gst-launch-1.0 -q rtspsrc location="$1" protocols=tcp latency=0 ! decodebin ! \
        identity eos-after="$frames" ! fakesink sync=false >/dev/null
    end="$(date +%s.%N)"
    awk -v a="$start" -v b="$end" 'BEGIN { print b - a }'
}

fps() {
    awk -v s="$1" -v n="$frames" 'BEGIN { printf "%.1f", n / s }'
}

report() {
    printf '| %-38s | %15s | %17s | %8s |\n' "$@"
}

machine "$frames frames of ${width}x$height, x264enc"
report "server" "server ms/frame" "producer ms/frame" "fps seen"
report "---" "---" "---" "---"

# pvshm: producer | pvshm rtsp.
gst-launch-1.0 -q videotestsrc pattern=smpte is-live=true ! "$caps" ! \
    pvshmsink shared-mem-id="$id" >/dev/null 2>&1 &
producer=$!
bench_pids+=("$producer")
port="$(free_port SOCK_STREAM)"
"$build/tools/pvshm" rtsp "$id" --port "$port" --json >"$work/pvshm.events" 2>/dev/null &
server=$!
bench_pids+=("$server")
wait_for_line "$work/pvshm.events" stream-added
server_start="$(cpu_ticks "$server")"
producer_start="$(cpu_ticks "$producer")"
seconds="$(view "rtsp://127.0.0.1:$port/$id")"
report "pvshm rtsp (pvshmsrc normalize=true)" "$(per_frame "$server_start" "$(cpu_ticks "$server")")" \
    "$(per_frame "$producer_start" "$(cpu_ticks "$producer")")" \
    "$(fps "$seconds")"
kill "$server" "$producer"

# The anchor: the source inside the server.
port="$(free_port SOCK_STREAM)"
"$build/bench/pvshm-bench-rtsp-anchor" "$port" \
    "( videotestsrc pattern=smpte is-live=true ! $caps ! $encoder )" >"$work/anchor.out" 2>&1 &
anchor=$!
bench_pids+=("$anchor")
wait_for_line "$work/anchor.out" listening
anchor_start="$(cpu_ticks "$anchor")"
seconds="$(view "rtsp://127.0.0.1:$port/anchor")"
report "gst-rtsp-server launch line" "$(per_frame "$anchor_start" "$(cpu_ticks "$anchor")")" "-" \
    "$(fps "$seconds")"
