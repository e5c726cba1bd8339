// Small SVG charts drawn from data (no chart library: the page stays a few tens of KB).
import { s, fmt } from "./dom.js";

const W = 480;
const PAD = { l: 48, r: 12, t: 10, b: 26 };

function niceMax(v) {
  if (!(v > 0)) return 1;
  const p = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function yAxis(h, max, unit) {
  const out = [];
  for (let i = 0; i <= 4; ++i) {
    const v = (max * i) / 4;
    const y = h - PAD.b - ((h - PAD.t - PAD.b) * i) / 4;
    out.push(s("line", { x1: PAD.l, x2: W - PAD.r, y1: y, y2: y, class: "grid" }));
    out.push(s("text", { x: PAD.l - 6, y: y + 4, class: "tick", "text-anchor": "end" }, fmt(v, 2) + (i === 4 && unit ? " " + unit : "")));
  }
  return out;
}

// series: [{name, cls, points: [[x, y|null], ...]}]; x is a number (a time in ms for live charts).
export function lineChart({ series, height = 160, unit = "", xLabel = (x) => fmt(x), title }) {
  const xs = series.flatMap((d) => d.points.map((p) => p[0]));
  const ys = series.flatMap((d) => d.points.map((p) => p[1]).filter((y) => y !== null && Number.isFinite(y)));
  const x0 = Math.min(...xs), x1 = Math.max(...xs);
  const max = niceMax(Math.max(0, ...ys));
  const X = (x) => PAD.l + ((W - PAD.l - PAD.r) * (x1 > x0 ? x - x0 : 0)) / (x1 > x0 ? x1 - x0 : 1);
  const Y = (y) => height - PAD.b - ((height - PAD.t - PAD.b) * y) / max;
  const paths = series.map((d) => {
    if (d.dots)
      return d.points
        .filter(([, y]) => y !== null && Number.isFinite(y))
        .map(([x, y]) => s("circle", { cx: X(x).toFixed(1), cy: Y(y).toFixed(1), r: 2.5, class: ["dot", d.cls] }));
    let path = "";
    let pen = false;
    for (const [x, y] of d.points) {
      if (y === null || !Number.isFinite(y)) {
        pen = false;
        continue;
      }
      path += `${pen ? "L" : "M"}${X(x).toFixed(1)},${Y(y).toFixed(1)}`;
      pen = true;
    }
    return s("path", { d: path || "M0,0", class: ["line", d.cls] });
  });
  const labels = xs.length
    ? [
        s("text", { x: PAD.l, y: height - 6, class: "tick" }, xLabel(x0)),
        s("text", { x: W - PAD.r, y: height - 6, class: "tick", "text-anchor": "end" }, xLabel(x1)),
      ]
    : [s("text", { x: W / 2, y: height / 2, class: "tick", "text-anchor": "middle" }, "no data yet")];
  return s(
    "svg",
    { viewBox: `0 0 ${W} ${height}`, class: "chart", role: "img", "aria-label": title || "chart" },
    yAxis(height, max, unit),
    paths,
    labels,
    legend(series, W - PAD.r, PAD.t + 4),
  );
}

function legend(series, right, top) {
  if (series.length < 2) return [];
  return series.map((d, i) =>
    s("text", { x: right - 4, y: top + 12 * i, class: ["legend", d.cls], "text-anchor": "end" }, d.name),
  );
}

// Horizontal bars: rows [{label, value, cls}], the largest bar the full width.
export function barChart({ rows, unit = "", title, digits = 4 }) {
  const rowH = 20;
  const labelW = 130;
  const height = rows.length * rowH + 8;
  const max = Math.max(0, ...rows.map((r) => r.value || 0)) || 1;
  const width = W - labelW - 70;
  const out = rows.map((r, i) => {
    const y = 4 + i * rowH;
    const w = Math.max(1, (width * (r.value || 0)) / max);
    return [
      s("text", { x: labelW - 6, y: y + 14, class: "tick", "text-anchor": "end" }, r.label),
      s("rect", { x: labelW, y: y + 3, width: w.toFixed(1), height: rowH - 6, class: ["bar", r.cls] }),
      s("text", { x: labelW + w + 4, y: y + 14, class: "tick" }, fmt(r.value, digits) + (unit ? " " + unit : "")),
    ];
  });
  return s("svg", { viewBox: `0 0 ${W} ${height}`, class: "chart", role: "img", "aria-label": title || "bars" }, out);
}

// Columns over time, stacked: buckets [{t: label, values: [a, b]}], series names and classes.
export function columnChart({ buckets, series, height = 150, title }) {
  const totals = buckets.map((b) => b.values.reduce((a, v) => a + v, 0));
  const max = niceMax(Math.max(0, ...totals));
  const n = Math.max(1, buckets.length);
  const slot = (W - PAD.l - PAD.r) / n;
  const Y = (y) => ((height - PAD.t - PAD.b) * y) / max;
  const bars = buckets.map((b, i) => {
    let base = height - PAD.b;
    return b.values.map((v, j) => {
      const hgt = Y(v);
      base -= hgt;
      return v > 0
        ? s("rect", { x: (PAD.l + i * slot + slot * 0.1).toFixed(1), y: base.toFixed(1), width: Math.max(1, slot * 0.8).toFixed(1), height: hgt.toFixed(1), class: ["bar", series[j].cls] },
            s("title", {}, `${b.t}: ${v} ${series[j].name}`))
        : null;
    });
  });
  const labels = buckets.length
    ? [
        s("text", { x: PAD.l, y: height - 6, class: "tick" }, buckets[0].t),
        s("text", { x: W - PAD.r, y: height - 6, class: "tick", "text-anchor": "end" }, buckets[buckets.length - 1].t),
      ]
    : [];
  return s("svg", { viewBox: `0 0 ${W} ${height}`, class: "chart", role: "img", "aria-label": title || "columns" },
    yAxis(height, max, ""), bars, labels, legend(series, W - PAD.r, PAD.t + 4));
}
