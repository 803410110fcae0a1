// SPDX-License-Identifier: LGPL-2.1-or-later
// What both pages of pvshm web share: reading the API, rates, the state of an id, formatting.
"use strict";

// The end of a part's headers in a multipart stream.
const HEADER_END = [13, 10, 13, 10];

function indexOf(bytes, pattern) {
  outer: for (let i = 0; i + pattern.length <= bytes.length; i++) {
    for (let j = 0; j < pattern.length; j++) if (bytes[i + j] !== pattern[j]) continue outer;
    return i;
  }
  return -1;
}

const pvshm = {
  // A path of this server as fetch() takes it: from the origin, which carries no user:password
  // even when the page's address does (fetch() refuses an address with credentials in it).
  url(path) {
    return location.origin + path;
  },

  async getJson(path) {
    const response = await fetch(pvshm.url(path), { cache: "no-store" });
    const body = await response.json();
    if (!response.ok) throw Object.assign(new Error(body.error || response.statusText), { status: response.status });
    return body;
  },

  // live: frames arrive; stale: the writer is alive but its newest frame is old for its rate;
  // dead: the writer is gone; none: no frame yet; unusable: the entry cannot be read.
  state(entry, rate) {
    if (entry.error) return "unusable";
    if (entry.last_frame_age_ms === null) return entry.writer_alive ? "none" : "dead";
    if (!entry.writer_alive) return "dead";
    // Five frame intervals of the last minute's rate, and never less than three seconds.
    const patience = Math.max(3000, rate > 0 ? 5000 / rate : 0);
    return entry.last_frame_age_ms > patience ? "stale" : "live";
  },

  stateText: { live: "live", stale: "stalled", dead: "writer dead", none: "no frame", unusable: "unusable" },

  age(ms) {
    if (ms === null || ms === undefined) return "–";
    if (ms < 1000) return `${Math.max(0, ms).toFixed(0)} ms`;
    if (ms < 60e3) return `${(ms / 1e3).toFixed(1)} s`;
    if (ms < 3600e3) return `${(ms / 60e3).toFixed(0)} min`;
    if (ms < 86400e3) return `${(ms / 3600e3).toFixed(1)} h`;
    return `${(ms / 86400e3).toFixed(0)} d`;
  },

  rate(fps) {
    if (fps === null || fps === undefined) return "–";
    return `${fps < 10 ? fps.toFixed(2) : fps.toFixed(1)} fps`;
  },

  size(entry) {
    return entry.width && entry.height ? `${entry.width}×${entry.height}` : "–";
  },

  count(n) {
    return n === null || n === undefined ? "–" : Number(n).toLocaleString("en-US");
  },

  // Path of an id's API (ids are [A-Za-z0-9._-], but the browser is told nothing else).
  api(id) {
    return `/api/ids/${encodeURIComponent(id)}`;
  },

  // The JPEG pictures of a multipart stream (an id's stream.mjpeg) as Blobs, as they arrive
  // whole; of several that arrive at once, the newest only.
  async *pictures(path, signal) {
    const response = await fetch(pvshm.url(path), { signal, cache: "no-store" });
    if (!response.ok) throw new Error(response.statusText);
    const reader = response.body.getReader();
    let buffer = new Uint8Array(0);
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        const joined = new Uint8Array(buffer.length + value.length);
        joined.set(buffer);
        joined.set(value, buffer.length);
        buffer = joined;
        let newest = null;
        for (;;) {
          const end = indexOf(buffer, HEADER_END);
          if (end < 0) break;
          const headers = new TextDecoder().decode(buffer.subarray(0, end));
          const length = Number((/content-length:\s*(\d+)/i.exec(headers) || [])[1]);
          if (!(length > 0)) throw new Error("a part without its length");
          const start = end + HEADER_END.length;
          if (buffer.length < start + length) break;
          newest = buffer.slice(start, start + length);
          buffer = buffer.slice(start + length);
        }
        if (newest) yield new Blob([newest], { type: "image/jpeg" });
      }
    } finally {
      reader.cancel().catch(() => {});
    }
  },

  element(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  },
};

// Frames per second of an id from its frames-written counter, sampled by the page.
class RateTracker {
  constructor(keepMs = 60e3) {
    this.keepMs = keepMs;
    this.samples = [];
  }

  add(time, frames) {
    const last = this.samples[this.samples.length - 1];
    if (last && frames < last.frames) this.samples = []; // the writer started again
    this.samples.push({ time, frames });
    while (this.samples.length > 2 && time - this.samples[0].time > this.keepMs) this.samples.shift();
  }

  // Over the last `spanMs` (or what is kept); null until two samples.
  rate(spanMs = this.keepMs) {
    const last = this.samples[this.samples.length - 1];
    if (!last) return null;
    const first = this.samples.find((s) => last.time - s.time <= spanMs) || this.samples[0];
    if (first === last) return null;
    return ((last.frames - first.frames) * 1000) / (last.time - first.time);
  }
}
