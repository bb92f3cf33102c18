// The Generations, Models and Providers pages in a real browser (Debian's
// chromium, playwright-core). Run by TestConsoleGenerationsModelsProviders
// in internal/e2e/console_generations_test.go, which starts the gateway and
// makes the requests listed here before it runs this script.
//
// Environment: SWITCHYARD_URL, SWITCHYARD_ADMIN_KEY, CHROMIUM, SHOTS (a
// directory for screenshots). Prints one JSON line: what the browser saw.
import { chromium } from "playwright-core";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const base = process.env.SWITCHYARD_URL;
const shots = process.env.SHOTS;

const profile = mkdtempSync(join(tmpdir(), "switchyard-chromium-"));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM,
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  timeout: 60_000,
});
const out = { consoleErrors: [], steps: [], overflow: {} };
const rowsOf = (page, sel) => page.$$eval(sel, (trs) => trs.map((tr) => ({ ...tr.dataset })));
// A page wider than the viewport scrolls sideways: what phones must not do.
const overflow = (page) => page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
try {
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(20_000);
  page.on("console", (m) => { if (m.type() === "error") out.consoleErrors.push(m.text()); });
  page.on("pageerror", (e) => out.consoleErrors.push(String(e)));

  await page.goto(base + "/console/signin");
  await page.fill('input[name="key"]', process.env.SWITCHYARD_ADMIN_KEY);
  await page.click('#signin button[type="submit"]');
  await page.waitForSelector("#create-key");
  out.steps.push("signed in");

  // Generations, from the nav.
  await page.click('nav a[href="/console/generations"]');
  await page.waitForSelector("table.generations");
  out.all = await rowsOf(page, "table.generations tbody tr[data-id]");
  out.firstRowCells = await page.$$eval("table.generations tbody tr[data-id]:first-child td", (tds) => tds.map((td) => td.textContent.trim()));
  await page.screenshot({ path: join(shots, "generations.png"), fullPage: true });
  out.steps.push("generations");

  // Filter by model, 10 a page.
  await page.fill('#gen-filters input[name="model"]', "solo");
  await page.selectOption('#gen-filters select[name="limit"]', "10");
  await page.click('#gen-filters button[type="submit"]');
  await page.waitForURL(/model=solo/);
  await page.waitForSelector("table.generations");
  out.page1 = await rowsOf(page, "table.generations tbody tr[data-id]");
  out.steps.push("filtered");

  // The next page.
  await page.click("#next-page");
  await page.waitForSelector("#first-page");
  out.page2 = await rowsOf(page, "table.generations tbody tr[data-id]");
  out.nextOnLastPage = (await page.$("#next-page")) !== null;
  out.modelKept = await page.inputValue('#gen-filters input[name="model"]');
  out.steps.push("paged");

  // A generation's detail: the failed-over request.
  await page.goto(base + "/console/generations?model=duo");
  await page.waitForSelector("table.generations tbody tr[data-id] a.detail");
  await page.click("table.generations tbody tr[data-id] a.detail");
  await page.waitForSelector("#attempts");
  out.attempts = await page.$$eval("#attempts tr.attempt", (trs) => trs.map((tr) => Array.from(tr.cells).map((td) => td.textContent.trim())));
  out.detailCost = await page.$$eval("#generation dt", (dts) => {
    const dt = dts.find((d) => d.textContent === "Cost");
    return dt ? dt.nextElementSibling.textContent.trim() : null;
  });
  await page.screenshot({ path: join(shots, "generation-detail.png"), fullPage: true });
  out.steps.push("detail");

  // Models.
  await page.click('nav a[href="/console/models"]');
  await page.waitForSelector("#models");
  out.models = await page.$$eval("#models tbody tr[data-model]", (trs) => trs.map((tr) => ({
    id: tr.dataset.model, cells: Array.from(tr.cells).map((td) => td.textContent.trim()),
  })));
  await page.screenshot({ path: join(shots, "models.png"), fullPage: true });
  out.steps.push("models");

  // Providers.
  await page.click('nav a[href="/console/providers"]');
  await page.waitForSelector("#providers");
  out.providers = await page.$$eval("#providers tbody tr[data-route]", (trs) => trs.map((tr) => ({
    id: tr.dataset.route, cells: Array.from(tr.cells).map((td) => td.textContent.trim()),
  })));
  await page.screenshot({ path: join(shots, "providers.png"), fullPage: true });
  out.steps.push("providers");

  // Phone width: no page scrolls sideways.
  await page.setViewportSize({ width: 390, height: 844 });
  for (const [name, path] of [["generations", "/console/generations"], ["models", "/console/models"], ["providers", "/console/providers"]]) {
    await page.goto(base + path);
    out.overflow[name] = await overflow(page);
    await page.screenshot({ path: join(shots, name + "-phone.png"), fullPage: true });
  }
  out.steps.push("phone");
} catch (e) {
  out.error = String(e && e.stack ? e.stack : e);
  const p = context.pages()[0];
  if (p) out.error += "\nat " + p.url() + "\n" + (await p.content().catch(() => "")).slice(0, 6000);
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}
console.log(JSON.stringify(out));
