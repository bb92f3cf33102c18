// The console's Usage page in a real browser (chromium via playwright-core),
// run by TestConsoleUsageInABrowser (internal/e2e/console_usage_test.go),
// which has made requests through the gateway first.
//
// Environment: SWITCHYARD_URL, SWITCHYARD_ADMIN_KEY, CHROMIUM, SHOTS (a
// directory for screenshots), FROM (a date to set as the range's start).
// Prints one JSON line: what the browser saw.
import { chromium } from "playwright-core";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const base = process.env.SWITCHYARD_URL;
const shots = process.env.SHOTS;

const profile = mkdtempSync(join(tmpdir(), "switchyard-chromium-"));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM,
  headless: true,
  acceptDownloads: true,
  viewport: { width: 1280, height: 900 },
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  timeout: 60_000,
});
const out = { consoleErrors: [], steps: [] };
try {
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(20_000);
  page.on("console", (m) => { if (m.type() === "error") out.consoleErrors.push(m.text()); });
  page.on("pageerror", (e) => out.consoleErrors.push(String(e)));

  await page.goto(base + "/console/signin");
  await page.fill('input[name="key"]', process.env.SWITCHYARD_ADMIN_KEY);
  await page.click('#signin button[type="submit"]');
  await page.waitForSelector("nav");
  out.steps.push("signed in");

  // Usage, from the nav (an htmx-boosted navigation).
  await page.click('nav a[href="/console/usage"]');
  await page.waitForSelector("#usage-charts .chart canvas");
  await page.waitForFunction(() => document.querySelectorAll("#usage-charts .chart canvas").length === 8);
  out.charts = await page.locator("#usage-charts .chart canvas").count();
  out.legend = await page.locator("#usage-charts .chart").first().locator(".u-legend").innerText();
  out.totals = await page.locator(".usage-totals").innerText();
  await page.screenshot({ path: join(shots, "usage-desktop.png"), fullPage: true });
  out.steps.push("charts");

  // Another range: the form, sent, redraws the charts for it.
  await page.fill('input[name="from"]', process.env.FROM);
  await page.selectOption('select[name="split"]', "app");
  await page.click('.usage-filters button[type="submit"]');
  await page.waitForFunction((from) => location.search.includes("from=" + from), process.env.FROM);
  await page.waitForFunction(() => document.querySelectorAll("#usage-charts .chart canvas").length === 8);
  out.fromAfter = await page.inputValue('input[name="from"]');
  out.legendAfter = await page.locator("#usage-charts .chart").first().locator(".u-legend").innerText();
  out.days = await page.evaluate(() => JSON.parse(document.getElementById("usage-data").getAttribute("data-json")).days.length);
  out.steps.push("range");

  // CSV.
  const [download] = await Promise.all([page.waitForEvent("download"), page.click("#usage-csv")]);
  out.csvName = download.suggestedFilename();
  out.csv = readFileSync(await download.path(), "utf8");
  out.steps.push("csv");

  // Phone width: no horizontal scrolling, charts as wide as the screen.
  await page.setViewportSize({ width: 390, height: 844 });
  await page.reload();
  await page.waitForFunction(() => document.querySelectorAll("#usage-charts .chart canvas").length === 8);
  out.phone = await page.evaluate(() => ({
    scrollWidth: document.documentElement.scrollWidth,
    innerWidth: window.innerWidth,
    widest: Math.max(...[...document.querySelectorAll("#usage-charts .uplot")].map((e) => e.getBoundingClientRect().right)),
  }));
  await page.screenshot({ path: join(shots, "usage-phone.png"), fullPage: true });
  out.steps.push("phone");
} catch (e) {
  out.error = String(e && e.stack ? e.stack : e);
  const page = context.pages()[0];
  if (page) out.error += "\nat " + page.url() + ":\n" + (await page.content().catch(() => "")).slice(0, 6000);
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}
console.log(JSON.stringify(out));
