// SPDX-License-Identifier: LGPL-2.1-or-later
// The overview: a tile per id, added and removed as ids come and go, each with a live picture.
"use strict";

const REFRESH_MS = 1000;
// Tiles take one picture at a time, at most this often: short requests rather than one open
// stream per tile, so that a browser's six connections per server are never all held.
const PICTURE_INTERVAL_MS = 200;
const TILE_WIDTH = 480;

const grid = document.getElementById("grid");
const empty = document.getElementById("empty");
const summary = document.getElementById("summary");
const tiles = new Map();
// Only tiles on screen fetch pictures: a line of a hundred ids costs what fits in the window.
const onScreen = new IntersectionObserver((entries) => {
  for (const entry of entries) {
    const tile = tiles.get(entry.target.dataset.id);
    if (tile) tile.visible = entry.isIntersecting;
  }
});

// The first picture of an id's multipart stream, then the stream is closed.
async function firstPicture(url, signal) {
  const pictures = pvshm.pictures(url, signal);
  try {
    const { value, done } = await pictures.next();
    if (done) throw new Error("the stream ended");
    return value;
  } finally {
    await pictures.return();
  }
}

class Tile {
  constructor(id) {
    this.id = id;
    this.rates = new RateTracker();
    this.abort = new AbortController();
    this.node = pvshm.element("a", "tile");
    this.node.href = `/ids/${encodeURIComponent(id)}`;
    this.node.dataset.id = id;
    const picture = pvshm.element("div", "picture");
    this.image = pvshm.element("img");
    this.image.alt = `newest frame of ${id}`;
    this.overlay = pvshm.element("div", "overlay");
    picture.append(this.image, this.overlay);
    const head = pvshm.element("div", "head");
    this.badge = pvshm.element("span", "badge");
    const name = pvshm.element("span", "name", id);
    name.title = id;
    head.append(name, this.badge);
    this.facts = pvshm.element("div", "facts");
    this.values = {};
    for (const [key, label] of [["format", "format"], ["size", "size"], ["rate", "frame rate"],
                                ["age", "newest frame"], ["written", "frames"], ["dropped", "dropped"]]) {
      const fact = pvshm.element("div", `fact fact-${key}`);
      this.values[key] = pvshm.element("div", "value");
      fact.append(pvshm.element("div", "label", label), this.values[key]);
      this.facts.append(fact);
    }
    this.error = pvshm.element("div", "error");
    this.node.append(picture, head, this.facts, this.error);
    this.visible = true; // until the observer says otherwise
    onScreen.observe(this.node);
    this.pictures();
  }

  update(entry, now) {
    if (entry.frames_written !== null) this.rates.add(now, entry.frames_written);
    const rate = this.rates.rate(3000);
    const state = pvshm.state(entry, this.rates.rate());
    this.node.dataset.state = state;
    this.badge.textContent = pvshm.stateText[state];
    this.overlay.textContent = pvshm.stateText[state];
    this.values.format.textContent = entry.format || "–";
    this.values.size.textContent = pvshm.size(entry);
    this.values.rate.textContent = pvshm.rate(entry.writer_alive ? rate : 0);
    this.values.age.textContent = pvshm.age(entry.last_frame_age_ms);
    this.values.written.textContent = pvshm.count(entry.frames_written);
    this.values.dropped.textContent = pvshm.count(entry.frames_dropped);
    this.values.dropped.parentNode.classList.toggle("alarm", entry.frames_dropped > 0);
    this.error.textContent = entry.error || "";
    this.hasFrame = entry.last_frame_age_ms !== null;
  }

  async pictures() {
    const url = `${pvshm.api(this.id)}/stream.mjpeg?width=${TILE_WIDTH}`;
    while (!this.abort.signal.aborted) {
      const started = performance.now();
      let pause = PICTURE_INTERVAL_MS;
      if (document.hidden || !this.visible || !this.hasFrame) {
        pause = 500;
      } else if (this.shown && this.node.dataset.state !== "live") {
        pause = 5000; // a stalled id's picture does not change: look again now and then
      } else {
        try {
          const blob = await firstPicture(url, this.abort.signal);
          const previous = this.image.src;
          this.image.src = URL.createObjectURL(blob);
          await this.image.decode().catch(() => {});
          if (previous) URL.revokeObjectURL(previous);
          this.shown = true;
        } catch (error) {
          pause = 1000;
        }
      }
      const wait = Math.max(0, pause - (performance.now() - started));
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }

  remove() {
    this.abort.abort();
    onScreen.unobserve(this.node);
    this.node.remove();
    if (this.image.src) URL.revokeObjectURL(this.image.src);
  }
}

async function refresh() {
  let entries;
  try {
    entries = await pvshm.getJson("/api/ids");
  } catch (error) {
    summary.textContent = "server unreachable: retrying";
    return;
  }
  const now = Date.now();
  const seen = new Set();
  for (const entry of entries) {
    seen.add(entry.id);
    let tile = tiles.get(entry.id);
    if (!tile) {
      tile = new Tile(entry.id);
      tiles.set(entry.id, tile);
    }
    tile.update(entry, now);
    grid.append(tile.node); // in the order of the list: by id
  }
  for (const [id, tile] of tiles) {
    if (seen.has(id)) continue;
    tile.remove();
    tiles.delete(id);
  }
  const states = [...tiles.values()].map((tile) => tile.node.dataset.state);
  const live = states.filter((s) => s === "live").length;
  const troubled = states.filter((s) => s === "stale" || s === "dead").length;
  summary.textContent = `${tiles.size} id${tiles.size === 1 ? "" : "s"} · ${live} live` +
    (troubled ? ` · ${troubled} stalled or dead` : "");
  empty.hidden = tiles.size > 0;
}

(async function loop() {
  for (;;) {
    const started = performance.now();
    await refresh();
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, REFRESH_MS - (performance.now() - started))));
  }
})();
