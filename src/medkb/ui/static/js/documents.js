// Documents: upload files (POST /v1/documents), follow the job's progress live, see the
// pairs it made; list the documents and delete one with its pairs.

import { h, note, replace } from "./dom.js";

const POLL_MS = 400;

export async function documentsView(root, api) {
  const files = h("input", { id: "upload-files", type: "file", multiple: true, required: true });
  const progress = h("div", { id: "upload-progress" });
  const list = h("div", { id: "documents" });
  const form = h("form", { id: "upload-form", class: "card" },
    h("h2", {}, "Upload documents"),
    h("p", { class: "fine" }, "PDF, DOCX, HTML, Markdown, text, JSONL, CSV or MedQuAD XML."),
    files, h("button", { type: "submit" }, "Upload"), progress);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = new FormData();
    for (const file of files.files) data.append("files", file, file.name);
    try {
      const job = await api.json("POST", "/v1/documents", { form: data });
      await follow(api, job, progress);
      await showDocuments(api, list);
    } catch (err) {
      replace(progress, note("error", err.message));
    }
  });
  replace(root, h("h1", {}, "Documents"), form, h("h2", {}, "Documents in the knowledge base"), list);
  await showDocuments(api, list);
}

/** Poll the job until it is done or failed, drawing its progress; then its pairs. */
async function follow(api, job, where) {
  const bar = h("progress", { max: 1, value: 0 });
  const label = h("span", { class: "job-state" });
  replace(where, h("div", { class: "job", "data-job": job.id }, bar, " ", label));
  for (;;) {
    bar.max = Math.max(job.total, 1);
    bar.value = job.done;
    replace(label, `${job.state}: ${job.done} of ${job.total}`,
      job.current ? ` (now ${job.current})` : "");
    if (job.state === "done" || job.state === "failed") break;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    job = await api.get(`/v1/documents/jobs/${encodeURIComponent(job.id)}`);
  }
  where.append(report(job));
  if (job.state === "done") where.append(await madePairs(api, job.files));
}

function report(job) {
  if (job.state === "failed") return note("error", `The job failed: ${job.error || "see the server log"}`);
  const r = job.report || {};
  const problems = [...(r.errors || []), ...(r.warnings || [])].map((p) => h("li", {}, typeof p === "string" ? p : JSON.stringify(p)));
  return h("div", { class: "report" },
    note("ok", `Done: ${r.created ?? 0} created, ${r.updated ?? 0} updated, ` +
      `${r.unchanged ?? 0} unchanged, ${r.failed_files ?? 0} file(s) failed.`),
    problems.length ? h("ul", { class: "problems" }, problems) : null);
}

/** The pairs whose source document is one of ``names`` (pages through every pair). */
async function madePairs(api, names) {
  const wanted = new Set(names);
  const items = [];
  let cursor = null;
  do {
    const page = await api.get("/v1/pairs", { limit: 200, cursor });
    items.push(...page.items.filter((p) => p.sources.some((s) => wanted.has(s.document))));
    cursor = page.next_cursor;
  } while (cursor);
  return h("div", { id: "job-pairs" }, h("h3", {}, `Pairs from this upload (${items.length})`),
    h("ul", {}, items.map((pair) => h("li", { class: "job-pair" }, pair.question))));
}

async function showDocuments(api, where) {
  const { items } = await api.get("/v1/documents");
  if (!items.length) return replace(where, h("p", {}, "No documents yet."));
  const rows = items.map((doc) => h("tr", {},
    h("td", {}, doc.document), h("td", { class: "num" }, doc.pairs), h("td", {}, doc.updated_at),
    h("td", {}, h("button", { type: "button", class: "danger", onclick: async () => {
      if (!confirm(`Delete ${doc.document} and its ${doc.pairs} pairs?`)) return;
      try {
        await api.send("DELETE", "/v1/documents", { params: { document: doc.document } });
        await showDocuments(api, where);
      } catch (err) {
        where.prepend(note("error", err.message));
      }
    } }, "Delete"))));
  replace(where, h("table", {}, h("thead", {}, h("tr", {},
    h("th", {}, "Document"), h("th", {}, "Pairs"), h("th", {}, "Updated"), h("th", {}, ""))),
  h("tbody", {}, rows)));
}
