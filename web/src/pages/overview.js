// Overview: what is served (dataset, model, version) and how the server is doing now: requests/s,
// latency percentiles and events/s over the last minutes, from its own counters (/stats).
import { api, serverInfo } from "../api.js";
import { h, mount, fmt } from "../dom.js";
import { lineChart } from "../charts.js";
import { card, errorBox } from "../widgets.js";

const clock = (ms) => new Date(ms).toTimeString().slice(0, 8);

export function overview(root) {
  const facts = h("div", { class: "facts" });
  const charts = h("div", { class: "grid3" });
  mount(root, h("h1", {}, "Overview"), facts, charts);

  serverInfo(true)
    .then((s) => {
      const fact = (k, v) => h("div", { class: "fact" }, h("div", { class: "k" }, k), h("div", { class: "v" }, v));
      mount(facts,
        fact("model", s.model), fact("version", s.version), fact("users", fmt(s.users)),
        fact("items", fmt(s.items)), fact("interactions", fmt(s.interactions)),
        fact("events stored", fmt(s.events)), fact("event store", s.event_store),
        fact("lists", s.offline_ready ? "precomputed" : "computing"));
    })
    .catch((e) => mount(facts, errorBox(e)));

  const tick = async () => {
    try {
      const st = await api("/stats?minutes=10");
      const pts = (key) => st.samples.map((x) => [x.t, x[key]]);
      const last = st.samples.length ? st.samples[st.samples.length - 1] : {};
      mount(charts,
        card(`Requests/s ${fmt(last.requests_per_s)}`,
          lineChart({ title: "requests per second", xLabel: clock,
            series: [{ name: "requests/s", cls: "s1", points: pts("requests_per_s") },
                     { name: "errors/s", cls: "s3", points: pts("errors_per_s") }] })),
        card(`Latency p99 ${fmt(last.p99_ms)} ms`,
          lineChart({ title: "latency in milliseconds", unit: "ms", xLabel: clock,
            series: [{ name: "p50", cls: "s1", points: pts("p50_ms") },
                     { name: "p95", cls: "s2", points: pts("p95_ms") },
                     { name: "p99", cls: "s3", points: pts("p99_ms") }] })),
        card(`Events/s ${fmt(last.events_per_s)}`,
          lineChart({ title: "events per second", xLabel: clock,
            series: [{ name: "events/s", cls: "s2", points: pts("events_per_s") }] })));
    } catch (e) {
      mount(charts, errorBox(e));
    }
  };
  tick();
  const timer = setInterval(tick, 2000);
  return () => clearInterval(timer);
}
