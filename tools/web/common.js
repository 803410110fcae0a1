// SPDX-License-Identifier: LGPL-2.1-or-later
// What both pages of pvshm web share: reading the API, rates, the state of an id, formatting.
"use strict";

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
