// Pieces several pages share: an item as a line, a recommendation list with its explanations,
// an error box.
import { h, fmt } from "./dom.js";

// Titles seen so far, so that an explanation ("because you liked 50") can name its items.
const titles = new Map();
export function remember(items) {
  for (const it of items || []) if (it && it.item_id !== undefined && it.title) titles.set(it.item_id, it.title);
}
export const label = (id) => titles.get(id) || id;

export const itemLink = (id) => h("a", { href: `#/items?i=${encodeURIComponent(id)}`, class: "item" }, label(id));
export const userLink = (id) => h("a", { href: `#/users?u=${encodeURIComponent(id)}` }, id);

export function tags(item) {
  const g = item.genres || item.categories || item.tags;
  const list = Array.isArray(g) ? g : typeof g === "string" ? g.split("|") : [];
  return list.length ? h("span", { class: "tags" }, list.slice(0, 4).map((t) => h("span", { class: "tag" }, String(t)))) : null;
}

// One explanation: history items ("because you liked") or features (the ranker, hybrid).
export function explanation(list) {
  if (!list || !list.length) return null;
  if (list[0].item_id !== undefined)
    return h("div", { class: "why" }, "because of ",
      list.slice(0, 3).map((c, i) => [i ? ", " : "", itemLink(c.item_id), h("span", { class: "muted" }, ` (${fmt(c.contribution, 2)})`)]));
  return h("div", { class: "why" }, "features: ",
    list.slice(0, 3).map((c, i) => [i ? ", " : "", h("code", {}, c.feature), h("span", { class: "muted" }, ` ${c.contribution >= 0 ? "+" : ""}${fmt(c.contribution, 2)}`)]));
}

// A ranked list: [{item_id, score, title, genres, explanation, from}]; `fresh` marks items new
// since the last list shown (Try it).
export function recList(items, { fresh } = {}) {
  remember(items);
  if (!items || !items.length) return h("p", { class: "muted" }, "no items");
  return h("ol", { class: "recs" },
    items.map((it) =>
      h("li", { class: fresh && fresh.has(it.item_id) ? "fresh" : null, "data-item": it.item_id },
        h("div", { class: "line" }, itemLink(it.item_id), tags(it),
          // In online and blended lists the places come from different lists (the model, items
          // similar to the latest events), whose scores are on their own scales.
          it.from ? h("span", { class: "from", title: "the list this place came from" }, it.from) : null,
          h("span", { class: "score" }, it.score === undefined ? "" : fmt(it.score, 3))),
        explanation(it.explanation))));
}

export function errorBox(e) {
  return h("p", { class: "error" }, e && e.message ? e.message : String(e));
}

export function card(title, ...body) {
  return h("section", { class: "card" }, h("h2", {}, title), body);
}
