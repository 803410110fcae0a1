#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# `pvshm serve --encode raw|jpeg|lossless` -> `pvshm mirror` over SRT on 127.0.0.1, 1080p30 BGR
# from a live producer (videotestsrc's SMPTE bars moving sideways, or a photo-like picture,
# bench/natural_picture.py) sent at --max-bandwidth 1000: per encoding, frames/s arriving in the
# mirrored id, frames lost on the way (its drops), how long after capture each frame became
# readable there beyond SRT's own latency (bench/link_measure.py), sender and receiver CPU per
# frame (/proc/PID/stat), the sender's CPU against raw's, and the bytes a frame takes on the wire
# against its raw size (pvshmpay into a file, 30 frames). Raw is also measured with --mss 9000
# (loopback's MTU is 65536); where the SRT library takes less, serve sends at what it takes and
# the row says so. The mirror runs with --retry: a link
# that breaks under load reconnects, and what it lost shows as lost frames.
#
#   bench/link.sh [--seconds S] [--slots N]
#       --seconds: per row (default 10; the README's figures: 60); --slots: the producer's
#       pvshmsink slots (default 4), how long serve may wait for a core before a frame it has not
#       read yet is overwritten (4 slots at 30 fps: 100 ms)
#
# The producer is a process of its own and is not counted. PVSHM_BUILD_DIR names the build
# directory.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/common.sh

seconds=10
slots=4
bench_options "seconds slots" "[--seconds S] [--slots N]" "$@"
bench_setup

width=1920
height=1080
rate=30
max_bandwidth=1000
pvshm="$build/tools/pvshm"
srt_latency="$(sed -n 's/.*kDefaultSrtLatencyMs = \([0-9]*\);.*/\1/p' tools/srt_link.hpp)"
raw_caps="video/x-raw,format=BGR,width=$width,height=$height,framerate=$rate/1"
/usr/bin/python3 bench/natural_picture.py "$work/natural.png" --size "${width}x$height"
# The two pictures, up to the payloader.
pattern=(videotestsrc pattern=smpte horizontal-speed=4)
natural=(filesrc "location=$work/natural.png" ! pngdec ! videoconvert ! "video/x-raw,format=BGR" !
    imagefreeze)
sent="bench-link-a-$$"
received="bench-link-b-$$"
bench_ids+=("$sent" "$received")

report() {
    printf '| %-28s | %8s | %5s | %20s | %10s | %12s | %8s | %13s |\n' "$@"
}

# Bytes on the wire per frame against the raw frame: pvshmpay encoding=$1 into a file, 30 frames
# of the picture $2.. (up to the payloader).
wire_ratio() {
    local encoding=$1
    shift
    gst-launch-1.0 -q "$@" num-buffers=30 ! "$raw_caps" ! pvshmpay encoding="$encoding" ! \
        filesink location="$work/wire.pvs" >/dev/null 2>&1
    awk -v raw=$((30 * width * height * 3)) -v wire="$(stat -c %s "$work/wire.pvs")" \
        'BEGIN { printf "%.2fx", raw / wire }'
}

raw_sender=""
# Runs serve (options $2) and mirror (options $3) on the producer's id for $seconds; prints the
# row named $1, with the wire ratio $4.
measure() {
    local name=$1 serve_options=$2 mirror_options=$3 ratio=$4 port serve mirror measured used_mss \
        serve_start mirror_start frames fps lost p50 p99 sender receiver versus
    port="$(free_port SOCK_DGRAM)"
    # shellcheck disable=SC2086 # the options, one word each
    "$pvshm" serve "$sent" "srt://127.0.0.1:$port" --insecure --max-bandwidth "$max_bandwidth" \
        $serve_options 2>"$work/serve.out" &
    serve=$!
    bench_pids+=("$serve")
    wait_for_line "$work/serve.out" serving
    # An MSS larger than its SRT library takes runs at what it takes, and serve says so.
    used_mss="$(sed -n 's/^.*--mss [0-9]*: .*: using \([0-9]*\)$/\1/p' "$work/serve.out")"
    [ -n "$used_mss" ] && name="$name (sent at MSS $used_mss)"
    # shellcheck disable=SC2086
    "$pvshm" mirror "srt://127.0.0.1:$port" "$received" --insecure --retry $mirror_options \
        2>"$work/mirror.out" &
    mirror=$!
    bench_pids+=("$mirror")
    wait_for_line "$work/mirror.out" "receiving from"
    # The first frames settle SRT's rate estimate.
    if ! timeout 60 "$pvshm" watch "$received" --count 10 >/dev/null 2>&1; then
        report "$name" "none" "-" "-" "-" "-" "-" "$ratio"
    else
        serve_start="$(cpu_ticks "$serve")"
        mirror_start="$(cpu_ticks "$mirror")"
        measured="$(/usr/bin/python3 bench/link_measure.py "$received" --seconds "$seconds" \
            --srt-latency "$srt_latency")"
        # shellcheck disable=SC2034 # frames: per_frame's divisor
        read -r _ frames _ fps _ lost _ _ p50 _ p99 <<<"$measured"
        sender="$(per_frame "$serve_start" "$(cpu_ticks "$serve")")"
        receiver="$(per_frame "$mirror_start" "$(cpu_ticks "$mirror")")"
        [ -z "$raw_sender" ] && raw_sender="$sender"
        versus="$(awk -v a="$sender" -v b="$raw_sender" 'BEGIN { printf "%.2fx", a / b }')"
        report "$name" "$fps" "$lost" "$p50 / $p99" "$sender" "$receiver" "$versus" "$ratio"
    fi
    kill "$serve" "$mirror" 2>/dev/null || true
    wait "$serve" "$mirror" 2>/dev/null || true
    "$pvshm" clear --force "$received" >/dev/null
}

machine "${width}x$height BGR at $rate fps ($slots slots), $seconds s per row, pvshm serve --max-bandwidth" \
    "$max_bandwidth -> pvshm mirror over SRT on 127.0.0.1 (SRT latency $srt_latency ms; a frame" \
    "interval is $((1000 / rate)) ms)"
report "picture, --encode" "frames/s" "lost" "ms beyond SRT p50/p99" "sender ms/f" \
    "receiver ms/f" "sender/raw" "raw/wire bytes"
report "---" "---" "---" "---" "---" "---" "---" "---"

gst-launch-1.0 -q "${pattern[@]}" is-live=true ! "$raw_caps" ! \
    pvshmsink shared-mem-id="$sent" sync=false slots="$slots" >/dev/null 2>&1 &
producer=$!
bench_pids+=("$producer")
measure "moving bars, raw (MSS 1500)" "" "" "1.00x"
measure "moving bars, jpeg (q 90)" "--encode jpeg" "" "$(wire_ratio jpeg "${pattern[@]}")"
measure "moving bars, lossless" "--encode lossless" "" "$(wire_ratio lossless "${pattern[@]}")"
measure "moving bars, raw, --mss 9000" "--mss 9000" "--mss 9000" "1.00x"
kill "$producer"
wait "$producer" 2>/dev/null || true

gst-launch-1.0 -q "${natural[@]}" is-live=true ! "$raw_caps" ! \
    pvshmsink shared-mem-id="$sent" sync=false slots="$slots" >/dev/null 2>&1 &
producer=$!
bench_pids+=("$producer")
measure "photo-like, lossless" "--encode lossless" "" "$(wire_ratio lossless "${natural[@]}")"
measure "photo-like, jpeg (q 90)" "--encode jpeg" "" "$(wire_ratio jpeg "${natural[@]}")"
