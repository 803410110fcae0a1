#!/usr/bin/env bash
# Fails when a C++ source of the project is not formatted as .clang-format says.
set -euo pipefail
cd "$(dirname "$0")/.."
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    git ls-files -z '*.cpp' '*.hpp' '*.h'
else
    find lib plugins tools python tests examples bench \( -name '*.cpp' -o -name '*.hpp' -o -name '*.h' \) -print0
fi | xargs -0 -r clang-format --dry-run --Werror
