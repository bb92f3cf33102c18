// The console's Playground and Rankings pages in a real browser (chromium
// via playwright-core), run by TestConsolePlaygroundAndRankingsInABrowser
// (internal/e2e/console_playground_test.go), which has made requests with
// an X-Title first and set the fake upstream to stream REPLY word by word.
//
// Environment: SWITCHYARD_URL, SWITCHYARD_ADMIN_KEY, SWITCHYARD_KEY (an API
// key), CHROMIUM, SHOTS (a directory for screenshots), MODEL, REPLY.
// Prints one JSON line: what the browser saw.
import { chromium } from "playwright-core";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const base = process.env.SWITCHYARD_URL;
const shots = process.env.SHOTS;
const apiKey = process.env.SWITCHYARD_KEY;

const profile = mkdtempSync(join(tmpdir(), "switchyard-chromium-"));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM,
  headless: true,
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

  // The Playground, from the nav (an htmx-boosted navigation).
  await page.click('nav a[href="/console/playground"]');
  await page.waitForSelector("#playground[data-ready]");
  out.steps.push("playground");

  // A wrong key: the API's error message is shown.
  await page.fill("#pg-key", "sk-not-a-key");
  await page.click("#pg-load");
  await page.waitForSelector("#pg-error:not([hidden])");
  out.badKeyError = await page.locator("#pg-error").innerText();

  await page.fill("#pg-key", apiKey);
  await page.click("#pg-load");
  await page.waitForFunction(() => Number(document.getElementById("playground").getAttribute("data-models")) > 0);
  out.models = await page.locator("#pg-model option").allInnerTexts();
  await page.selectOption("#pg-model", process.env.MODEL);
  await page.fill("#pg-system", "Answer briefly.");
  out.steps.push("models");

  // Record every text the answer shows while it streams.
  await page.evaluate(() => {
    window.__states = [];
    new MutationObserver(() => {
      const t = document.querySelector("#pg-log .pg-assistant:last-child .pg-text");
      if (t && window.__states[window.__states.length - 1] !== t.textContent) window.__states.push(t.textContent);
    }).observe(document.getElementById("pg-log"), { childList: true, subtree: true, characterData: true });
  });
  // Shift+Enter is a new line; Enter sends.
  await page.click("#pg-input");
  await page.keyboard.type("Hello");
  await page.keyboard.press("Shift+Enter");
  await page.keyboard.type("there");
  out.typed = await page.inputValue("#pg-input");
  await page.keyboard.press("Enter");
  await page.waitForSelector("#pg-log .pg-assistant[data-done]");
  out.states = await page.evaluate(() => window.__states);
  out.answer = await page.locator("#pg-log .pg-assistant .pg-text").first().innerText();
  out.stats = await page.locator("#pg-log .pg-assistant .pg-stats").first().innerText();
  out.error1 = await page.locator("#pg-error").isVisible() ? await page.locator("#pg-error").innerText() : "";
  await page.screenshot({ path: join(shots, "playground-desktop.png"), fullPage: true });
  out.steps.push("streamed");

  // A second turn carries the first (the test reads the upstream request).
  await page.fill("#pg-input", "And again");
  await page.click("#pg-send");
  await page.waitForFunction(() => document.querySelectorAll("#pg-log .pg-assistant[data-done]").length === 2);
  out.steps.push("second turn");

  // Stop: a third answer cut short.
  await page.fill("#pg-input", "Once more");
  await page.click("#pg-send");
  await page.waitForFunction(() => {
    const t = document.querySelector("#pg-log .pg-assistant:last-child .pg-text");
    return t && t.textContent.length > 0;
  });
  await page.click("#pg-stop");
  await page.waitForFunction(() => document.querySelectorAll("#pg-log .pg-assistant[data-done]").length === 3);
  out.stopped = await page.locator("#pg-log .pg-assistant .pg-stats").nth(2).innerText();
  out.steps.push("stopped");

  // No key in web storage or cookies.
  out.storage = await page.evaluate(() => JSON.stringify([{ ...localStorage }, { ...sessionStorage }, document.cookie]));

  // Phone width.
  await page.setViewportSize({ width: 390, height: 844 });
  out.phonePlayground = await page.evaluate(() => ({ scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth }));
  await page.screenshot({ path: join(shots, "playground-phone.png"), fullPage: true });

  // Rankings, from the nav.
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.click('nav a[href="/console/rankings"]');
  await page.waitForSelector("#rank-models");
  out.rankModels = await page.locator("#rank-models").innerText();
  out.rankApps = await page.locator("#rank-apps").innerText();
  await page.screenshot({ path: join(shots, "rankings-desktop.png"), fullPage: true });
  await page.click('a[href="/console/rankings?period=day"]');
  await page.waitForFunction(() => location.search.includes("period=day"));
  out.rankAppsDay = await page.locator("#rank-apps").innerText();
  await page.setViewportSize({ width: 390, height: 844 });
  out.phoneRankings = await page.evaluate(() => ({ scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth }));
  await page.screenshot({ path: join(shots, "rankings-phone.png"), fullPage: true });
  out.steps.push("rankings");
} catch (e) {
  out.error = String(e && e.stack ? e.stack : e);
  const page = context.pages()[0];
  if (page) out.error += "\nat " + page.url() + ":\n" + (await page.content().catch(() => "")).slice(0, 6000);
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}
console.log(JSON.stringify(out));
