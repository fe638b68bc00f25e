// Charts drawn as SVG by hand (no library, nothing fetched from elsewhere): vertical bars
// over labelled categories, and horizontal bars for long labels.

import { svg } from "./dom.js";

/** Vertical bars: points is [{label, value}]; the tallest bar fills the height. */
export function barChart(points, { title, unit = "", width = 560, height = 220 } = {}) {
  const pad = { left: 44, right: 10, top: 24, bottom: 46 };
  const inner = { w: width - pad.left - pad.right, h: height - pad.top - pad.bottom };
  const top = niceMax(Math.max(0, ...points.map((p) => p.value)));
  const step = inner.w / Math.max(points.length, 1);
  const y = (v) => pad.top + inner.h - (v / top) * inner.h;
  const ticks = [0, top / 2, top];
  return svg("svg", { viewBox: `0 0 ${width} ${height}`, class: "chart", role: "img",
    "aria-label": title },
  svg("text", { x: pad.left, y: 14, class: "chart-title" }, title),
  ticks.map((t) => svg("g", { class: "tick" },
    svg("line", { x1: pad.left, x2: width - pad.right, y1: y(t), y2: y(t) }),
    svg("text", { x: pad.left - 6, y: y(t) + 4, "text-anchor": "end" }, fmt(t)))),
  points.map((p, i) => {
    const x = pad.left + i * step + step * 0.15;
    return svg("g", { class: "bar" },
      svg("title", {}, `${p.label}: ${fmt(p.value)}${unit}`),
      svg("rect", { x, y: y(p.value), width: step * 0.7, height: Math.max(pad.top + inner.h - y(p.value), 0) }),
      svg("text", { x: x + step * 0.35, y: height - pad.bottom + 14, "text-anchor": "middle",
        class: "axis-label" }, labelEvery(points.length, i) ? p.label : ""));
  }));
}

/** Horizontal bars for long labels (top questions). */
export function hbarChart(points, { title, width = 560 } = {}) {
  const row = 22;
  const height = 28 + row * Math.max(points.length, 1);
  const left = 300;
  const top = Math.max(1, ...points.map((p) => p.value));
  return svg("svg", { viewBox: `0 0 ${width} ${height}`, class: "chart", role: "img",
    "aria-label": title },
  svg("text", { x: 4, y: 14, class: "chart-title" }, title),
  points.map((p, i) => {
    const y = 24 + i * row;
    const w = ((width - left - 40) * p.value) / top;
    const label = p.label.length > 46 ? `${p.label.slice(0, 44)}…` : p.label;
    return svg("g", { class: "bar" },
      svg("title", {}, `${p.label}: ${p.value}`),
      svg("text", { x: left - 6, y: y + 13, "text-anchor": "end" }, label),
      svg("rect", { x: left, y: y + 2, width: w, height: row - 6 }),
      svg("text", { x: left + w + 4, y: y + 13 }, fmt(p.value)));
  }));
}

function niceMax(value) {
  if (value <= 0) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(value));
  for (const m of [1, 2, 5, 10]) if (m * magnitude >= value) return m * magnitude;
  return 10 * magnitude;
}

/** Label at most ~10 bars, evenly, counting back from the last (today's) bar. */
function labelEvery(count, i) {
  return count <= 10 || (count - 1 - i) % Math.ceil(count / 10) === 0;
}

function fmt(value) {
  return Number.isInteger(value) ? String(value) : value.toFixed(1);
}
