// Pairs: browse (cursor paging, category filter, text filter over the loaded pages), edit,
// delete, and a drawing of a pair's graph neighbourhood.

import { h, note, replace } from "./dom.js";
import { drawGraph } from "./graph.js";

const PAGE = 25;

export async function pairsView(root, api) {
  const state = { cursors: [null], index: 0, items: [] };
  const category = h("input", { id: "pair-category", placeholder: "Category", "aria-label": "Category" });
  const search = h("input", { id: "pair-search", type: "search", placeholder: "Search this page",
    "aria-label": "Search this page" });
  const table = h("div", { id: "pair-table" });
  const pager = h("div", { class: "pager" });
  const detail = h("div", { id: "pair-detail" });
  const load = async () => {
    const page = await api.get("/v1/pairs", {
      limit: PAGE, cursor: state.cursors[state.index], category: category.value.trim(),
    });
    state.items = page.items;
    state.cursors[state.index + 1] = page.next_cursor;
    draw();
  };
  const draw = () => {
    const words = search.value.trim().toLowerCase();
    const shown = state.items.filter((p) => !words ||
      `${p.id} ${p.question} ${p.response}`.toLowerCase().includes(words));
    table.dataset.page = String(state.index + 1);
    replace(table, shown.length || !words
      ? pairTable(shown, (pair) => showPair(api, pair.id, detail, load))
      : h("p", {}, "No pair on this page matches; try the next page."));
    replace(pager,
      h("button", { type: "button", disabled: state.index === 0,
        onclick: () => { state.index -= 1; load(); } }, "Previous"),
      ` Page ${state.index + 1} `,
      h("button", { type: "button", id: "next-page", disabled: !state.cursors[state.index + 1],
        onclick: () => { state.index += 1; load(); } }, "Next"));
  };
  category.addEventListener("change", () => { state.cursors = [null]; state.index = 0; load(); });
  search.addEventListener("input", draw);
  replace(root, h("h1", {}, "Pairs"), h("div", { class: "filters" }, category, search),
    table, pager, detail);
  await load();
}

function pairTable(items, open) {
  if (!items.length) return h("p", {}, "No pairs.");
  return h("table", { class: "pairs" },
    h("thead", {}, h("tr", {}, h("th", {}, "Id"), h("th", {}, "Question"), h("th", {}, "Category"))),
    h("tbody", {}, items.map((pair) => h("tr", { "data-id": pair.id },
      h("td", {}, h("button", { type: "button", class: "link", onclick: () => open(pair) }, pair.id)),
      h("td", { class: "pair-question" }, pair.question),
      h("td", {}, pair.metadata.category || "")))));
}

/** One pair: its edit form, delete button and graph neighbourhood. */
async function showPair(api, id, where, reload) {
  const path = `/v1/pairs/${encodeURIComponent(id)}`;
  const pair = await api.get(path);
  const question = h("textarea", { id: "edit-question", rows: 2 });
  const response = h("textarea", { id: "edit-response", rows: 6 });
  const category = h("input", { id: "edit-category" });
  question.value = pair.question;
  response.value = pair.response;
  category.value = pair.metadata.category || "";
  const status = h("div");
  const form = h("form", { id: "edit-form", class: "card" },
    h("h2", {}, `Pair ${pair.id}`),
    h("label", { for: "edit-question" }, "Question"), question,
    h("label", { for: "edit-response" }, "Answer"), response,
    h("label", { for: "edit-category" }, "Category"), category,
    h("div", { class: "buttons" }, h("button", { type: "submit" }, "Save"),
      h("button", { type: "button", class: "danger", id: "delete-pair", onclick: async () => {
        if (!confirm(`Delete pair ${pair.id}?`)) return;
        try {
          await api.send("DELETE", path);
          replace(where, note("ok", `Deleted ${pair.id}.`));
          await reload();
        } catch (err) {
          replace(status, note("error", err.message));
        }
      } }, "Delete")),
    status,
    h("p", { class: "fine" }, `Sources: ${pair.sources.map((s) => s.document).join(", ") || "none"}; `,
      `sync: ${pair.sync ? pair.sync.state : "unknown"}`));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await api.json("PATCH", path, { json: {
        question: question.value, response: response.value,
        metadata: { category: category.value },
      } });
      replace(status, note("ok", "Saved."));
      await reload();
    } catch (err) {
      replace(status, note("error", err.message));
    }
  });
  const picture = h("div");
  const drawAt = async (depth) => {
    const graph = await api.get(`${path}/graph`, { depth });
    replace(picture, drawGraph(graph, (next) => showPair(api, next, where, reload)));
  };
  const hops = h("select", { id: "graph-depth", "aria-label": "Hops",
    onchange: () => drawAt(Number(hops.value)) },
  h("option", { value: 1 }, "1 hop"), h("option", { value: 2 }, "2 hops"));
  await drawAt(1);
  replace(where, form, h("div", { class: "card" }, h("h2", {}, "Graph neighbourhood "), hops,
    picture));
  where.scrollIntoView({ block: "start" });
}
