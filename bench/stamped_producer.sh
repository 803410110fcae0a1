# SPDX-License-Identifier: LGPL-2.1-or-later
# Sourced by bench/rtsp.sh and bench/web.sh after bench/common.sh: their options and the producer
# both serve, videotestsrc at 30 fps into pvshmsink sync=false in a process of its own, its frames
# stamped with their capture time right after videotestsrc (bench/stamp_blocks.hpp, read back by
# the viewers).
# shellcheck shell=bash

# stamped_setup NAME ARGS...: parses [--frames N] [--size WxH] (defaults: 300 frames of
# 1920x1080) into $frames, $width and $height, sets the bench up (bench_setup), and sets $caps
# (I420 at 30 fps) and $id (bench-NAME-PID, cleared on exit).
stamped_setup() {
    local name=$1
    shift
    frames=300
    size=1920x1080
    bench_options "frames size" "[--frames N] [--size WxH]" "$@"
    width="${size%x*}"
    height="${size#*x}"
    bench_setup
    caps="video/x-raw,format=I420,width=$width,height=$height,framerate=30/1"
    id="bench-$name-$$"
    bench_ids+=("$id")
}

# Starts the producer of $id ($producer: its pid, killed on exit) and waits until it plays.
start_stamped_producer() {
    "$build/bench/pvshm-bench-rtsp-anchor" --pipeline "videotestsrc pattern=smpte is-live=true ! \
$caps ! identity name=stamp ! pvshmsink shared-mem-id=$id sync=false" >"$work/producer.out" 2>&1 &
    producer=$!
    bench_pids+=("$producer")
    wait_for_line "$work/producer.out" playing
}
