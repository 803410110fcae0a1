#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Soak test (not part of the test suite): one 1920x1080 GRAY8 writer at 60 frames/s and N readers
# of three kinds at once, C++ (pvshm::Reader), Python (pvshm.Reader under /usr/bin/python3) and
# pipelines (pvshmsrc ! appsink), each checking that every frame it gets is intact. Every 1 to 3 s
# one random reader is SIGKILLed and a new one of the same kind started; one reader of each kind
# (the first three) lives throughout, for its resident memory.
#
#   bench/soak.sh [--minutes M] [--readers N] [--slots S] [--seed R] [--reader-nice K] [--no-rt]
#
# M: minutes (default 10, fractions allowed); N: readers, at least 3 (default 9: 3 of each kind);
# S: writer slots (default 4, the library's); R: seed of the random kills; K: nice value of the
# readers (default 10), so that on a small machine the CPU they and their restarts (Python
# importing numpy, GStreamer loading plugins) take does not delay the writer's wake-ups: the stall
# figure is about pvshm making the writer wait, which it must never do. For the same reason the
# writer runs as a capture process would on a shared machine, SCHED_FIFO (chrt -f 50) when that is
# allowed, unless --no-rt. The writer says, for every stall, how much of it was spent waiting for
# a CPU and how much time the hypervisor stole meanwhile (its stderr, kept with the logs on FAIL),
# and a control loop runs alongside it at the same priority, the same schedule and the same fill
# into private memory without pvshm: its stalls are the machine's own (a floor).
# Prints duration, frames written, frames read per reader kind, torn frames, writer stalls (gaps
# between two publishes longer than 1.5 frame intervals), frames the writer dropped (every slot
# pinned) and resident memory at start and end. Exits 1 when a frame was torn, the writer stalled,
# a reader exited on its own or a kind of reader read nothing. Processes and the segment are
# cleaned up on any exit, Ctrl-C included. PVSHM_BUILD_DIR names the build directory (default:
# build), which must hold the built soak programs (ninja -C build).
set -euo pipefail
cd "$(dirname "$0")/.."

minutes=10
readers=9
slots=4
seed=$$
reader_nice=10
rt=1
width=1920
height=1080
fps=60
while [ $# -gt 0 ]; do
    case "$1" in
    --minutes) minutes="$2"; shift 2 ;;
    --readers) readers="$2"; shift 2 ;;
    --slots) slots="$2"; shift 2 ;;
    --seed) seed="$2"; shift 2 ;;
    --reader-nice) reader_nice="$2"; shift 2 ;;
    --no-rt) rt=0; shift ;;
    *)
        echo "usage: $0 [--minutes M] [--readers N] [--slots S] [--seed R] [--reader-nice K]" \
            "[--no-rt]" >&2
        exit 2
        ;;
    esac
done
if ! [[ "$readers" =~ ^[0-9]+$ ]] || [ "$readers" -lt 3 ] ||
    ! [[ "$minutes" =~ ^[0-9]*\.?[0-9]+$ ]] || ! [[ "$seed" =~ ^[0-9]+$ ]] ||
    ! [[ "$reader_nice" =~ ^-?[0-9]+$ ]]; then
    echo "$0: --readers takes a whole number >= 3, --minutes a positive number" >&2
    exit 2
fi
RANDOM=$seed
duration_us=$(awk -v m="$minutes" 'BEGIN { printf "%d", m * 60e6 }')

build="${PVSHM_BUILD_DIR:-build}"
writer_bin="$build/bench/pvshm-soak-writer"
cpp_bin="$build/bench/pvshm-soak-reader"
gst_bin="$build/bench/pvshm-soak-gst"
for program in "$writer_bin" "$cpp_bin" "$gst_bin"; do
    if [ ! -x "$program" ]; then
        echo "$0: $program is missing: build first (ninja -C $build)" >&2
        exit 2
    fi
done

# The plugin (GST_PLUGIN_PATH) and the Python module (PYTHONPATH) of the build tree.
set +u
eval "$(meson devenv -C "$build" --dump)"
set -u

id="soak-$$"
work="$(mktemp -d -t pvshm-soak.XXXXXX)"
kinds=(cpp python gst)
declare -A kind_name=([cpp]="C++" [python]="Python" [gst]="pvshmsrc")
declare -A kills=([cpp]=0 [python]=0 [gst]=0)
reader_pid=()
reader_kind=()
reader_runs=()
writer_pid=
control_pid=
unexpected=0
keep_work=0

cleanup() {
    trap - EXIT INT TERM
    local pid
    for pid in "${reader_pid[@]}" $writer_pid $control_pid; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    sleep 0.5
    for pid in "${reader_pid[@]}" $writer_pid $control_pid; do
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    rm -f "${PVSHM_SHM_DIR:-/dev/shm}/pvshm.$id"
    if [ "$keep_work" = 1 ]; then
        echo "logs kept in $work" >&2
    else
        rm -rf "$work"
    fi
}
trap cleanup EXIT
trap 'echo "interrupted" >&2; exit 130' INT
trap 'exit 143' TERM

now_us() { echo "${EPOCHREALTIME/./}"; }

# True while $1 runs (a zombie, exited but not yet waited for, does not count).
running() {
    local state
    state="$(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null)" || return 1
    [ -n "$state" ] && [ "$state" != Z ]
}

# "VmRSS RssAnon RssShmem" of a process, in kB.
rss_of() {
    awk '/^VmRSS:/ { t = $2 } /^RssAnon:/ { a = $2 } /^RssShmem:/ { s = $2 }
         END { printf "%d %d %d\n", t, a, s }' "/proc/$1/status"
}

start_reader() {
    local i=$1 kind=${reader_kind[$1]}
    reader_runs[i]=$((${reader_runs[i]:-0} + 1))
    local base="$work/$kind.$i.${reader_runs[i]}"
    case "$kind" in
    cpp) nice -n "$reader_nice" "$cpp_bin" "$id" "$width" "$height" "$base.stats" 2>"$base.err" & ;;
    python) nice -n "$reader_nice" /usr/bin/python3 bench/soak_reader.py "$id" "$width" "$height" "$base.stats" \
        2>"$base.err" & ;;
    gst) nice -n "$reader_nice" "$gst_bin" "$id" "$width" "$height" "$base.stats" 2>"$base.err" & ;;
    esac
    reader_pid[i]=$!
}

# The writer first, so that every reader finds a segment with frames coming.
writer_priority=(chrt -f 50)
writer_policy="SCHED_FIFO 50"
if [ "$rt" = 0 ] || ! chrt -f 50 true 2>/dev/null; then
    writer_priority=()
    writer_policy="normal priority"
fi
"${writer_priority[@]}" "$writer_bin" "$id" "$width" "$height" "$fps" "$slots" "$work/writer.stats" \
    >"$work/writer.out" 2>"$work/writer.err" &
writer_pid=$!
"${writer_priority[@]}" "$writer_bin" - "$width" "$height" "$fps" "$slots" "$work/control.stats" \
    >/dev/null 2>"$work/control.err" &
control_pid=$!
for _ in $(seq 100); do
    grep -q '^\(ready\|error\)' "$work/writer.out" 2>/dev/null && break
    sleep 0.1
done
if ! grep -q '^ready' "$work/writer.out"; then
    echo "$0: the writer did not start:" >&2
    cat "$work/writer.out" "$work/writer.err" >&2
    exit 1
fi

for ((i = 0; i < readers; i++)); do
    reader_kind[i]=${kinds[i % 3]}
    start_reader "$i"
done
echo "soak: $readers readers on $id (${width}x$height GRAY8, $fps frames/s, $slots slots)," \
    "$minutes min, seed $seed" >&2

start=$(now_us)
end=$((start + duration_us))
# Resident memory "at start": once every process has mapped the segment and run for a while.
warmup_us=$((duration_us / 6 < 10000000 ? duration_us / 6 : 10000000))
rss_start=()
next_progress=$((start + 60000000))
while :; do
    now=$(now_us)
    [ "$now" -ge "$end" ] && break
    # Sleep 1.0 to 3.0 s (less at the end), then kill one reader.
    pause_ms=$((1000 + RANDOM % 2001))
    left_ms=$(((end - now) / 1000))
    if [ "$pause_ms" -gt "$left_ms" ]; then pause_ms=$left_ms; fi
    sleep "$((pause_ms / 1000)).$(printf '%03d' $((pause_ms % 1000)))"

    if ! running "$writer_pid"; then
        echo "$0: the writer exited:" >&2
        cat "$work/writer.out" "$work/writer.err" >&2
        keep_work=1
        exit 1
    fi
    # A reader that exited on its own (not killed by us) is a failure; it is restarted.
    for ((i = 0; i < readers; i++)); do
        if ! running "${reader_pid[i]}"; then
            status=0
            wait "${reader_pid[i]}" || status=$?
            unexpected=$((unexpected + 1))
            keep_work=1
            echo "soak: ${kind_name[${reader_kind[i]}]} reader $i exited (status $status):" \
                "$(tail -n 3 "$work/${reader_kind[i]}.$i.${reader_runs[i]}.err")" >&2
            start_reader "$i"
        fi
    done
    if [ ${#rss_start[@]} -eq 0 ] && [ "$(now_us)" -ge $((start + warmup_us)) ]; then
        rss_start=("$(rss_of "$writer_pid")" "$(rss_of "${reader_pid[0]}")"
            "$(rss_of "${reader_pid[1]}")" "$(rss_of "${reader_pid[2]}")")
    fi
    [ "$(now_us)" -ge "$end" ] && break
    if [ "$readers" -gt 3 ]; then
        i=$((3 + RANDOM % (readers - 3)))
        kill -KILL "${reader_pid[i]}" 2>/dev/null || true
        wait "${reader_pid[i]}" 2>/dev/null || true
        kills[${reader_kind[i]}]=$((${kills[${reader_kind[i]}]} + 1))
        start_reader "$i"
    fi
    if [ "$(now_us)" -ge "$next_progress" ]; then
        echo "soak: $(((next_progress - start) / 60000000)) min," \
            "$(awk '{ print $1 }' "$work/writer.stats") frames written" >&2
        next_progress=$((next_progress + 60000000))
    fi
done

rss_end=("$(rss_of "$writer_pid")" "$(rss_of "${reader_pid[0]}")"
    "$(rss_of "${reader_pid[1]}")" "$(rss_of "${reader_pid[2]}")")
if [ ${#rss_start[@]} -eq 0 ]; then rss_start=("${rss_end[@]}"); fi
# The long-lived readers' own counts, before they stop.
long_lived=()
for i in 0 1 2; do
    long_lived[i]=$(awk '{ f = $1 } END { print f + 0 }' \
        "$work/${reader_kind[i]}.$i.${reader_runs[i]}.stats" 2>/dev/null || echo 0)
done

# Readers first, then the writer (which writes its final figures and removes the segment).
for pid in "${reader_pid[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
done
for pid in "${reader_pid[@]}"; do
    wait "$pid" 2>/dev/null || true
done
reader_pid=()
kill -TERM "$writer_pid" "$control_pid"
wait "$writer_pid" || true
wait "$control_pid" || true
writer_pid=
control_pid=

read -r written dropped stalls longest_gap_ns elapsed_ns _ cpu_stalls <"$work/writer.stats"
read -r _ _ control_stalls control_gap_ns _ _ _ <"$work/control.stats"
interval_ms=$(awk -v f="$fps" 'BEGIN { printf "%.1f", 1.5e3 / f }')
torn_total=0
nothing_read=0

mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
rss_line() {
    local -a a b
    read -r -a a <<<"$2"
    read -r -a b <<<"$3"
    printf '  %-28s %5s -> %5s MiB  (anonymous %s -> %s MiB, shared memory %s -> %s MiB)\n' "$1" \
        "$(mib "${a[0]}")" "$(mib "${b[0]}")" "$(mib "${a[1]}")" "$(mib "${b[1]}")" \
        "$(mib "${a[2]}")" "$(mib "${b[2]}")"
}

echo
echo "pvshm soak test: ${width}x$height GRAY8 at $fps frames/s, $slots slots, $readers readers" \
    "($((readers / 3 + (readers % 3 > 0))) C++, $((readers / 3 + (readers % 3 > 1))) Python," \
    "$((readers / 3)) pvshmsrc; nice $reader_nice), writer $writer_policy, seed $seed"
awk -v ns="$elapsed_ns" 'BEGIN { printf "duration                     %.1f s\n", ns / 1e9 }'
awk -v n="$written" -v ns="$elapsed_ns" \
    'BEGIN { printf "frames written               %d (%.2f frames/s)\n", n, n / (ns / 1e9) }'
for kind in "${kinds[@]}"; do
    read -r frames torn backwards < <(cat "$work/$kind".*.stats 2>/dev/null |
        awk '{ f += $1; t += $2; b += $3 } END { printf "%d %d %d\n", f, t, b }')
    runs=$(find "$work" -name "$kind.*.err" | wc -l)
    torn_total=$((torn_total + torn))
    if [ "$frames" -eq 0 ]; then nothing_read=1; fi
    for i in 0 1 2; do
        if [ "${reader_kind[i]}" = "$kind" ]; then long=${long_lived[i]}; fi
    done
    printf 'frames read, %-16s %d over %d incarnations (%d killed); long-lived reader: %d;' \
        "${kind_name[$kind]}" "$frames" "$runs" "${kills[$kind]}" "$long"
    printf ' out of order: %d\n' "$backwards"
done
echo "torn frames seen             $torn_total"
awk -v n="$stalls" -v ms="$interval_ms" -v g="$longest_gap_ns" \
    -v c="$cpu_stalls" 'BEGIN { printf "writer stalls > %s ms      %d (longest gap between publishes %.1f ms; %d explained by waiting for a CPU or host steal)\n", ms, n, g / 1e6, c }'
awk -v n="$control_stalls" -v g="$control_gap_ns" \
    'BEGIN { printf "control loop stalls          %d (longest gap %.1f ms; same schedule and fill, no pvshm)\n", n, g / 1e6 }'
echo "writer frames dropped        $dropped (every slot pinned)"
echo "readers exited on their own  $unexpected"
echo "resident memory, start (after warm-up) -> end:"
rss_line "writer" "${rss_start[0]}" "${rss_end[0]}"
for i in 0 1 2; do
    rss_line "${kind_name[${reader_kind[i]}]} reader (long-lived)" "${rss_start[i + 1]}" \
        "${rss_end[i + 1]}"
done
if [ "$torn_total" -gt 0 ]; then
    grep -h TORN "$work"/*.err | head -n 5
fi

if [ "$torn_total" -gt 0 ] || [ "$stalls" -gt 0 ] || [ "$unexpected" -gt 0 ] ||
    [ "$nothing_read" = 1 ]; then
    keep_work=1
    echo "FAIL"
    exit 1
fi
echo "PASS"
