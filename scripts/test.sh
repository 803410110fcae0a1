#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Installs what is missing, builds into build/ and runs the whole test suite.
#   --sanitize  also the AddressSanitizer/UBSan and ThreadSanitizer runs (scripts/sanitize.sh)
#   --fuzz      also a 60-second fuzzing run (scripts/fuzz.sh)
# Other arguments go to meson test. Last line: "N passed, N failed, N skipped".
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh

pvshm_install_dependencies
pvshm_build

sanitize=0
fuzz=0
args=()
for arg in "$@"; do
    case $arg in
    --sanitize) sanitize=1 ;;
    --fuzz) fuzz=1 ;;
    *) args+=("$arg") ;;
    esac
done

status=0
meson test -C build --print-errorlogs "${args[@]}" || status=$?
logs=(build/meson-logs/testlog.json)
if [ $sanitize -eq 1 ]; then
    scripts/sanitize.sh || status=1
    logs+=(build-asan/meson-logs/sanitize-*.json build-tsan/meson-logs/sanitize-*.json)
fi
fuzz_result=none
if [ $fuzz -eq 1 ]; then
    if scripts/fuzz.sh 60; then fuzz_result=OK; else fuzz_result=FAIL; status=1; fi
fi

# Counted from meson's own records of this run (and the fuzzing run's exit), not from output.
summary=0
/usr/bin/python3 - "$fuzz_result" "${logs[@]}" <<'PY' || summary=$?
import json, sys
results = [] if sys.argv[1] == "none" else [sys.argv[1]]
for path in sys.argv[2:]:
    try:
        with open(path) as log:
            results += [json.loads(line)["result"] for line in log]
    except FileNotFoundError:
        results.append("MISSING")  # a run that stopped before it could record anything
passed = sum(r in ("OK", "EXPECTEDFAIL") for r in results)
skipped = sum(r == "SKIP" for r in results)
failed = len(results) - passed - skipped
print(f"{passed} passed, {failed} failed, {skipped} skipped")
sys.exit(1 if failed else 0)
PY
[ $status -eq 0 ] && [ $summary -eq 0 ]
