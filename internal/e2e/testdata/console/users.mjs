// A console user signs in with an email and a password in a real browser
// (Debian's chromium driven by playwright-core). Run by
// internal/e2e/console_users_browser_test.go, which creates the user.
//
// Environment: SWITCHYARD_URL, CHROMIUM, USER_EMAIL, USER_PASSWORD, SHOTS.
// Prints one JSON line: what the browser saw.
import { chromium } from "playwright-core";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const base = process.env.SWITCHYARD_URL;
const email = process.env.USER_EMAIL;
const password = process.env.USER_PASSWORD;
const shots = process.env.SHOTS;

const profile = mkdtempSync(join(tmpdir(), "switchyard-chromium-"));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM,
  headless: true,
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
  // Keyboard only: the email field has the focus.
  await page.keyboard.type(email);
  await page.keyboard.press("Tab");
  await page.keyboard.type("not-the-password");
  await page.keyboard.press("Enter");
  await page.waitForSelector('p.error[role="alert"]');
  out.wrongError = (await page.textContent('p.error[role="alert"]')).trim();
  out.wrongPath = new URL(page.url()).pathname;
  out.wrongCookies = (await context.cookies(base)).length;
  out.emailKept = await page.inputValue('#signin-user input[name="email"]');
  await page.screenshot({ path: join(shots, "users-1-wrong-password.png"), fullPage: true });
  out.steps.push("wrong password refused");

  await page.fill('#signin-user input[name="password"]', password);
  await page.click('#signin-user button[type="submit"]');
  await page.waitForSelector("table.keys");
  out.steps.push("signed in");
  out.path = new URL(page.url()).pathname;
  out.who = (await page.textContent(".who")).trim();
  out.keys = await page.$$eval("tr[data-name]", (rows) => rows.map((r) => r.dataset.name));
  out.documentCookie = await page.evaluate(() => document.cookie);
  out.passwordInPage = (await page.content()).includes(password);
  out.scrollWidth = await page.evaluate(() => document.documentElement.scrollWidth);
  await page.screenshot({ path: join(shots, "users-2-keys.png"), fullPage: true });

  await page.setViewportSize({ width: 390, height: 800 });
  await page.goto(base + "/console/password");
  await page.waitForSelector("#change-password");
  out.phoneOverflow = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth);
  await page.screenshot({ path: join(shots, "users-3-password-phone.png"), fullPage: true });
  out.steps.push("password page");
} catch (e) {
  out.error = String(e && e.stack ? e.stack : e);
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}
console.log(JSON.stringify(out));
