#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# `pvshm serve` -> `pvshm mirror` over SRT on 127.0.0.1 against its anchor, a hand-built
# `pvshmsrc ! gdppay ! srtsink` / `srtsrc ! queue ! gdpdepay ! pvshmsink` pair with the same SRT
# options: frames/s arriving in the mirrored id and CPU per frame of sender and receiver, while a
# videotestsrc producer writes raw frames; and, for pvshm, whose frames arrive with their capture
# time, their latency beyond SRT's own (its receive buffer, 125 ms by default).
#
#   bench/srt.sh [--frames N] [--size WxH] [--format F] [--rate FPS]
#                (defaults: 150 frames of 1920x1080 BGR at 15 fps: 750 Mbit/s)
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
bench_options "frames size format rate" "[--frames N] [--size WxH] [--format F] [--rate FPS]" "$@"
width="${size%x*}"
height="${size#*x}"
bench_setup

pvshm="$build/tools/pvshm"
caps="video/x-raw,format=$format,width=$width,height=$height,framerate=$rate/1"
# The SRT options pvshm serve and mirror use (tools/srt_link.hpp, kSrtBufferOptions).
options="$(sed -n 's/.*"\(sndbuf=[^"]*\)".*/\1/p' tools/srt_link.hpp)"
srt_latency="$(sed -n 's/.*kDefaultSrtLatencyMs = \([0-9]*\);.*/\1/p' tools/srt_link.hpp)"
sent="bench-srt-a-$$"
received="bench-srt-b-$$"
bench_ids+=("$sent" "$received")

report() {
    printf '| %-46s | %8s | %16s | %18s | %22s |\n' "$@"
}

# Measures the pair of processes $1 (sender) and $2 (receiver) while $frames frames reach the id
# $3; prints the table row named $4. $5 "keeps capture time": the frames arrive with the
# sender's capture time, so their latency is shown too.
measure() {
    local sender=$1 receiver=$2 id=$3 name=$4 keeps=${5:-} start end sender_start receiver_start
    local watched
    # The receiver's pvshmsink creates the id when it starts (at most 30 s).
    for _ in $(seq 300); do
        [ -e "${PVSHM_SHM_DIR:-/dev/shm}/pvshm.$id" ] && break
        sleep 0.1
    done
    # The first frames settle SRT's rate estimate.
    if ! timeout 60 "$pvshm" watch "$id" --count 10 >/dev/null 2>&1; then
        report "$name" "none" "-" "-" "-"
        return
    fi
    sender_start="$(cpu_ticks "$sender")"
    receiver_start="$(cpu_ticks "$receiver")"
    start="$(date +%s.%N)"
    # A receiver that falls behind is dropped by srtsink: then the frames stop coming. One
    # refresh at the end: the mean latency (now minus the capture time) of all the frames.
    if ! watched="$(timeout 120 "$pvshm" watch "$id" --count "$frames" --interval 3600 2>/dev/null)"; then
        report "$name" "stalled" "-" "-" "-"
        return
    fi
    end="$(date +%s.%N)"
    # Only frames that kept their capture time say how late they are: beyond SRT's own latency,
    # what pvshm adds (encoding, checks, the copies on both hosts).
    local added="-"
    if [ "$keeps" = "keeps capture time" ]; then
        added="$(sed -n 's/.*latency \([0-9.]*\) ms.*/\1/p' <<<"$watched" | tail -1 |
            awk -v srt="$srt_latency" '{ printf "%.1f (of %.1f)", $1 - srt, $1 }')"
    fi
    report "$name" "$(awk -v a="$start" -v b="$end" -v n="$frames" 'BEGIN { printf "%.1f", n / (b - a) }')" \
        "$(per_frame "$sender_start" "$(cpu_ticks "$sender")")" \
        "$(per_frame "$receiver_start" "$(cpu_ticks "$receiver")")" "$added"
}

machine "$frames frames of ${width}x$height $format at $rate fps over SRT on 127.0.0.1"
report "sender -> receiver" "frames/s" "sender ms/frame" "receiver ms/frame" "ms beyond SRT latency"
report "---" "---" "---" "---" "---"

gst-launch-1.0 -q videotestsrc pattern=ball is-live=true ! "$caps" ! \
    pvshmsink shared-mem-id="$sent" sync=false >/dev/null 2>&1 &
bench_pids+=($!)

# pvshm: serve and mirror.
port="$(free_port SOCK_DGRAM)"
"$pvshm" serve "$sent" "srt://127.0.0.1:$port" --insecure 2>"$work/serve.out" &
serve=$!
bench_pids+=("$serve")
wait_for_line "$work/serve.out" serving
"$pvshm" mirror "srt://127.0.0.1:$port" "$received" --insecure 2>"$work/mirror.out" &
mirror=$!
bench_pids+=("$mirror")
wait_for_line "$work/mirror.out" "receiving from"
measure "$serve" "$mirror" "$received" "pvshm serve -> pvshm mirror (pvshmpay, CRC-32)" \
    "keeps capture time"
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
measure "$sender" "$receiver" "$received" "gdppay ! srtsink -> srtsrc ! gdpdepay"
