#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The browser of bench/web.sh: headless Chromium (Selenium) opens the console's page of ID at
the `pvshm web` of URL, and a script reads the capture time painted into each picture
(bench/stamp_blocks.hpp) from the page's live picture (its canvas) as often as it can (a timer
of 1 ms). Prints one JSON line: wall seconds for FRAMES pictures and the glass-to-glass latency
p50/p99 in ms (the browser's clock when the page first shows a picture, minus the capture
time), warm-up pictures left out.

    bench/web_viewer.py URL ID FRAMES
"""

import json
import shutil
import sys
import tempfile
import time

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

STAMP_BITS = 48
STAMP_BLOCK = 40
WARM_UP = 15
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync")

SCRIPT = """
const [frames, bits, block, done] = arguments;
const picture = document.getElementById("picture");
const context = picture.getContext("2d");
const seen = [];
let last = null;
const started = performance.now();
function look() {
  if (picture.width >= bits * block) {
    const data = context.getImageData(0, block / 2, bits * block, 1).data;
    let stamp = 0n;
    for (let bit = 0; bit < bits; bit++) {
      const x = 4 * (bit * block + block / 2);
      if (data[x] + data[x + 1] + data[x + 2] > 3 * 128) stamp |= 1n << BigInt(bit);
    }
    if (stamp !== last) {
      last = stamp;
      seen.push([performance.timeOrigin + performance.now(), Number(stamp)]);
    }
  }
  if (seen.length >= frames) done({ seconds: (performance.now() - started) / 1000, seen });
  else setTimeout(look, 1);
}
look();
"""


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[int(fraction * (len(ordered) - 1))]


def main():
    url, shared_mem_id, frames = sys.argv[1], sys.argv[2], int(sys.argv[3])
    profile = tempfile.mkdtemp(prefix="pvshm-bench-chromium-")
    options = webdriver.ChromeOptions()
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
    try:
        driver.set_script_timeout(300)
        driver.get(f"{url}ids/{shared_mem_id}")  # the console's page of the id
        result = driver.execute_async_script(SCRIPT, frames + WARM_UP, STAMP_BITS, STAMP_BLOCK)
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
    # The stamp is CLOCK_MONOTONIC; the browser's clock follows CLOCK_REALTIME.
    realtime_minus_monotonic_ms = (time.time() - time.monotonic()) * 1000
    latencies = [shown - (stamp / 1000 + realtime_minus_monotonic_ms)
                 for shown, stamp in result["seen"][WARM_UP:]]
    print(json.dumps({
        "seconds": round(result["seconds"], 3),
        "latency_p50_ms": round(percentile(latencies, 0.5), 1),
        "latency_p99_ms": round(percentile(latencies, 0.99), 1),
    }))


if __name__ == "__main__":
    main()
