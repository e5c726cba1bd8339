// Items: find an item; its metadata, similar items, popularity over time; edit its metadata
// with the admin key.
import { api, explainWriteError, q, seg } from "../api.js";
import { h, mount, fmt } from "../dom.js";
import { columnChart } from "../charts.js";
import { card, errorBox, itemLink, recList, remember, tags } from "../widgets.js";
import { searchBox } from "./users.js";

export function items(root, params) {
  const results = h("div", { class: "results" });
  const detail = h("div", { class: "detail" });
  const search = async (text) => {
    try {
      const r = await api(`/items?${q({ q: text, k: 20 })}`);
      remember(r.items);
      mount(results, h("p", { class: "muted" }, `${fmt(r.total)} items${text ? " match" : ""}`),
        h("ul", { class: "pick" }, r.items.map((it) => h("li", {}, itemLink(it.item_id), " ", tags(it)))));
    } catch (e) {
      mount(results, errorBox(e));
    }
  };
  mount(root, h("h1", {}, "Items"), searchBox("title or id", search), results, detail);
  const item = params.get("i");
  if (item) show(detail, item);
  else search("");
}

async function show(root, item) {
  const meta = h("div", {});
  const similar = h("div", {}, h("p", { class: "muted" }, "…"));
  const popularity = h("div", {}, h("p", { class: "muted" }, "…"));
  mount(root, h("div", { class: "grid2" },
    h("div", {}, meta),
    h("div", {}, card("Popularity over time", popularity), card("Similar items", similar))));
  let record;
  try {
    record = await api(`/items/${seg(item)}`);
  } catch (e) {
    mount(meta, errorBox(e));
    return;
  }
  remember([record]);
  const fields = Object.fromEntries(Object.entries(record).filter(([k]) => !["item_id", "in_model", "placed"].includes(k)));
  const editor = h("textarea", { rows: 8, spellcheck: "false", "aria-label": "metadata JSON" });
  editor.value = JSON.stringify(fields, null, 2);
  const saved = h("span", { class: "muted" });
  const save = async () => {
    let body;
    try {
      body = JSON.parse(editor.value);
    } catch (e) {
      saved.textContent = "not valid JSON: " + e.message;
      return;
    }
    try {
      await api(`/items/${seg(item)}`, { method: "PUT", body });
      saved.textContent = "saved";
    } catch (e) {
      saved.textContent = explainWriteError(e);
    }
  };
  mount(meta, card(record.title ? String(record.title) : item,
    h("table", { class: "fields" },
      h("tr", {}, h("th", {}, "id"), h("td", {}, h("code", {}, item))),
      h("tr", {}, h("th", {}, "in model"), h("td", {}, record.in_model ? "yes" : "no")),
      Object.entries(fields).map(([k, v]) => h("tr", {}, h("th", {}, k), h("td", {}, Array.isArray(v) ? v.join(", ") : typeof v === "object" ? JSON.stringify(v) : String(v))))),
    h("details", {}, h("summary", {}, "Edit metadata (admin key)"), editor,
      h("div", {}, h("button", { type: "button", onclick: save }, "Save"), " ", saved))));
  api(`/similar/${seg(item)}?k=10`)
    .then((r) => mount(similar, recList(r.items)))
    .catch((e) => mount(similar, errorBox(e)));
  api(`/items/${seg(item)}/popularity`)
    .then((p) => mount(popularity,
      h("p", { class: "muted" }, `${fmt(p.interactions)} training interactions, ${fmt(p.events)} new events` + (p.unit ? `, per ${p.unit}` : "")),
      p.series.length
        ? columnChart({ title: "interactions per " + p.unit, buckets: p.series.map((b) => ({ t: b.t, values: [b.training, b.events] })),
            series: [{ name: "training", cls: "s1" }, { name: "new events", cls: "s2" }] })
        : h("p", { class: "muted" }, "the data has no times")))
    .catch((e) => mount(popularity, errorBox(e)));
}
