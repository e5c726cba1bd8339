// The dashboard: a page per route of the hash (#/users?u=42), each drawn from the server's JSON
// API; the API key, when the server has one, is typed once and kept for this tab.
import { getKey, serverInfo, setKey } from "./api.js";
import { h, mount } from "./dom.js";
import { errorBox } from "./widgets.js";
import { overview } from "./pages/overview.js";
import { users } from "./pages/users.js";
import { items } from "./pages/items.js";
import { evaluation } from "./pages/evaluation.js";
import { tryit } from "./pages/tryit.js";

const pages = { "": overview, users, items, evaluation, try: tryit };
let cleanup = null;

function route() {
  const hash = location.hash.replace(/^#\/?/, "");
  const [path, query] = hash.split("?");
  const name = pages[path] ? path : "";
  const root = document.getElementById("page");
  if (cleanup) cleanup();
  cleanup = null;
  for (const a of document.querySelectorAll("nav a"))
    a.classList.toggle("on", a.dataset.page === (name || "overview"));
  try {
    cleanup = pages[name](root, new URLSearchParams(query || "")) || null;
  } catch (e) {
    mount(root, errorBox(e));
  }
}

function keyForm() {
  const input = document.getElementById("key");
  const state = document.getElementById("key-state");
  const show = () => (state.textContent = getKey() ? "key set" : "read-only");
  input.value = getKey();
  show();
  document.getElementById("key-form").addEventListener("submit", (e) => {
    e.preventDefault();
    setKey(input.value.trim());
    show();
    route();
  });
  input.addEventListener("change", () => {
    setKey(input.value.trim());
    show();
  });
}

async function footer() {
  const el = document.getElementById("status");
  try {
    const s = await serverInfo();
    mount(el, `reckon serving ${s.model} ${s.version} · ${s.users} users · ${s.items} items`);
  } catch (e) {
    mount(el, h("span", { class: "error" }, e.message));
  }
}

keyForm();
footer();
window.addEventListener("hashchange", route);
route();
