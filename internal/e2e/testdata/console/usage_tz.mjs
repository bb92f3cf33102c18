// The Usage chart's day axis in a browser whose time zone is not UTC, run
// by TestConsoleUsageChartDaysAreUTCInABrowser
// (internal/e2e/console_usage_test.go), which has made a request first.
//
// Environment: SWITCHYARD_URL, SWITCHYARD_ADMIN_KEY, CHROMIUM, TZ_ID (the
// browser's time zone), FROM, TO (the range's dates). Prints one JSON
// line: the browser's time zone and the first chart's x-axis ticks.
import { chromium } from "playwright-core";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const env = process.env;
const profile = mkdtempSync(join(tmpdir(), "switchyard-chromium-"));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: env.CHROMIUM,
  headless: true,
  timezoneId: env.TZ_ID,
  viewport: { width: 1280, height: 800 },
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

  await page.goto(env.SWITCHYARD_URL + "/console/signin");
  await page.fill('input[name="key"]', env.SWITCHYARD_ADMIN_KEY);
  await page.click('#signin button[type="submit"]');
  await page.waitForSelector("nav");
  out.steps.push("signed in");

  await page.goto(`${env.SWITCHYARD_URL}/console/usage?from=${env.FROM}&to=${env.TO}`);
  await page.waitForSelector("#usage-charts .chart[data-x-ticks]");
  out.timeZone = await page.evaluate(() => Intl.DateTimeFormat().resolvedOptions().timeZone);
  out.ticks = JSON.parse(await page.getAttribute("#usage-charts .chart[data-x-ticks]", "data-x-ticks"));
  out.steps.push("chart");
} catch (e) {
  out.error = String(e && e.stack ? e.stack : e);
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}
console.log(JSON.stringify(out));
