#!/usr/bin/env bash
# Installs what is missing, builds into build/ and runs the whole test suite.
# Last line: "N passed, N failed, N skipped".
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh

pvshm_install_dependencies
pvshm_build

status=0
meson test -C build --print-errorlogs "$@" || status=$?

# Counted from meson's own record of this run, not from its console output.
summary=0
/usr/bin/python3 - build/meson-logs/testlog.json <<'PY' || summary=$?
import json, sys
passed = failed = skipped = 0
with open(sys.argv[1]) as log:
    for line in log:
        result = json.loads(line)["result"]
        if result in ("OK", "EXPECTEDFAIL"):
            passed += 1
        elif result == "SKIP":
            skipped += 1
        else:
            failed += 1
print(f"{passed} passed, {failed} failed, {skipped} skipped")
sys.exit(1 if failed else 0)
PY
[ $status -eq 0 ] && [ $summary -eq 0 ]
