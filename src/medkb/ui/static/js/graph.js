// A pair's graph neighbourhood drawn as SVG by hand: the pair in the middle, the pairs one
// hop away on an inner ring, two hops on an outer ring; edges labelled with the relation.

import { h, svg } from "./dom.js";

const SIZE = 520;
const MID = SIZE / 2;

export function drawGraph(graph, open) {
  const hops = hopsFrom(graph);
  const rings = [[graph.id], [], []];
  for (const node of graph.nodes) {
    if (node.id !== graph.id) rings[Math.min(hops.get(node.id) || 1, 2)].push(node.id);
  }
  const where = new Map();
  rings.forEach((ids, ring) => ids.forEach((id, i) => {
    const angle = (2 * Math.PI * i) / Math.max(ids.length, 1) - Math.PI / 2 + ring * 0.3;
    where.set(id, [MID + ring * 105 * Math.cos(angle), MID + ring * 105 * Math.sin(angle)]);
  }));
  const questions = new Map(graph.nodes.map((n) => [n.id, n.question]));
  const edges = edgesOf(graph).filter(([a, b]) => where.has(a) && where.has(b));
  const picture = svg("svg", { viewBox: `0 0 ${SIZE} ${SIZE}`, class: "graph", role: "img",
    "aria-label": `Graph of ${graph.id}: ${graph.nodes.length - 1} related pairs` },
  edges.map(([a, b, type]) => edge(where.get(a), where.get(b), type)),
  [...where].map(([id, [x, y]]) => node(id, x, y, questions.get(id), id === graph.id, open)));
  const caption = graph.nodes.length > 1
    ? `${graph.nodes.length - 1} related pair(s) within ${graph.depth} hop(s). Click a node to open it.`
    : "No related pairs.";
  return h("figure", { id: "pair-graph" }, picture, h("figcaption", {}, caption));
}

function edgesOf(graph) {
  const seen = new Set();
  const found = [];
  for (const path of graph.paths) {
    path.nodes.slice(1).forEach((to, i) => {
      const key = `${path.nodes[i]}>${to}`;
      if (!seen.has(key)) found.push([path.nodes[i], to, path.relations[i] || ""]);
      seen.add(key);
    });
  }
  return found;
}

function hopsFrom(graph) {
  const hops = new Map();
  for (const path of graph.paths) {
    path.nodes.forEach((id, i) => { if (!hops.has(id) || hops.get(id) > i) hops.set(id, i); });
  }
  return hops;
}

function edge([x1, y1], [x2, y2], type) {
  return svg("g", { class: "edge" },
    svg("line", { x1, y1, x2, y2 }),
    svg("text", { x: (x1 + x2) / 2, y: (y1 + y2) / 2 - 3, class: "edge-label" }, type));
}

function node(id, x, y, question, centre, open) {
  const label = (question || id).length > 38 ? `${(question || id).slice(0, 36)}…` : (question || id);
  const group = svg("g", { class: centre ? "node centre" : "node", tabindex: 0, "data-id": id },
    svg("title", {}, `${id}: ${question || ""}`),
    svg("circle", { cx: x, cy: y, r: centre ? 14 : 9 }),
    svg("text", { x, y: y + (centre ? 30 : 22), "text-anchor": "middle" }, label));
  if (!centre) group.addEventListener("click", () => open(id));
  return group;
}
