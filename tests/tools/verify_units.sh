#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# `systemd-analyze verify` over the systemd units given (templates are checked with an instance).
# It exits 0 after warnings such as an unknown key, which it prints: any output fails the test.
set -euo pipefail
command -v systemd-analyze >/dev/null || { echo "systemd-analyze not found (Debian: systemd)"; exit 77; }
output=$(systemd-analyze verify "$@" 2>&1) || { echo "$output"; exit 1; }
if [ -n "$output" ]; then
    echo "$output"
    exit 1
fi
echo "verified: $*"
