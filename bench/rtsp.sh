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

frames=300
size=1280x720
while [ $# -gt 0 ]; do
    case "$1" in
    --frames) frames="$2"; shift 2 ;;
    --size) size="$2"; shift 2 ;;
    *) echo "usage: $0 [--frames N] [--size WxH]" >&2; exit 1 ;;
    esac
done
width="${size%x*}"
height="${size#*x}"
build="${PVSHM_BUILD_DIR:-build}"
set +u
eval "$(meson devenv -C "$build" --dump)"
set -u

caps="video/x-raw,format=I420,width=$width,height=$height,framerate=30/1"
# What pvshm rtsp puts after videoconvert (tools/rtsp_server.cpp, x264enc).
encoder="videoconvert ! video/x-raw,format=I420 ! x264enc tune=zerolatency speed-preset=ultrafast \
key-int-max=30 ! rtph264pay name=pay0 pt=96 config-interval=1"
id="bench-rtsp-$$"
work="$(mktemp -d)"
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    "$build/tools/pvshm" clear --force "$id" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

free_port() {
    /usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# utime + stime of a process, in clock ticks (the fields after "pid (comm)").
cpu_ticks() {
    sed 's/.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'
}

# Waits (at most 30 s) for a line matching $2 in file $1.
wait_for_line() {
    grep -q -m1 "$2" < <(timeout 30 tail -n +1 -f "$1")
}

ticks_per_second="$(getconf CLK_TCK)"

# Prints "<wall seconds>" after one viewer decoded $frames frames of $1.
view() {
    local start end
    start="$(date +%s.%N)"
    timeout 120 gst-launch-1.0 -q rtspsrc location="$1" protocols=tcp latency=0 ! decodebin ! \
        identity eos-after="$frames" ! fakesink sync=false >/dev/null
    end="$(date +%s.%N)"
    awk -v a="$start" -v b="$end" 'BEGIN { print b - a }'
}

# ms of CPU per frame from two tick counts.
per_frame() {
    awk -v a="$1" -v b="$2" -v t="$ticks_per_second" -v n="$frames" \
        'BEGIN { printf "%.2f", (b - a) * 1000 / t / n }'
}

fps() {
    awk -v s="$1" -v n="$frames" 'BEGIN { printf "%.1f", n / s }'
}

report() {
    printf '| %-38s | %15s | %17s | %8s |\n' "$@"
}

echo "Machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)," \
    "load average $(cut -d' ' -f1-3 /proc/loadavg); $frames frames of ${width}x$height, x264enc"
report "server" "server ms/frame" "producer ms/frame" "fps seen"
report "---" "---" "---" "---"

# pvshm: producer | pvshm rtsp.
gst-launch-1.0 -q videotestsrc pattern=smpte is-live=true ! "$caps" ! \
    pvshmsink shared-mem-id="$id" >/dev/null 2>&1 &
producer=$!
pids+=("$producer")
port="$(free_port)"
"$build/tools/pvshm" rtsp "$id" --port "$port" --json >"$work/pvshm.events" 2>/dev/null &
server=$!
pids+=("$server")
wait_for_line "$work/pvshm.events" stream-added
server_start="$(cpu_ticks "$server")"
producer_start="$(cpu_ticks "$producer")"
seconds="$(view "rtsp://127.0.0.1:$port/$id")"
report "pvshm rtsp (pvshmsrc normalize=true)" "$(per_frame "$server_start" "$(cpu_ticks "$server")")" \
    "$(per_frame "$producer_start" "$(cpu_ticks "$producer")")" \
    "$(fps "$seconds")"
kill "$server" "$producer"

# The anchor: the source inside the server.
port="$(free_port)"
"$build/bench/pvshm-bench-rtsp-anchor" "$port" \
    "( videotestsrc pattern=smpte is-live=true ! $caps ! $encoder )" >"$work/anchor.out" 2>&1 &
anchor=$!
pids+=("$anchor")
wait_for_line "$work/anchor.out" listening
anchor_start="$(cpu_ticks "$anchor")"
seconds="$(view "rtsp://127.0.0.1:$port/anchor")"
report "gst-rtsp-server launch line" "$(per_frame "$anchor_start" "$(cpu_ticks "$anchor")")" "-" \
    "$(fps "$seconds")"
