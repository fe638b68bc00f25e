// The single page: sign in with an API key (kept in sessionStorage for this tab only),
// then the view the URL's hash names. The page is a client of the medkb API; the UI
// server only hands out these files and /config.json.

import { Api } from "./api.js";
import { h, note, replace } from "./dom.js";
import { askView } from "./ask.js";
import { documentsView } from "./documents.js";
import { pairsView } from "./pairs.js";
import { analyticsView, syncView } from "./admin.js";

const KEY = "medkb.key";
const VIEWS = {
  ask: askView,
  documents: documentsView,
  pairs: pairsView,
  sync: syncView,
  analytics: analyticsView,
};

const main = document.getElementById("main");
const nav = document.getElementById("nav");
let config = null;

async function start() {
  config = await (await fetch("/config.json")).json();
  document.getElementById("sign-out").addEventListener("click", signOut);
  window.addEventListener("hashchange", route);
  route();
}

function currentApi() {
  const key = sessionStorage.getItem(KEY);
  return key ? new Api(config.api_url, key) : null;
}

function viewName() {
  const parts = location.hash.replace(/^#\/?/, "").split("/");
  const name = parts[0] === "admin" ? parts[1] : parts[0];
  return VIEWS[name] ? name : "ask";
}

function route() {
  const api = currentApi();
  nav.hidden = !api;
  if (!api) return signIn();
  const name = viewName();
  for (const link of nav.querySelectorAll("a")) {
    link.classList.toggle("active", link.dataset.view === name);
  }
  const section = h("section", { id: `view-${name}`, class: "view" });
  replace(main, section);
  VIEWS[name](section, api).catch((err) => section.append(note("error", err.message)));
}

function signIn() {
  const input = h("input", {
    id: "api-key", type: "password", autocomplete: "off", required: true,
    placeholder: "mk_...", "aria-label": "API key",
  });
  const status = h("div");
  const form = h("form", { id: "sign-in", class: "card narrow" },
    h("h1", {}, "Sign in"),
    h("p", {}, "Enter the API key your administrator gave you (medkb keys create). ",
      "It is kept in this browser tab only."),
    h("label", { for: "api-key" }, "API key"), input,
    h("button", { type: "submit" }, "Sign in"), status);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const api = new Api(config.api_url, input.value.trim());
    try {
      await api.get("/v1/pairs", { limit: 1 });
    } catch (err) {
      replace(status, note("error", err.message));
      return;
    }
    sessionStorage.setItem(KEY, api.key);
    if (!location.hash) location.hash = "#/ask";
    route();
  });
  replace(main, form);
  input.focus();
}

function signOut() {
  sessionStorage.removeItem(KEY);
  route();
}

start().catch((err) => replace(main, note("error", `The page could not start: ${err.message}`)));
