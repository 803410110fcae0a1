#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# `pvshm web` with a 1080p30 id: glass-to-glass latency in headless Chromium (bench/web_viewer.py:
# the capture time painted into each frame, bench/stamp_blocks.hpp, read back from the picture the
# browser decoded) next to `pvshm rtsp`'s of the same id to an OpenCV viewer (bench/rtsp_viewer.py)
# and to that viewer reading the web's MJPEG stream (the browser's share apart), and the server's CPU per frame with 1 and with 10 viewers of the id's MJPEG stream
# (bench/web_load.py): one encoder serves them all.
#
#   bench/web.sh [--frames N] [--size WxH]      (defaults: 300 frames of 1920x1080 at 30 fps)
#
# The producer is videotestsrc ! pvshmsink sync=false in a process of its own, stamped right after
# videotestsrc (as bench/rtsp.sh's). PVSHM_BUILD_DIR names the build directory.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/common.sh
source bench/stamped_producer.sh

stamped_setup web "$@"

report() {
    printf '| %-36s | %15s | %8s | %22s |\n' "$@"
}

# One row from the viewer's JSON ($2) and the server's ticks before and after ($3 $4).
row() {
    local seconds p50 p99
    read -r seconds p50 p99 < <(/usr/bin/python3 -c '
import json, sys
row = json.loads(sys.argv[1])
print(row["seconds"], row.get("latency_p50_ms", "-"), row.get("latency_p99_ms", "-"))' "$2")
    local latency="-"
    [ "$p50" != "-" ] && latency="$p50 / $p99"
    report "$1" "$(per_frame "$3" "$4")" "$(awk -v s="$seconds" -v n="$frames" 'BEGIN { printf "%.1f", n / s }')" "$latency"
}

machine "$frames frames of ${width}x$height at 30 fps; browser headless Chromium $(chromium --version 2>/dev/null | awk '{print $2}')"
report "server, viewer" "server ms/frame" "fps seen" "glass-to-glass p50/p99 ms"
report "---" "---" "---" "---"

start_stamped_producer

"$build/tools/pvshm" web --port 0 >"$work/web.out" 2>&1 &
web=$!
bench_pids+=("$web")
wait_for_line "$work/web.out" listening
url="$(grep -o 'http://[^ ]*' "$work/web.out")"

start="$(cpu_ticks "$web")"
seen="$(timeout 300 /usr/bin/python3 bench/web_viewer.py "$url" "$id" "$frames")"
row "pvshm web, Chromium (id page)" "$seen" "$start" "$(cpu_ticks "$web")"

# The same stream to the RTSP row's viewer (FFmpeg reads multipart JPEG too): the server and
# HTTP's share of the latency, apart from the browser's.
start="$(cpu_ticks "$web")"
seen="$(timeout 300 /usr/bin/python3 bench/rtsp_viewer.py "${url%/}/api/ids/$id/stream.mjpeg" "$frames")"
row "pvshm web, OpenCV (MJPEG over HTTP)" "$seen" "$start" "$(cpu_ticks "$web")"

for viewers in 1 10; do
    start="$(cpu_ticks "$web")"
    seen="$(timeout 300 /usr/bin/python3 bench/web_load.py "$url" "$id" "$viewers" "$frames")"
    row "pvshm web, $viewers HTTP viewer(s)" "$seen" "$start" "$(cpu_ticks "$web")"
done
kill "$web"

port="$(free_port SOCK_STREAM)"
"$build/tools/pvshm" rtsp "$id" --port "$port" --json >"$work/rtsp.events" 2>/dev/null &
rtsp=$!
bench_pids+=("$rtsp")
wait_for_line "$work/rtsp.events" stream-added
start="$(cpu_ticks "$rtsp")"
seen="$(timeout 120 /usr/bin/python3 bench/rtsp_viewer.py "rtsp://127.0.0.1:$port/$id" "$frames")"
row "pvshm rtsp (x264enc), OpenCV" "$seen" "$start" "$(cpu_ticks "$rtsp")"
