// Users: find a user; their history (titles, genres, times) and, side by side, their offline,
// online and blended lists with scores and the history items behind each.
import { api, modelExplains, q, seg } from "../api.js";
import { h, mount, fmt, when } from "../dom.js";
import { card, errorBox, itemLink, recList, remember, tags, userLink } from "../widgets.js";

export function searchBox(placeholder, onSearch, initial = "") {
  const input = h("input", { type: "search", placeholder, value: initial, "aria-label": placeholder });
  const form = h("form", { class: "search", onsubmit: (e) => { e.preventDefault(); onSearch(input.value.trim()); } },
    input, h("button", { type: "submit" }, "Search"));
  return form;
}

export const recommendations = (user, mode, explains, k = 10) =>
  api(`/recommend/${seg(user)}?${q({ mode, k, explain: explains ? "true" : "" })}`);

export function users(root, params) {
  const results = h("div", { class: "results" });
  const detail = h("div", { class: "detail" });
  const search = async (text) => {
    try {
      const r = await api(`/users?${q({ q: text, k: 20 })}`);
      mount(results,
        h("p", { class: "muted" }, text ? `${fmt(r.total)} users match` : "the most active users"),
        h("ul", { class: "pick" }, r.users.map((u) => h("li", {}, userLink(u.user_id), h("span", { class: "muted" }, ` ${fmt(u.interactions)} interactions`)))));
    } catch (e) {
      mount(results, errorBox(e));
    }
  };
  mount(root, h("h1", {}, "Users"), searchBox("user id", (t) => search(t), params.get("u") || ""), results, detail);
  const user = params.get("u");
  if (!user) {
    search("");
    return;
  }
  show(detail, user);
}

async function show(root, user) {
  const info = h("div", {});
  const columns = h("div", { class: "grid3" });
  const history = h("div", {});
  mount(root, h("h2", {}, "User ", h("code", {}, user)), info, columns, history);
  const explains = await modelExplains();
  api(`/users/${seg(user)}`)
    .then((u) => {
      const f = u.features || {};
      mount(info, h("p", { class: "muted" }, u.in_model ? "trained on" : "not in the model (new)",
        Object.keys(f).length ? " · " : "", Object.entries(f).map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join("|") : v}`).join(", ")));
    })
    .catch((e) => mount(info, errorBox(e)));
  const hist = await api(`/users/${seg(user)}/history?limit=50`).catch((e) => e);
  if (hist instanceof Error) mount(history, errorBox(hist));
  else {
    remember(hist.items);
    mount(history, card(`History (${fmt(hist.total)} in training, newest first)`,
      hist.items.length
        ? h("table", { class: "history" },
            h("tr", {}, h("th", {}, "item"), h("th", {}, "genres"), h("th", {}, "value"), h("th", {}, "time")),
            hist.items.map((it) => h("tr", {}, h("td", {}, itemLink(it.item_id)), h("td", {}, tags(it)), h("td", {}, fmt(it.value)), h("td", {}, when(it.timestamp)))))
        : h("p", { class: "muted" }, "no training history")));
  }
  const events = await api(`/users/${seg(user)}/events?limit=20`).catch(() => ({ events: [] }));
  if (events.events.length)
    history.append(card("New events", h("table", { class: "history" },
      events.events.map((e) => h("tr", {}, h("td", {}, itemLink(e.item_id)), h("td", {}, e.type), h("td", {}, fmt(e.value)), h("td", {}, when(e.timestamp)))))));
  const cols = ["offline", "online", "blended"].map((mode) => {
    const body = h("div", {}, h("p", { class: "muted" }, "…"));
    recommendations(user, mode, explains)
      .then((r) => mount(body, r.source === "popular" ? h("p", { class: "muted" }, "popular items (no history)") : null, recList(r.items)))
      .catch((e) => mount(body, errorBox(e)));
    return card(mode, body);
  });
  mount(columns, cols);
}
