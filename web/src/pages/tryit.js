// Try it: add events for a user from the page and watch the online list change (the events are
// stored like any client's; new items in the list are marked).
import { api, explainWriteError, modelExplains, q, seg } from "../api.js";
import { h, mount, when } from "../dom.js";
import { card, errorBox, itemLink, recList, remember } from "../widgets.js";
import { recommendations } from "./users.js";

export function tryit(root, params) {
  const user = h("input", { type: "text", value: params.get("u") || "dashboard-visitor", "aria-label": "user id", id: "try-user" });
  const type = h("select", { "aria-label": "event type", id: "try-type" }, ["like", "view", "purchase", "dislike"].map((t) => h("option", {}, t)));
  const find = h("input", { type: "search", placeholder: "find an item (title or id)", "aria-label": "find an item", id: "try-find" });
  const found = h("div", { class: "results" });
  const said = h("p", { class: "muted", id: "try-said" });
  const online = h("div", { id: "try-online" });
  const events = h("div", {});
  let previous = null;

  const refresh = async () => {
    const id = user.value.trim();
    if (!id) return;
    const explains = await modelExplains();
    try {
      const r = await recommendations(id, "online", explains);
      const now = new Set(r.items.map((x) => x.item_id));
      const fresh = previous ? new Set([...now].filter((x) => !previous.has(x))) : new Set();
      previous = now;
      mount(online, h("p", { class: "muted" }, r.source === "popular" ? "popular items: this user has no history yet" : `${fresh.size} new since the last event`),
        recList(r.items, { fresh }));
    } catch (e) {
      mount(online, errorBox(e));
    }
    try {
      const ev = await api(`/users/${seg(id)}/events?limit=10`);
      mount(events, ev.events.length
        ? h("ul", { class: "pick" }, ev.events.map((e) => h("li", {}, e.type, " ", itemLink(e.item_id), h("span", { class: "muted" }, " " + when(e.timestamp)))))
        : h("p", { class: "muted" }, "no events yet"));
    } catch (e) {
      mount(events, errorBox(e));
    }
  };

  const post = async (item) => {
    const id = user.value.trim();
    try {
      await api("/events", { method: "POST", body: { user_id: id, item_id: item, type: type.value } });
      said.textContent = `stored: ${id} ${type.value} ${item}`;
      await refresh();
    } catch (e) {
      said.textContent = explainWriteError(e);
    }
  };

  const search = async () => {
    try {
      const r = await api(`/items?${q({ q: find.value.trim(), k: 12 })}`);
      remember(r.items);
      mount(found, h("ul", { class: "pick" }, r.items.map((it) =>
        h("li", {}, h("button", { type: "button", class: "add", "data-item": it.item_id, onclick: () => post(it.item_id) }, "+"), " ", itemLink(it.item_id)))));
    } catch (e) {
      mount(found, errorBox(e));
    }
  };

  mount(root, h("h1", {}, "Try it"),
    h("div", { class: "grid2" },
      card("Add events",
        h("form", { class: "search", onsubmit: (e) => { e.preventDefault(); previous = null; refresh(); } },
          h("label", {}, "user ", user), " ", h("label", {}, "event ", type), h("button", { type: "submit" }, "Load")),
        h("form", { class: "search", onsubmit: (e) => { e.preventDefault(); search(); } }, find, h("button", { type: "submit" }, "Find")),
        found, said, h("h3", {}, "Latest events"), events),
      card("Online list", online)));
  search();
  refresh();
}
