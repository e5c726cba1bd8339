// Evaluation: the evaluation and tuning reports found beside the model (reckon evaluate --json,
// reckon tune --json), drawn as the SVG reports draw them: one bar chart per metric, fit time,
// and a tuning run's trials with the best so far.
import { api, seg } from "../api.js";
import { h, mount, fmt } from "../dom.js";
import { barChart, lineChart } from "../charts.js";
import { card, errorBox } from "../widgets.js";

export function evaluation(root, params) {
  const list = h("div", {});
  const view = h("div", {});
  mount(root, h("h1", {}, "Evaluation"), list, view);
  api("/reports")
    .then((r) => {
      if (!r.reports.length) {
        mount(list, h("p", { class: "muted" },
          "No reports beside the model. Write one with reckon evaluate … --json DIR/report.json (or reckon tune … --json) in the model's folder, or start the server with --reports DIR."));
        return;
      }
      const chosen = params.get("r") || r.reports[0].name;
      mount(list, h("ul", { class: "pick inline" }, r.reports.map((x) =>
        h("li", { class: x.name === chosen ? "on" : null },
          h("a", { href: `#/evaluation?r=${encodeURIComponent(x.name)}` }, x.name),
          h("span", { class: "muted" }, ` ${x.kind}, ${x.models.join(", ")}`)))));
      show(view, chosen);
    })
    .catch((e) => mount(list, errorBox(e)));
}

async function show(root, name) {
  let r;
  try {
    r = await api(`/reports/${seg(name)}`);
  } catch (e) {
    mount(root, errorBox(e));
    return;
  }
  const report = r.kind === "tuning" ? r.report.test : r.report;
  const parts = [];
  if (r.kind === "tuning") parts.push(trials(r.report.search));
  parts.push(evaluationReport(report));
  mount(root, parts);
}

function evaluationReport(report) {
  const models = Array.isArray(report.models) ? report.models : [];
  const d = report.dataset || {};
  const p = report.protocol || {};
  const metrics = [...new Set(models.flatMap((m) => Object.keys(m.metrics || {})))];
  const table = h("table", { class: "metrics" },
    h("tr", {}, h("th", {}, "model"), metrics.map((k) => h("th", {}, k)), h("th", {}, "fit s")),
    models.map((m) => h("tr", {}, h("td", {}, m.name), metrics.map((k) => h("td", {}, fmt(m.metrics?.[k], 4))), h("td", {}, fmt(m.fit_seconds)))));
  const lowerIsBetter = (k) => k === "rmse" || k === "mae";
  const charts = metrics.map((k) => card(k + (lowerIsBetter(k) ? " (lower is better)" : ""),
    barChart({ title: k, rows: models.map((m, i) => ({ label: m.name, value: m.metrics?.[k] ?? 0, cls: "s" + ((i % 4) + 1) })) })));
  charts.push(card("fit seconds", barChart({ title: "fit seconds", digits: 3, rows: models.map((m) => ({ label: m.name, value: m.fit_seconds ?? 0, cls: "s2" })) })));
  return h("div", {},
    h("p", { class: "muted" },
      `${d.name || "data"}: ${fmt(d.users)} users, ${fmt(d.items)} items, ${fmt(d.train_interactions)} train / ${fmt(d.test_interactions)} test interactions · split ${p.split || "?"}, candidates ${p.candidates || "?"}`),
    card("Metrics", table), h("div", { class: "grid3" }, charts));
}

function trials(search) {
  const ts = (search.trials || []).filter((t) => t.score !== null && t.score !== undefined);
  let best = null;
  const bestSoFar = ts.map((t) => {
    if (best === null || (search.maximize ? t.score > best : t.score < best)) best = t.score;
    return [t.number, best];
  });
  return card(`Tuning ${search.model}: ${search.metric} on validation (${(search.trials || []).length} trials, ${fmt(search.seconds)} s)`,
    lineChart({ title: "trials", xLabel: (x) => "trial " + x,
      series: [{ name: "trial", cls: "s4", dots: true, points: ts.map((t) => [t.number, t.score]) },
               { name: "best so far", cls: "s1", points: bestSoFar }] }));
}
