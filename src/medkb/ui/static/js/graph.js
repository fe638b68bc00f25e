// A pair's graph neighbourhood drawn as SVG by hand: the pair in the middle, the pairs one
// hop away on an inner ring (labelled), two hops on an outer ring next to the pair that
// leads to them (question in the tooltip); edges from the centre carry the relation type.

import { h, svg } from "./dom.js";

const SIZE = 640;
const MID = SIZE / 2;

export function drawGraph(graph, open) {
  const { rings, parent } = ringsOf(graph);
  const radius = rings[2].length ? [0, 150, 280] : [0, 220, 0];
  const where = new Map([[graph.id, [MID, MID]]]);
  const angle = new Map();
  rings[1].forEach((id, i) => angle.set(id, (2 * Math.PI * i) / rings[1].length - Math.PI / 2));
  const outer = [...rings[2]].sort((a, b) => angle.get(parent.get(a)) - angle.get(parent.get(b)));
  outer.forEach((id, i) => angle.set(id, (2 * Math.PI * i) / outer.length - Math.PI / 2));
  for (const ring of [1, 2]) {
    for (const id of rings[ring]) {
      const a = angle.get(id);
      where.set(id, [MID + radius[ring] * Math.cos(a), MID + radius[ring] * Math.sin(a)]);
    }
  }
  const questions = new Map(graph.nodes.map((n) => [n.id, n.question]));
  const edges = edgesOf(graph).filter(([a, b]) => where.has(a) && where.has(b));
  const picture = svg("svg", { viewBox: `0 0 ${SIZE} ${SIZE}`, class: "graph", role: "img",
    "aria-label": `Graph of ${graph.id}: ${graph.nodes.length - 1} related pairs` },
  edges.map(([a, b, type]) => edge(where.get(a), where.get(b), a === graph.id ? type : "")),
  [...where].map(([id, [x, y]]) => node({
    id, x, y, question: questions.get(id), ring: rings[1].includes(id) ? 1 : id === graph.id ? 0 : 2,
    open,
  })));
  const caption = graph.nodes.length > 1
    ? `${graph.nodes.length - 1} related pair(s) within ${graph.depth} hop(s). Click a node to open it.`
    : "No related pairs.";
  return h("figure", { id: "pair-graph" }, picture, h("figcaption", {}, caption));
}

/** Nodes by hops from the centre (0, 1, 2) and, for each, the node that leads to it. */
function ringsOf(graph) {
  const hops = new Map([[graph.id, 0]]);
  const parent = new Map();
  for (const path of graph.paths) {
    path.nodes.forEach((id, i) => {
      if (!hops.has(id) || hops.get(id) > i) {
        hops.set(id, i);
        if (i > 0) parent.set(id, path.nodes[i - 1]);
      }
    });
  }
  const rings = [[graph.id], [], []];
  for (const n of graph.nodes) {
    if (n.id !== graph.id) rings[Math.min(Math.max(hops.get(n.id) || 1, 1), 2)].push(n.id);
  }
  return { rings, parent };
}

function edgesOf(graph) {
  const seen = new Set();
  const found = [];
  for (const path of graph.paths) {
    path.nodes.slice(1).forEach((to, i) => {
      const key = [path.nodes[i], to].sort().join(">");
      if (!seen.has(key)) found.push([path.nodes[i], to, path.relations[i] || ""]);
      seen.add(key);
    });
  }
  return found;
}

function edge([x1, y1], [x2, y2], type) {
  return svg("g", { class: "edge" },
    svg("line", { x1, y1, x2, y2 }),
    type ? svg("text", { x: (x1 * 2 + x2) / 3, y: (y1 * 2 + y2) / 3 - 3, class: "edge-label" }, type) : null);
}

function node({ id, x, y, question, ring, open }) {
  const text = question || id;
  const label = text.length > 34 ? `${text.slice(0, 32)}…` : text;
  const below = y >= MID ? 24 : -16;
  const group = svg("g", { class: ring === 0 ? "node centre" : "node", tabindex: 0, "data-id": id },
    svg("title", {}, `${id}: ${question || ""}`),
    svg("circle", { cx: x, cy: y, r: ring === 0 ? 14 : ring === 1 ? 9 : 6 }),
    ring < 2 ? svg("text", { x, y: y + (ring === 0 ? 32 : below), "text-anchor": "middle" }, label) : null);
  if (ring !== 0) group.addEventListener("click", () => open(id));
  return group;
}
