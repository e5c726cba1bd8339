// The dashboard in a real browser: starts `reckon serve` on a small catalogue and drives
// Debian's headless Chromium with playwright-core through every page. Checks that each page
// loads without console errors, that a user search works, that an explanation is shown, that
// an item edit is refused without the admin key and stored with it, that an event posted from
// "Try it" changes the online list, and that crafted metadata is shown as text, never run.
// Screenshots go to $RECKON_TEST_ARTIFACTS (default: ./test-artifacts/dashboard).
//   node dashboard_test.mjs PATH/TO/reckon
import { spawn, execFileSync } from "node:child_process";
import { createRequire } from "node:module";
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(join(here, "../../web/package.json"));
const { chromium } = require("playwright-core");

const reckon = resolve(process.argv[2] || "build/reckon");
const artifacts = resolve(process.env.RECKON_TEST_ARTIFACTS || "test-artifacts/dashboard");
const browserPath = process.env.RECKON_CHROMIUM || "/usr/bin/chromium";
mkdirSync(artifacts, { recursive: true });
const work = mkdtempSync(join(tmpdir(), "reckon-dashboard-"));

let failures = 0;
const check = (ok, what) => {
  console.log(`${ok ? "ok" : "FAIL"}: ${what}`);
  if (!ok) failures++;
};

// 60 users in two taste groups over 40 items with titles and genres; item i7's title is a
// script injection that must show as text.
const XSS = `<img src=x onerror="window.__xss=1">Evil`;
let ratings = "user,item,rating,ts\n";
for (let u = 0; u < 60; ++u)
  for (let k = 0; k < 8; ++k) {
    const i = ((u * 7 + k * 3) % 20) + (u >= 30 ? 20 : 0);
    ratings += `u${u},i${i},${1 + ((u + k) % 5)},${1700000000 + u * 3600 + k * 86400}\n`;
  }
let items = "item,title,genres\n";
for (let i = 0; i < 40; ++i)
  items += `i${i},"${i === 7 ? XSS.replaceAll('"', '""') : `Film ${i} (${1990 + i})`}",${i < 20 ? "Drama|Romance" : "Action|Sci-Fi"}\n`;
writeFileSync(join(work, "ratings.csv"), ratings);
writeFileSync(join(work, "items.csv"), items);
const run = (...args) => execFileSync(reckon, ["-q", ...args], { cwd: work, stdio: ["ignore", "pipe", "inherit"] });
run("import", "ratings.csv", "--items", "items.csv", "-o", "data.rkd");
run("train", "data.rkd", "--model", "itemknn", "-o", "model.rkm");
run("evaluate", "--data", "data.rkd", "--models", "popular,itemknn", "-k", "10", "--json", "eval.json");

const server = spawn(reckon, ["serve", "--model", "model.rkm", "--port", "0", "--api-key", "dashboard-test-key-0123456789",
  "--access-log", "off", "--threads", "2"], { cwd: work, stdio: ["ignore", "pipe", "inherit"] });
const port = await new Promise((ok, no) => {
  let out = "";
  server.stdout.on("data", (d) => {
    out += d;
    const m = out.match(/listening on http:\/\/[^:]+:(\d+)/);
    if (m) ok(Number(m[1]));
  });
  server.on("exit", (code) => no(new Error(`reckon serve exited (${code}) before listening`)));
  setTimeout(() => no(new Error("reckon serve did not start in 30 s")), 30000);
});
const base = `http://127.0.0.1:${port}`;

const browser = await chromium.launch({
  executablePath: browserPath,
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
const errors = [];
let expected = 0; // console errors a step provokes on purpose (a refused write)
page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
page.on("pageerror", (e) => errors.push("page error: " + e.message));
page.on("dialog", (d) => { errors.push("dialog: " + d.message()); d.dismiss(); });
const shot = (name) => page.screenshot({ path: join(artifacts, name + ".png"), fullPage: true });
const step = async (name, body) => {
  const before = errors.length;
  expected = 0;
  try {
    await body();
  } catch (e) {
    check(false, `${name}: ${e.message.split("\n")[0]}`);
  }
  await shot(name).catch(() => {});
  const got = errors.slice(before);
  check(got.length === expected, `${name}: ${got.length} console errors (${expected} expected)` +
    (got.length !== expected ? ": " + got.join(" | ") : ""));
};
const T = { timeout: 15000 };

try {
  await step("overview", async () => {
    await page.goto(base + "/#/");
    await page.locator(".fact .v", { hasText: /^itemknn$/ }).waitFor(T);
    // The live charts draw a line once the server has two samples (one every 2 s).
    await page.waitForFunction(() => [...document.querySelectorAll("path.line")]
      .some((p) => (p.getAttribute("d") || "").includes("L")), null, T);
    check(await page.locator(".fact", { hasText: "users" }).first().innerText().then((t) => t.includes("60")), "overview: 60 users");
  });

  await step("users", async () => {
    await page.goto(base + "/#/users");
    await page.locator("form.search input").fill("u1");
    await page.locator("form.search button").click();
    await page.locator("ul.pick a", { hasText: /^u1$/ }).first().click(T);
    await page.waitForFunction(() => document.querySelectorAll("ol.recs").length >= 3, null, T);
    check((await page.locator("table.history tr").count()) > 1, "users: u1's history is listed");
    check(await page.locator("table.history").innerText().then((t) => /Film \d+/.test(t)), "users: the history shows titles");
    await page.locator(".why", { hasText: "because of" }).first().waitFor(T);
    check(true, "users: an explanation is shown");
  });

  await step("items-read-only", async () => {
    await page.goto(base + "/#/items?i=i3");
    await page.locator("svg.chart").first().waitFor(T);
    await page.locator("ol.recs li").first().waitFor(T);
    await page.locator("summary", { hasText: "Edit metadata" }).click();
    expected = 1; // the refused PUT: "Failed to load resource: 401"
    await page.locator("button", { hasText: "Save" }).click();
    await page.locator("details", { hasText: "needs the admin key" }).waitFor(T);
    check(true, "items: an edit without the key is refused and says why");
  });

  await step("items-edit", async () => {
    await page.locator("#key").fill("dashboard-test-key-0123456789");
    await page.locator("#key").press("Enter");
    await page.locator("ol.recs li").first().waitFor(T);
    await page.locator("summary", { hasText: "Edit metadata" }).click();
    const editor = page.locator("textarea");
    const fields = JSON.parse(await editor.inputValue());
    fields.title = "Film 3, edited";
    await editor.fill(JSON.stringify(fields));
    await page.locator("button", { hasText: "Save" }).click();
    await page.locator("details", { hasText: "saved" }).waitFor(T);
    const stored = await (await fetch(base + "/items/i3")).json();
    check(stored.title === "Film 3, edited", "items: the edit is stored");
  });

  await step("evaluation", async () => {
    await page.goto(base + "/#/evaluation");
    await page.locator("table.metrics td", { hasText: "itemknn" }).waitFor(T);
    check((await page.locator("table.metrics tr").count()) === 3, "evaluation: both models of the report");
    check((await page.locator("svg.chart").count()) >= 2, "evaluation: metric charts");
  });

  await step("try-it", async () => {
    await page.goto(base + "/#/try?u=visitor");
    await page.locator("#try-online ol.recs li").first().waitFor(T);
    const before = await page.locator("#try-online li").evaluateAll((l) => l.map((x) => x.dataset.item));
    await page.locator("#try-find").fill("Sci-Fi");
    await page.locator("#try-find").press("Enter");
    // The catalogue search matches titles and ids; the Sci-Fi films are i20..i39 by id.
    await page.locator("#try-find").fill("i2");
    await page.locator("#try-find").press("Enter");
    await page.locator("button.add[data-item='i25']").waitFor(T);
    for (const item of ["i25", "i27", "i22"]) {
      await page.locator(`button.add[data-item='${item}']`).click();
      await page.locator("#try-said", { hasText: `visitor like ${item}` }).waitFor(T);
    }
    await page.waitForFunction((b) => {
      const now = [...document.querySelectorAll("#try-online li")].map((x) => x.dataset.item);
      return now.length > 0 && now.join() !== b.join();
    }, before, T);
    const after = await page.locator("#try-online li").evaluateAll((l) => l.map((x) => x.dataset.item));
    check(after.join() !== before.join(), `try it: the online list changed (${before.slice(0, 3)} -> ${after.slice(0, 3)})`);
    const sciFi = after.filter((x) => Number(x.slice(1)) >= 20).length;
    check(sciFi >= after.length / 2, `try it: the new list leans to what was liked (${sciFi} of ${after.length} Sci-Fi)`);
  });

  await step("crafted-metadata", async () => {
    await page.goto(base + "/#/items?i=i7");
    await page.locator("h2", { hasText: "onerror" }).waitFor(T);
    check(await page.evaluate(() => window.__xss === undefined), "items: a title with markup is shown as text, never run");
  });
} finally {
  await browser.close();
  server.kill("SIGTERM");
  rmSync(work, { recursive: true, force: true });
}
console.log(`${failures ? "FAILED" : "passed"}: ${failures} failures; screenshots in ${artifacts}`);
process.exit(failures ? 1 : 0);
