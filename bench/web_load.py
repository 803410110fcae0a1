#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The viewers of bench/web.sh's CPU figures: VIEWERS connections to ID's stream.mjpeg of the
`pvshm web` at URL, each reading FRAMES whole pictures as fast as they come. Prints one JSON
line: wall seconds until every viewer had its pictures.

    bench/web_load.py URL ID VIEWERS FRAMES
"""

import http.client
import json
import sys
import threading
import time
from urllib.parse import urlsplit


def view(host, port, path, frames, failures):
    try:
        connection = http.client.HTTPConnection(host, port, timeout=60)
        connection.request("GET", path)
        response = connection.getresponse()
        for _ in range(frames):
            length = None
            while True:
                line = response.readline()
                if not line:
                    raise EOFError("the stream ended")
                line = line.strip()
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
                elif not line and length:
                    break
            response.read(length + 2)
        connection.close()
    except Exception as error:  # reported by the main thread
        failures.append(error)


def main():
    url, shared_mem_id, viewers, frames = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    parts = urlsplit(url)
    failures = []
    threads = [threading.Thread(target=view, args=(parts.hostname, parts.port,
                                                   f"/api/ids/{shared_mem_id}/stream.mjpeg",
                                                   frames, failures))
               for _ in range(viewers)]
    start = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        sys.exit(f"a viewer failed: {failures[0]}")
    print(json.dumps({"seconds": round(time.monotonic() - start, 3)}))


if __name__ == "__main__":
    main()
