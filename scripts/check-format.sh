#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Fails when a C++ source of the project is not formatted as .clang-format says, or when a
# source file (C++, Python, shell, meson) lacks its SPDX license line.
set -euo pipefail
cd "$(dirname "$0")/.."
sources() {
    if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
        git ls-files -z "$@"
    else
        local patterns=()
        for pattern in "$@"; do patterns+=(-o -name "${pattern##*/}"); done
        find . -path ./build\* -prune -o \( -false "${patterns[@]}" \) -print0
    fi
}
sources '*.cpp' '*.hpp' '*.h' | xargs -0 -r clang-format --dry-run --Werror
missing=$(sources '*.cpp' '*.hpp' '*.h' '*.py' '*.pyi' '*.sh' '*meson.build' |
    xargs -0 -r grep -L 'SPDX-License-Identifier: ' || true)
if [ -n "$missing" ]; then
    echo "no SPDX-License-Identifier line in:" >&2
    echo "$missing" >&2
    exit 1
fi
