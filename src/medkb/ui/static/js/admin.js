// Admin pages that only read: sync status (and verify), analytics with charts.

import { h, note, replace } from "./dom.js";
import { barChart, hbarChart } from "./charts.js";

export async function syncView(root, api) {
  const status = await api.get("/v1/sync/status");
  const result = h("div", { id: "verify-result" });
  const verify = h("button", { type: "button", id: "verify", onclick: async () => {
    verify.disabled = true;
    try {
      replace(result, keyValues(await api.json("POST", "/v1/sync/verify")));
    } catch (err) {
      replace(result, note("error", err.message));
    } finally {
      verify.disabled = false;
    }
  } }, "Verify against the vector store");
  const healthy = status.pending === 0 && status.failed === 0;
  replace(root, h("h1", {}, "Sync"),
    note(healthy ? "ok" : "error", healthy
      ? `In sync: ${status.synced} pairs in the vector store.`
      : `${status.pending} pending and ${status.failed} failed writes to the vector store.`),
    keyValues(status), verify, result);
}

export async function analyticsView(root, api) {
  const days = 30;
  const data = await api.get("/v1/analytics", { days, top: 10 });
  const perDay = fillDays(data.per_day, days);
  const latency = data.latency_ms;
  const ratings = data.feedback.ratings;
  replace(root, h("h1", {}, `Analytics (last ${days} days)`),
    h("div", { class: "stats" },
      stat("Queries", perDay.reduce((sum, p) => sum + p.value, 0)),
      stat("p50 latency", latency.p50 == null ? "–" : `${latency.p50} ms`),
      stat("p95 latency", latency.p95 == null ? "–" : `${latency.p95} ms`),
      stat("Average rating", data.feedback.avg_rating ?? "–")),
    h("div", { class: "charts" },
      h("figure", { id: "chart-per-day" }, barChart(perDay, { title: "Queries per day" })),
      h("figure", { id: "chart-latency" }, barChart([
        { label: "p50", value: latency.p50 || 0 }, { label: "p95", value: latency.p95 || 0 },
      ], { title: `Latency percentiles (ms, ${plural(latency.count, "query", "queries")})`, unit: " ms" })),
      h("figure", { id: "chart-top" }, hbarChart(
        data.popular_pairs.map((p) => ({ label: p.question, value: p.hits })),
        { title: "Top questions (times retrieved)" })),
      h("figure", { id: "chart-feedback" }, barChart(
        Object.entries(ratings).map(([stars, n]) => ({ label: `${stars}★`, value: n })),
        { title: `Feedback (${plural(data.feedback.count, "rating")})` }))));
}

/** One bar per day of the window, days without a row at zero. */
function fillDays(rows, days) {
  const byDate = new Map(rows.map((r) => [r.date, r.queries]));
  const points = [];
  const today = new Date();
  for (let i = days - 1; i >= 0; i -= 1) {
    const day = new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate() - i));
    const date = day.toISOString().slice(0, 10);
    points.push({ label: date.slice(5), value: byDate.get(date) || 0 });
  }
  return points;
}

function stat(label, value) {
  return h("div", { class: "stat" }, h("div", { class: "stat-value" }, String(value)),
    h("div", { class: "stat-label" }, label));
}

function keyValues(object) {
  return h("table", { class: "kv" }, h("tbody", {}, Object.entries(object).map(([k, v]) =>
    h("tr", {}, h("th", {}, k), h("td", {}, typeof v === "object" && v !== null ? JSON.stringify(v) : String(v))))));
}

function plural(n, one, many = `${one}s`) {
  return `${n} ${n === 1 ? one : many}`;
}
