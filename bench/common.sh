# SPDX-License-Identifier: LGPL-2.1-or-later
# Sourced by bench/rtsp.sh, bench/srt.sh and bench/web.sh (from the top of the tree): their
# options, the build tree's environment, what is removed on exit, CPU time per frame, and the
# machine they ran on.
# shellcheck shell=bash

# bench_options NAMES USAGE ARGS...: sets the variable of each --NAME among NAMES (space-separated;
# --a-b sets a_b) to the value after it; anything else prints "usage: SCRIPT USAGE" and exits 1.
bench_options() {
    local names=" $1 " usage=$2 name
    shift 2
    while [ $# -gt 0 ]; do
        name="${1#--}"
        name="${name//-/_}"
        if [ "$name" = "$1" ] || [[ "$names" != *" $name "* ]] || [ $# -lt 2 ]; then
            echo "usage: $0 $usage" >&2
            exit 1
        fi
        printf -v "$name" '%s' "$2"
        shift 2
    done
}

# The tools, plugin and Python module of the build tree: $build, from PVSHM_BUILD_DIR (default
# build). On exit, the processes in $bench_pids are killed, the ids in $bench_ids cleared and the
# work directory $work removed (kept when PVSHM_BENCH_KEEP is set).
bench_setup() {
    build="${PVSHM_BUILD_DIR:-build}"
    set +u
    eval "$(meson devenv -C "$build" --dump)"
    set -u
    bench_pids=()
    bench_ids=()
    work="$(mktemp -d)"
    trap bench_cleanup EXIT
}

bench_cleanup() {
    local pid
    for pid in "${bench_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    if [ ${#bench_ids[@]} -gt 0 ]; then
        "$build/tools/pvshm" clear --force "${bench_ids[@]}" >/dev/null 2>&1 || true
    fi
    if [ -n "${PVSHM_BENCH_KEEP:-}" ]; then echo "kept $work" >&2; else rm -rf "$work"; fi
}

# A free port on 127.0.0.1 for sockets of type $1 (SOCK_STREAM or SOCK_DGRAM).
free_port() {
    /usr/bin/python3 -c "import socket; s = socket.socket(socket.AF_INET, socket.$1); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])"
}

# utime + stime of a process, in clock ticks (the fields after "pid (comm)").
cpu_ticks() {
    sed 's/.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'
}

# ms of CPU per frame ($frames of them) from two tick counts.
per_frame() {
    awk -v a="$1" -v b="$2" -v t="$(getconf CLK_TCK)" -v n="$frames" \
        'BEGIN { printf "%.2f", (b - a) * 1000 / t / n }'
}

# Waits (at most 30 s) for a line matching $2 in file $1, which a process started in the
# background may not have created yet (tail -F waits for it).
wait_for_line() {
    grep -q -m1 "$2" < <(timeout 30 tail -n +1 -F "$1" 2>/dev/null)
}

# The machine line: cores, CPU and load, then what was measured ($*).
machine() {
    echo "Machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)," \
        "load average $(cut -d' ' -f1-3 /proc/loadavg); $*"
}
