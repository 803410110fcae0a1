#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# `pvshm serve` -> `pvshm mirror` over SRT on 127.0.0.1 against its anchor, a hand-built
# `pvshmsrc ! gdppay ! srtsink` / `srtsrc ! queue ! gdpdepay ! pvshmsink` pair with the same SRT
# options, while a videotestsrc producer writes frames (raw, or JPEG from jpegenc): frames/s
# arriving in the mirrored id, CPU per frame of sender and receiver, and how much later than in
# the sent id each frame became readable in the mirrored one, beyond SRT's own latency (its
# receive buffer, 125 ms by default), p50 and p99 (bench/srt_latency.py).
#
#   bench/srt.sh [--frames N] [--size WxH] [--format F|JPEG] [--rate FPS] [--max-bandwidth MBIT]
#                (defaults: 150 frames of 1920x1080 BGR at 15 fps, 750 Mbit/s; pvshm serve's
#                --max-bandwidth, also given to the anchor's srtsink)
#
# The producer is a process of its own and is not counted. PVSHM_BUILD_DIR names the build
# directory.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/common.sh

frames=150
size=1920x1080
format=BGR
rate=15
max_bandwidth="$(sed -n 's/.*kDefaultMaxBandwidthMbit = \([0-9]*\);.*/\1/p' tools/srt_link.hpp)"
bench_options "frames size format rate max_bandwidth" \
    "[--frames N] [--size WxH] [--format F|JPEG] [--rate FPS] [--max-bandwidth MBIT]" "$@"
width="${size%x*}"
height="${size#*x}"
bench_setup

pvshm="$build/tools/pvshm"
if [ "$format" = JPEG ]; then
    produced=("video/x-raw,format=I420,width=$width,height=$height,framerate=$rate/1" ! jpegenc)
else
    produced=("video/x-raw,format=$format,width=$width,height=$height,framerate=$rate/1")
fi
# The SRT options of pvshm mirror's srtsrc (tools/srt_link.hpp, kSrtBufferOptions) and the rate
# pvshm serve sends at (SRTO_MAXBW, in bytes/s).
options="$(sed -n 's/.*"\(sndbuf=[^"]*\)".*/\1/p' tools/srt_link.hpp)&maxbw=$((max_bandwidth * 125000))"
srt_latency="$(sed -n 's/.*kDefaultSrtLatencyMs = \([0-9]*\);.*/\1/p' tools/srt_link.hpp)"
sent="bench-srt-a-$$"
received="bench-srt-b-$$"
bench_ids+=("$sent" "$received")

report() {
    printf '| %-40s | %8s | %15s | %17s | %18s |\n' "$@"
}

# Measures the pair of processes $1 (sender) and $2 (receiver) while $frames frames reach the
# id $received; prints the table row named $3.
measure() {
    local sender=$1 receiver=$2 name=$3 sender_start receiver_start measured
    # The receiver's pvshmsink creates the id when it starts (at most 30 s).
    for _ in $(seq 300); do
        [ -e "${PVSHM_SHM_DIR:-/dev/shm}/pvshm.$received" ] && break
        sleep 0.1
    done
    # The first frames settle SRT's rate estimate.
    if ! timeout 60 "$pvshm" watch "$received" --count 10 >/dev/null 2>&1; then
        report "$name" "none" "-" "-" "-"
        return
    fi
    sender_start="$(cpu_ticks "$sender")"
    receiver_start="$(cpu_ticks "$receiver")"
    # A receiver that falls behind is dropped by srtsink: then the frames stop coming.
    if ! measured="$(/usr/bin/python3 bench/srt_latency.py "$sent" "$received" --frames "$frames" \
        --srt-latency "$srt_latency" --timeout 120)"; then
        report "$name" "stalled" "-" "-" "-"
        return
    fi
    read -r _ fps _ _ p50 _ p99 _ <<<"$measured"
    report "$name" "$fps" "$(per_frame "$sender_start" "$(cpu_ticks "$sender")")" \
        "$(per_frame "$receiver_start" "$(cpu_ticks "$receiver")")" "$p50 / $p99"
}

machine "$frames frames of ${width}x$height $format at $rate fps over SRT on 127.0.0.1, sent at" \
    "$max_bandwidth Mbit/s"
report "sender -> receiver" "frames/s" "sender ms/frame" "receiver ms/frame" "ms beyond SRT p50 / p99"
report "---" "---" "---" "---" "---"

gst-launch-1.0 -q videotestsrc pattern=ball is-live=true ! "${produced[@]}" ! \
    pvshmsink shared-mem-id="$sent" sync=false >/dev/null 2>&1 &
bench_pids+=($!)

# pvshm: serve and mirror.
port="$(free_port SOCK_DGRAM)"
"$pvshm" serve "$sent" "srt://127.0.0.1:$port" --insecure --max-bandwidth "$max_bandwidth" \
    2>"$work/serve.out" &
serve=$!
bench_pids+=("$serve")
wait_for_line "$work/serve.out" serving
"$pvshm" mirror "srt://127.0.0.1:$port" "$received" --insecure 2>"$work/mirror.out" &
mirror=$!
bench_pids+=("$mirror")
wait_for_line "$work/mirror.out" "receiving from"
measure "$serve" "$mirror" "pvshm serve -> pvshm mirror (pvshmpay)"
kill "$serve" "$mirror"
wait "$serve" "$mirror" 2>/dev/null || true
"$pvshm" clear --force "$received" >/dev/null

# The anchor: GStreamer's own serialisation of buffers and caps.
port="$(free_port SOCK_DGRAM)"
gst-launch-1.0 -q pvshmsrc shared-mem-id="$sent" mode=all ! gdppay ! \
    srtsink uri="srt://127.0.0.1:$port?mode=listener&$options" sync=false \
    wait-for-connection=false >/dev/null 2>&1 &
sender=$!
bench_pids+=("$sender")
gst-launch-1.0 -q srtsrc uri="srt://127.0.0.1:$port?mode=caller&$options" ! \
    queue max-size-buffers=0 max-size-time=0 max-size-bytes=67108864 ! gdpdepay ! \
    pvshmsink shared-mem-id="$received" sync=false >/dev/null 2>&1 &
receiver=$!
bench_pids+=("$receiver")
measure "$sender" "$receiver" "gdppay ! srtsink -> srtsrc ! gdpdepay"
