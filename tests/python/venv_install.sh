#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The README's virtual environment install, from outside the tree: `pip install
# --no-build-isolation SOURCE` (pyproject.toml, meson-python) into a venv made with
# --system-site-packages, then one process of the venv writes a frame and another reads it back.
set -euo pipefail
source_dir=$1
python=/usr/bin/python3
"$python" -c 'import mesonpy' 2>/dev/null || { echo "meson-python not found (Debian: python3-mesonpy)"; exit 77; }
"$python" -c 'import ensurepip' 2>/dev/null || { echo "venv cannot install pip (Debian: python3-venv)"; exit 77; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# A copy of the tree's files: meson-python writes its own files into the source directory.
mkdir "$work/src"
git -C "$source_dir" ls-files -z --cached --others --exclude-standard |
    (cd "$source_dir" && tar --null -T - -cf -) | tar -xf - -C "$work/src"
"$python" -m venv --system-site-packages "$work/v"
# --no-index: nothing from the network; numpy comes from the system.
"$work/v/bin/pip" install --quiet --no-build-isolation --no-index "$work/src"

cd "$work"
mkdir shm
export PVSHM_SHM_DIR=$work/shm
id="venv-install-$$"
v/bin/python - "$id" "$work" <<'PY'
import sys
import numpy as np
import pvshm
shared_mem_id, work = sys.argv[1], sys.argv[2]
assert pvshm.__file__.startswith(work + "/v/"), f"pvshm imported from {pvshm.__file__}"
frame = np.arange(48 * 64 * 3, dtype=np.uint32).astype(np.uint8).reshape(48, 64, 3)
pvshm.write_image_array_to_shared_memory(shared_mem_id, frame)
np.save(f"{work}/frame.npy", frame)
PY
v/bin/python - "$id" "$work" <<'PY'
import sys
import numpy as np
import pvshm
shared_mem_id, work = sys.argv[1], sys.argv[2]
read = pvshm.read_image_from_shared_memory(shared_mem_id, {"width": 64, "height": 48})
assert np.array_equal(read, np.load(f"{work}/frame.npy")), "the frame read differs from the one written"
pvshm.dev_clear_shared_memory(shared_mem_id)
print(f"pvshm {pvshm.__version__} from {pvshm.__file__}: a frame written and read back")
PY
