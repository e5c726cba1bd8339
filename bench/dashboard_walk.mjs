// The dashboard's latency at the server: starts `reckon serve` on a model, drives headless
// Chromium through every page (the most active users with their explained lists, the most
// popular items with their similar lists and popularity, the reports, events from "Try it"),
// stops the server (which flushes its access log) and prints each route's request count, p50,
// p99 and slowest time at the server.
//   node bench/dashboard_walk.mjs build/reckon MODEL.rkm [users=3] [items=3] [--settled]
// --settled: wait for the server's background work (every user's offline list, every item's
// similar items) before walking; without it the walk starts as soon as the server listens.
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const { chromium } = createRequire(join(here, "../web/package.json"))("playwright-core");
const settled = process.argv.includes("--settled");
const args = process.argv.slice(2).filter((a) => a !== "--settled");
const [reckon, model] = args;
const nUsers = Number(args[2] || 3), nItems = Number(args[3] || 3);
if (!reckon || !model) {
  console.error("usage: node dashboard_walk.mjs PATH/TO/reckon MODEL.rkm [users] [items]");
  process.exit(2);
}
const work = mkdtempSync(join(tmpdir(), "reckon-walk-"));
const accessLog = join(work, "access.log");
const server = spawn(resolve(reckon), ["serve", "--model", resolve(model), "--port", "0", "--access-log", accessLog,
  "--events", join(work, "events.db")], { stdio: ["ignore", "pipe", "inherit"] });
const base = await new Promise((ok, no) => {
  let out = "";
  server.stdout.on("data", (d) => {
    out += d;
    const m = out.match(/listening on (http:\/\/[^ ]+:\d+)/);
    if (m) ok(m[1]);
  });
  server.on("exit", (code) => no(new Error(`reckon serve exited (${code})`)));
});
const stopped = new Promise((ok) => server.on("exit", ok));
if (settled) {
  for (let ready = false; !ready; await new Promise((ok) => setTimeout(ok, 500)))
    ready = (await (await fetch(base + "/health")).json()).similar_ready;
}

const browser = await chromium.launch({
  executablePath: process.env.RECKON_CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
const errors = [];
page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
const T = { timeout: 60000 };
const t0 = Date.now();

await page.goto(base + "/#/");
await page.locator(".fact").first().waitFor(T);
await page.waitForTimeout(4500);  // two samples of the live charts

const api = async (path) => (await fetch(base + path)).json();
const users = (await api(`/users?k=${nUsers}`)).users.map((u) => u.user_id);
for (const u of users) {
  await page.goto(`${base}/#/users?u=${encodeURIComponent(u)}`);
  await page.waitForFunction(() => document.querySelectorAll("ol.recs li, .card .error").length >= 3, null, T);
  await page.locator("table.history").waitFor(T);
}
await page.goto(base + "/#/users");
await page.locator("form.search input").fill("1");
await page.locator("form.search button").click();
await page.locator("ul.pick li").first().waitFor(T);

const popular = (await api(`/popular?k=${nItems}`)).items.map((i) => i.item_id);
for (const i of popular) {
  await page.goto(`${base}/#/items?i=${encodeURIComponent(i)}`);
  await page.locator("ol.recs li").first().waitFor(T);
  await page.waitForFunction(() => [...document.querySelectorAll(".card")].some((c) => /training interactions/.test(c.textContent)), null, T);
}
await page.goto(base + "/#/items");
await page.locator("ul.pick li").first().waitFor(T);
await page.goto(base + "/#/evaluation");
await page.waitForTimeout(1000);

await page.goto(base + "/#/try?u=walk-visitor");
await page.locator("button.add").first().waitFor(T);
const adds = await page.locator("button.add").count();
for (let k = 0; k < Math.min(5, adds); ++k) {
  await page.locator("button.add").nth(k).click();
  await page.locator("#try-said", { hasText: "stored" }).waitFor(T);
  await page.waitForTimeout(300);
}
await browser.close();
server.kill("SIGTERM");
await stopped;

// "ADDR \"GET /path?q\" STATUS BYTES 1.234ms" per request.
const rows = readFileSync(accessLog, "utf8").split("\n").filter(Boolean);
rmSync(work, { recursive: true, force: true });
const byRoute = new Map();
for (const line of rows) {
  const m = line.match(/"(\w+) ([^" ]+)[^"]*" (\d+) \S+ ([\d.]+)ms/);
  if (!m) continue;
  const path = m[2].split("?")[0];
  const route = path === "/" || path.startsWith("/assets/") ? "/ (page, assets)"
    : m[1] + " " + path.replace(/^\/(users|items|recommend|similar|reports)\/[^/]+/, "/$1/{id}");
  if (!byRoute.has(route)) byRoute.set(route, []);
  byRoute.get(route).push(Number(m[4]));
}
const q = (xs, p) => xs[Math.min(xs.length - 1, Math.floor(p * xs.length))];
let worst = 0, total = 0;
console.log(`walked the dashboard in ${((Date.now() - t0) / 1000).toFixed(1)} s; ${errors.length} console errors`);
console.log("| route | requests | p50 ms | p99 ms | slowest ms |\n| --- | ---: | ---: | ---: | ---: |");
for (const [route, xs] of [...byRoute].sort()) {
  xs.sort((a, b) => a - b);
  worst = Math.max(worst, xs[xs.length - 1]);
  total += xs.length;
  console.log(`| ${route} | ${xs.length} | ${q(xs, 0.5).toFixed(2)} | ${q(xs, 0.99).toFixed(2)} | ${xs[xs.length - 1].toFixed(2)} |`);
}
console.log(`${total} requests; the slowest took ${worst.toFixed(2)} ms at the server`);
for (const e of errors) console.log("console error: " + e);
process.exit(errors.length ? 1 : 0);
