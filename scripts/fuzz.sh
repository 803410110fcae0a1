#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Builds a libFuzzer target with clang (fuzzer + ASan + UBSan) into build-fuzz/ and runs it for
# SECONDS (default 60) on a working copy of its committed corpus:
#   PVSHM_FUZZ_TARGET=segment (default)  tests/fuzz/fuzz_segment.cpp on tests/fuzz/corpus
#   PVSHM_FUZZ_TARGET=stream             tests/fuzz/fuzz_stream.cpp (pvshmdepay's parser) on
#                                        tests/fuzz/corpus-stream
# A crash leaves its input in build-fuzz/artifacts/ and fails the script: fix it, then commit the
# input under the corpus so that the replay test (fuzz_replay, fuzz_stream_replay) keeps it fixed.
#   scripts/fuzz.sh [SECONDS] [extra libFuzzer options...]
#   PVSHM_FUZZ_JOBS=N runs N fuzzing processes at once (default 1).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true

for tool in clang++ pkg-config; do
    command -v "$tool" >/dev/null || { echo "fuzz.sh: $tool is missing (apt install clang libclang-rt-14-dev)" >&2; exit 1; }
done

target=${PVSHM_FUZZ_TARGET:-segment}
case "$target" in
segment)
    sources=(lib/src/*.cpp tests/fuzz/fuzz_segment.cpp)
    libs=($(pkg-config --libs opencv4 libturbojpeg libpng) -lyuv -lpthread)
    corpus=tests/fuzz/corpus
    max_len=40000
    ;;
stream)
    # The parser needs the library's metadata form and zlib, nothing of GStreamer.
    sources=(lib/src/metadata.cpp lib/stream/stream_format.cpp tests/fuzz/fuzz_stream.cpp)
    libs=(-lz)
    corpus=tests/fuzz/corpus-stream
    max_len=20000
    ;;
*)
    echo "fuzz.sh: PVSHM_FUZZ_TARGET is segment or stream, not '$target'" >&2
    exit 1
    ;;
esac

out=build-fuzz
mkdir -p "$out/obj" "$out/corpus-$target" "$out/artifacts"
flags=(-std=c++17 -O1 -g -fno-omit-frame-pointer -Wall -Wextra -Werror
    -fsanitize=address,undefined -fno-sanitize-recover=all
    -Ilib/include -Ilib/src -Ilib/stream $(pkg-config --cflags opencv4))

# The sources and the target, instrumented for coverage (ninja-free: a dozen files).
objects=()
pids=()
for src in "${sources[@]}"; do
    obj="$out/obj/$(basename "${src%.cpp}").o"
    objects+=("$obj")
    if [ ! -f "$obj" ] || [ "$src" -nt "$obj" ] || [ -n "$(find lib/src lib/include lib/stream -newer "$obj" -print -quit)" ]; then
        clang++ "${flags[@]}" -fsanitize=fuzzer-no-link -c "$src" -o "$obj" &
        pids+=($!)
    fi
done
for pid in "${pids[@]}"; do wait "$pid"; done
clang++ "${flags[@]}" -fsanitize=fuzzer "${objects[@]}" -o "$out/fuzz_$target" "${libs[@]}"

# Leaks of the fuzzed code are findings too; the decoders' own caches are not ours.
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
jobs=${PVSHM_FUZZ_JOBS:-1}
options=(-max_total_time="$seconds" -max_len="$max_len" -timeout=10 -rss_limit_mb=2048
    -artifact_prefix="$out/artifacts/" -print_final_stats=1)
[ "$jobs" -gt 1 ] && options+=(-fork="$jobs")
"$out/fuzz_$target" "${options[@]}" "$@" "$out/corpus-$target" "$corpus"
