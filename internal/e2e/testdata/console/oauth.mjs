// The OAuth consent flow in a real browser (Debian's chromium driven by
// playwright-core). Run by internal/e2e/oauth_browser_test.go, which starts
// the gateway and the app's callback server, and exchanges the code.
//
// Environment: AUTH_URL (the gateway's /auth URL the app sends the user
// to), SWITCHYARD_ADMIN_KEY, CALLBACK_ORIGIN (http://127.0.0.1:PORT),
// LIMIT (USD to grant), CHROMIUM, SHOTS. Prints one JSON line.
import { chromium } from "playwright-core";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const shots = process.env.SHOTS;
const profile = mkdtempSync(join(tmpdir(), "switchyard-oauth-"));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM,
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  timeout: 60_000,
});
const out = { consoleErrors: [], steps: [] };
let page;
try {
  page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(20_000);
  page.setViewportSize({ width: 390, height: 844 });
  page.on("console", (m) => { if (m.type() === "error") out.consoleErrors.push(m.text()); });
  page.on("pageerror", (e) => out.consoleErrors.push(String(e)));

  // Not signed in: the app's link leads to sign-in, which keeps the way back.
  await page.goto(process.env.AUTH_URL);
  const signin = new URL(page.url());
  out.signinPath = signin.pathname;
  out.signinNext = signin.searchParams.get("next");
  await page.fill('input[name="key"]', process.env.SWITCHYARD_ADMIN_KEY);
  await page.click('#signin button[type="submit"]');
  await page.waitForSelector("#consent");
  out.steps.push("signed in, on the consent page");
  out.consentPath = new URL(page.url()).pathname;
  out.consentText = await page.textContent("main");
  out.horizontalScroll = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth);
  out.tooWide = await page.evaluate(() => [...document.querySelectorAll("body *")]
    .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1)
    .map((e) => e.tagName.toLowerCase() + (e.className ? "." + e.className : "")).slice(0, 5));
  if (shots) await page.screenshot({ path: join(shots, "oauth-consent.png"), fullPage: true });

  // Approve with a limit: the browser lands on the app's callback.
  await page.fill('#consent input[name="limit"]', process.env.LIMIT);
  await Promise.all([
    page.waitForURL((u) => u.origin === process.env.CALLBACK_ORIGIN, { waitUntil: "load" }),
    page.click('#consent button[value="approve"]'),
  ]);
  out.steps.push("approved");
  out.callbackURL = page.url();
  out.callbackText = await page.textContent("body");
} catch (e) {
  out.error = String(e && e.stack ? e.stack : e);
  if (page) out.error += ` (at ${page.url()}: ${(await page.textContent("body").catch(() => "")).slice(0, 500)})`;
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}
console.log(JSON.stringify(out));
