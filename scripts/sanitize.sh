#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Sanitizer runs, zero reports allowed:
#   build-asan/  AddressSanitizer + UndefinedBehaviorSanitizer (fatal): suites lib and elements.
#   build-tsan/  ThreadSanitizer: the library's in-process concurrency tests (see TSAN_TESTS).
# Usage: scripts/sanitize.sh [asan|tsan]...   (default: both)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh
pvshm_install_dependencies

runs=("$@")
[ ${#runs[@]} -gt 0 ] || runs=(asan tsan)

# Only what the sanitized suites need: no Python module (its interpreter is not instrumented),
# no command-line tool, examples or benchmarks. -O1, as the sanitizers' documentation advises:
# readable reports at a third less compile time than -O2.
common_options=(-Dpython=disabled -Dtools=disabled -Dexamples=disabled -Dbench=disabled
    -Doptimization=1 -Ddebug=true -Db_lundef=false)
supp="$PWD/tests/sanitize"

# Configures `dir` with the given options; TARGETS (an array, when set) limits what is built.
setup() {
    local dir=$1
    shift
    if [ -f "$dir/build.ninja" ]; then
        meson configure "$dir" "$@" >/dev/null
    else
        meson setup "$dir" "$@" >/dev/null
    fi
    ninja -C "$dir" "${TARGETS[@]}"
}
TARGETS=()

run_asan() {
    setup build-asan "${common_options[@]}" -Db_sanitize=address,undefined \
        -Dcpp_args=-fno-sanitize-recover=all -Dcpp_link_args=-fno-sanitize-recover=all
    export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:suppressions=$supp/ubsan.supp"
    export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:detect_stack_use_after_return=1"
    export LSAN_OPTIONS="suppressions=$supp/lsan.supp:print_suppressions=0"
    meson test -C build-asan --print-errorlogs --logbase sanitize-asan --suite lib --suite faults
    # gst-launch-1.0 and gst-plugin-scanner are not instrumented but load the instrumented
    # plugin: the runtime must come first. GStreamer keeps type and registry data for the
    # process's lifetime by design, so leak detection is off for the elements.
    LD_PRELOAD="$(g++ -print-file-name=libasan.so):$(g++ -print-file-name=libubsan.so)" \
        ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:verify_asan_link_order=0" \
        meson test -C build-asan --print-errorlogs --logbase sanitize-asan-elements \
        --suite elements
}

# Tests whose threads share one mapping in one process. Cross-process tests are out of scope:
# TSan cannot see into the other process (and TSan-built helpers start too slowly for the
# 200-round fault tests), so test_faults runs only its in-process threads.
TSAN_TESTS=(test_writer_reader test_seed_api)
TSAN_FAULTS_FILTER='Faults.ReaderThreads*:Faults.ReaderKilled*'

run_tsan() {
    # GCC warns that TSan does not model standalone fences (-Wtsan): the seqlock's acquire fence
    # and the wake's seq_cst fence. TSan still sees the release/acquire pairs on the seqlock
    # and `latest`, which order what readers copy; none of its reports is suppressed for pvshm.
    # Only the programs these tests run: the rest of the tree under TSan is build time for nothing.
    TARGETS=(tests/lib/test_writer_reader tests/lib/test_seed_api tests/faults/test_faults
        tests/faults/pvshm-fault-helper)
    setup build-tsan "${common_options[@]}" -Db_sanitize=thread -Dplugins=disabled \
        -Dcpp_args=-Wno-tsan
    TARGETS=()
    export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$supp/tsan.supp"
    meson test -C build-tsan --no-rebuild --print-errorlogs --logbase sanitize-tsan \
        "${TSAN_TESTS[@]}"
    meson test -C build-tsan --no-rebuild --print-errorlogs --logbase sanitize-tsan-faults \
        test_faults --test-args="--gtest_filter=$TSAN_FAULTS_FILTER"
}

# Each run's results: <build dir>/meson-logs/sanitize-*.json (scripts/test.sh counts them).
rm -f build-asan/meson-logs/sanitize-*.json build-tsan/meson-logs/sanitize-*.json
for run in "${runs[@]}"; do
    start=$SECONDS
    "run_$run"
    echo "sanitize $run: clean in $((SECONDS - start)) s"
done
