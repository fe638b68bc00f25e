// Ask: a chat. Each answer streams from POST /v1/query/stream: the urgent notice first
// (when the question describes an emergency), the numbered sources, the answer text in
// pieces, then the full result (related questions, the id to rate it by).

import { h, note, replace } from "./dom.js";

export async function askView(root, api) {
  const log = h("div", { id: "chat", class: "chat" });
  const input = h("textarea", {
    id: "question", rows: 2, required: true, maxlength: 2000,
    placeholder: "Ask a medical question", "aria-label": "Your question",
  });
  const form = h("form", { id: "ask-form", class: "ask" }, input,
    h("button", { type: "submit" }, "Ask"));
  const ask = (text) => {
    input.value = "";
    log.append(h("div", { class: "msg user" }, text));
    const turn = h("article", { class: "msg bot" });
    log.append(turn);
    answer(api, text, turn, ask).finally(() => turn.scrollIntoView({ block: "end" }));
  };
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (input.value.trim()) ask(input.value.trim());
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  replace(root, h("h1", {}, "Ask"), log, form,
    h("p", { class: "fine" }, "General information from a knowledge base, not medical ",
      "advice. In an emergency call your local emergency number."));
  input.focus();
}

async function answer(api, text, turn, ask) {
  const urgent = h("div", { class: "urgent", role: "alert", hidden: true });
  const body = h("p", { class: "answer", "aria-busy": "true" });
  const sources = h("ol", { class: "sources" });
  const after = h("div");
  turn.append(urgent, body, sources, after);
  const handlers = {
    notice: (data) => {
      urgent.hidden = false;
      replace(urgent, data.notice);
    },
    sources: (data) => replace(sources, data.sources.map(sourceItem)),
    answer: (data) => body.append(...cited(data.text)),
    done: (data) => {
      body.removeAttribute("aria-busy");
      turn.dataset.done = "true";
      replace(after, related(data, ask), rating(api, data.query_log_id));
    },
  };
  try {
    await api.stream("/v1/query/stream", { query: text }, (name, data) => {
      if (handlers[name]) handlers[name](data);
    });
  } catch (err) {
    body.removeAttribute("aria-busy");
    turn.append(note("error", err.message));
  }
}

/** Text with each [n] made a link to source n (built as nodes, never as HTML). */
function cited(text) {
  const nodes = [];
  let last = 0;
  for (const match of text.matchAll(/\[(\d+)\]/g)) {
    nodes.push(document.createTextNode(text.slice(last, match.index)));
    nodes.push(h("a", { class: "cite", href: `#src-${match[1]}` }, `[${match[1]}]`));
    last = match.index + match[0].length;
  }
  nodes.push(document.createTextNode(text.slice(last)));
  return nodes;
}

function sourceItem(source) {
  const where = [source.document, source.page != null ? `page ${source.page}` : null,
    source.section ? `section ${source.section}` : null].filter(Boolean).join(", ");
  const link = safeLink(source.url);
  return h("li", { id: `src-${source.number}`, value: source.number, class: "source" },
    h("span", { class: "src-q" }, source.question || source.id), " — ",
    h("span", { class: "src-doc" }, where),
    link ? [" ", h("a", { href: link, target: "_blank", rel: "noopener noreferrer" }, "link")] : null);
}

/** Only http(s) links are made clickable (no javascript: URLs from the data). */
function safeLink(url) {
  try {
    const parsed = new URL(url);
    return parsed.protocol === "http:" || parsed.protocol === "https:" ? parsed.href : null;
  } catch (_err) {
    return null;
  }
}

/** Questions the graph reached from the cited pairs, and the other hits. */
function related(result, ask) {
  const cited = new Set(result.citations.map((c) => c.id));
  const hits = [...result.hits].sort((a, b) => Number(b.via_graph) - Number(a.via_graph));
  const picks = hits.filter((hit) => !cited.has(hit.id)).slice(0, 4);
  if (!picks.length) return null;
  return h("div", { class: "related" }, h("h3", {}, "Related questions"),
    h("ul", {}, picks.map((hit) => h("li", {},
      h("button", { type: "button", class: "link", onclick: () => ask(hit.question) },
        hit.question)))));
}

function rating(api, queryLogId) {
  if (!queryLogId) return null;
  const status = h("span", { class: "rated" });
  const buttons = [1, 2, 3, 4, 5].map((n) => h("button", {
    type: "button", class: "star", "aria-label": `Rate ${n} of 5`, title: `${n} of 5`,
    onclick: async () => {
      try {
        await api.json("POST", "/v1/feedback", { json: { query_log_id: queryLogId, rating: n } });
        buttons.forEach((b) => { b.disabled = true; });
        replace(status, `Thank you: rated ${n} of 5.`);
      } catch (err) {
        replace(status, note("error", err.message));
      }
    },
  }, "★".repeat(1) + n));
  return h("div", { class: "rating" }, "Was this helpful? ", buttons, status);
}
