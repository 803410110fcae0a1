// SPDX-License-Identifier: LGPL-2.1-or-later
// One id: its live picture at its own rate, its newest frame's facts and 5 minutes of plots.
"use strict";

const POLL_MS = 500;
const PLOT_WINDOW_MS = 5 * 60e3;

const id = decodeURIComponent(location.pathname.split("/")[2] || "");
const api = pvshm.api(id);
document.title = `pvshm · ${id}`;
document.getElementById("name").textContent = id;

const picture = document.getElementById("picture");
const overlay = document.getElementById("overlay");
const live = document.getElementById("live");
const badge = document.getElementById("badge");
const summary = document.getElementById("summary");
const snapshot = document.getElementById("snapshot");
const snapshotRaw = document.getElementById("snapshot-raw");
snapshot.href = `${api}/snapshot.png`;
snapshotRaw.href = `${api}/snapshot.png?raw=1`;
document.getElementById("json").href = api;

// The live picture: each picture of the stream is decoded (createImageBitmap, off the page's
// thread) and drawn as soon as it arrives, the newest one when several came during a decoding.
// Drawn into a canvas rather than shown by an <img> of the stream, which Chromium painted some
// 40 ms later. The stream is opened again 2 s after it ends (server restarted, segment cleared
// and created again).
const drawing = picture.getContext("2d");
let waiting = null; // the newest picture not drawn yet
let decoding = false;

async function drawNewest() {
  decoding = true;
  while (waiting) {
    const blob = waiting;
    waiting = null;
    try {
      const bitmap = await createImageBitmap(blob);
      if (picture.width !== bitmap.width || picture.height !== bitmap.height) {
        picture.width = bitmap.width;
        picture.height = bitmap.height;
      }
      drawing.drawImage(bitmap, 0, 0);
      bitmap.close();
    } catch (error) {
      // A picture the browser cannot decode: the next one may.
    }
  }
  decoding = false;
}

async function showStream() {
  for (;;) {
    try {
      for await (const blob of pvshm.pictures(`${api}/stream.mjpeg`)) {
        waiting = blob;
        if (!decoding) drawNewest();
      }
    } catch (error) {
      // The request failed or the stream broke off: opened again below.
    }
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
}
showStream();

function rows(table, pairs) {
  table.replaceChildren(...pairs.map(([label, value]) => {
    const row = pvshm.element("tr");
    row.append(pvshm.element("th", "", label), pvshm.element("td", "", value));
    return row;
  }));
}

function captureTime(ns) {
  if (ns === null) return "–";
  const date = new Date(Number(BigInt(ns) / 1000000n));
  const two = (n) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${two(date.getMonth() + 1)}-${two(date.getDate())} ` +
    `${two(date.getHours())}:${two(date.getMinutes())}:${two(date.getSeconds())}.` +
    `${String(date.getMilliseconds()).padStart(3, "0")}`;
}

const colours = { rate: "#4da3ff", age: "#f0a020", drops: "#e5484d" };
const series = { rate: [], age: [], drops: [] };
const plots = {};
function makePlots() {
  if (typeof Dygraph === "undefined") {
    for (const name of Object.keys(series)) {
      const node = document.getElementById(`plot-${name}`);
      node.className = "plot-note";
      node.textContent = "Plots need the charting library of Debian's libjs-dygraphs on the server.";
    }
    return;
  }
  for (const name of Object.keys(series)) {
    plots[name] = new Dygraph(document.getElementById(`plot-${name}`), [[new Date(), null]], {
      labels: ["time", name],
      colors: [colours[name]],
      fillGraph: true,
      fillAlpha: 0.15,
      strokeWidth: 1.6,
      includeZero: true,
      drawPoints: false,
      gridLineColor: "#263240",
      axisLineColor: "#3a4756",
      axisLabelFontSize: 11,
      legend: "follow",
      connectSeparatedPoints: false,
      labelsUTC: false,
    });
  }
}
makePlots();

const rates = new RateTracker();
let lastDropped = null;
let lastTime = null;

function record(now, entry) {
  const rate = rates.rate(2000);
  let drops = null;
  if (lastDropped !== null && entry.frames_dropped >= lastDropped)
    drops = ((entry.frames_dropped - lastDropped) * 1000) / (now - lastTime);
  lastDropped = entry.frames_dropped;
  lastTime = now;
  const time = new Date(now);
  series.rate.push([time, rate]);
  series.age.push([time, entry.last_frame_age_ms]);
  series.drops.push([time, drops]);
  for (const name of Object.keys(series)) {
    const data = series[name];
    while (data.length && now - data[0][0].getTime() > PLOT_WINDOW_MS) data.shift();
    if (plots[name])
      plots[name].updateOptions({ file: data, dateWindow: [now - PLOT_WINDOW_MS, now] });
  }
  return rate;
}

function show(entry, rate) {
  const state = pvshm.state(entry, rates.rate());
  document.body.dataset.state = state;
  live.dataset.state = state;
  badge.textContent = pvshm.stateText[state];
  overlay.textContent = pvshm.stateText[state];
  summary.textContent = `${pvshm.rate(entry.writer_alive ? rate : 0)} · ${pvshm.count(entry.frames_written)} frames · ${pvshm.count(entry.frames_dropped)} dropped`;
  snapshotRaw.hidden = entry.format !== "GRAY16_LE";
  snapshot.download = `${id}-${entry.sequence}.png`;
  rows(document.getElementById("facts"), [
    ["Sequence", pvshm.count(entry.sequence)],
    ["Captured", captureTime(entry.timestamp_realtime_ns)],
    ["Age", pvshm.age(entry.last_frame_age_ms)],
    ["Camera id", entry.camera_id || "–"],
    ["Format", entry.format || "–"],
    ["Size", pvshm.size(entry)],
    ["Frame rate", pvshm.rate(entry.writer_alive ? rate : 0)],
    ["Writer", entry.writer_pid ? `pid ${entry.writer_pid}, ${entry.writer_alive ? "alive" : "dead"}` : "–"],
    ["Frames written", pvshm.count(entry.frames_written)],
    ["Frames dropped", pvshm.count(entry.frames_dropped)],
    ["Slots", `${entry.slots} of ${pvshm.count(entry.slot_size)} bytes`],
    ["Caps", entry.caps || "–"],
  ]);
  const metadata = Object.entries(entry.metadata || {});
  rows(document.getElementById("metadata"), metadata.length
    ? metadata.map(([key, value]) => [key, String(value)])
    : [["–", "none on this frame"]]);
}

async function poll() {
  try {
    const entry = await pvshm.getJson(api);
    const now = Date.now();
    rates.add(now, entry.frames_written);
    show(entry, record(now, entry));
  } catch (error) {
    badge.textContent = error.status === 404 ? "no segment" : "unreachable";
    document.body.dataset.state = "none";
    live.dataset.state = "none";
    overlay.textContent = badge.textContent;
  }
}

(async function loop() {
  for (;;) {
    const started = performance.now();
    await poll();
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, POLL_MS - (performance.now() - started))));
  }
})();
