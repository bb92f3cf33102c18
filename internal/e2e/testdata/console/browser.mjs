// The web console in a real browser: Debian's chromium driven by
// playwright-core. Run by internal/e2e/console_browser_test.go, which starts
// the gateway and checks the outcome through the management API.
//
// Environment: SWITCHYARD_URL (http://127.0.0.1:PORT), SWITCHYARD_ADMIN_KEY,
// CHROMIUM (the browser binary), KEY_NAME (the key to create), SHOTS (a
// directory for screenshots). Prints one JSON line: what the browser saw.
import { chromium } from "playwright-core";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const base = process.env.SWITCHYARD_URL;
const adminKey = process.env.SWITCHYARD_ADMIN_KEY;
const keyName = process.env.KEY_NAME;
const shots = process.env.SHOTS;

const profile = mkdtempSync(join(tmpdir(), "switchyard-chromium-"));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM,
  headless: true,
  // The machine's network is closed: nothing may phone home.
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  timeout: 60_000,
});
const out = { consoleErrors: [], steps: [] };
try {
  await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: base });
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(20_000);
  page.on("console", (m) => { if (m.type() === "error") out.consoleErrors.push(m.text()); });
  page.on("pageerror", (e) => out.consoleErrors.push(String(e)));

  // The root sends a browser to sign-in.
  await page.goto(base + "/");
  out.signinURL = new URL(page.url()).pathname;
  out.htmx = await page.evaluate(() => (window.htmx ? window.htmx.version : null));

  await page.fill('input[name="key"]', adminKey);
  await page.click('#signin button[type="submit"]');
  await page.waitForSelector("#create-key");
  out.steps.push("signed in");

  // What a script on the page can reach: no session cookie, no key.
  out.documentCookie = await page.evaluate(() => document.cookie);
  const storage = () => page.evaluate(() => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }));
  out.webStorage = await storage();
  out.keyInPage = (await page.content()).includes(adminKey);
  const cookies = await context.cookies(base);
  out.cookie = cookies.map((c) => ({ name: c.name, httpOnly: c.httpOnly, sameSite: c.sameSite, secure: c.secure }));

  // Create a key: shown once, with a copy button.
  await page.fill('#create-key input[name="name"]', keyName);
  await page.fill('#create-key input[name="limit"]', "2.5");
  await page.selectOption('#create-key select[name="limit_reset"]', "monthly");
  await page.fill('#create-key input[name="allowed_models"]', "gpt-4o");
  await page.click('#create-key button[type="submit"]');
  await page.waitForSelector("#new-key");
  out.key = (await page.textContent("#new-key")).trim();
  await page.click('button[data-copy="#new-key"]');
  await page.waitForFunction(() => document.querySelector('button[data-copy="#new-key"]').textContent !== "Copy");
  out.copyButton = await page.textContent('button[data-copy="#new-key"]');
  out.clipboard = await page.evaluate(() => navigator.clipboard.readText().catch((e) => "error: " + e));
  await page.screenshot({ path: join(shots, "1-key-created.png"), fullPage: true });
  out.steps.push("created");

  // Shown once: the Keys page, opened again, has the row but not the key.
  await page.click('nav a[href="/console/keys"]');
  const row = page.locator(`tr[data-name="${keyName}"]`);
  await row.waitFor();
  await page.waitForFunction(() => !document.querySelector("#new-key"));
  out.keyShownAgain = (await page.content()).includes(out.key);
  // htmx would keep pages (the one with the new key) in sessionStorage for
  // its history cache; the console turns that off.
  out.webStorage += await storage();

  // Disable it.
  await row.getByRole("button", { name: "Disable" }).click();
  await page.locator(`tr[data-name="${keyName}"] td.status-disabled`).waitFor();
  out.status = (await page.locator(`tr[data-name="${keyName}"] td.status`).textContent()).trim();
  await page.screenshot({ path: join(shots, "2-key-disabled.png"), fullPage: true });
  out.steps.push("disabled");

  // Connect shows this gateway's base URL.
  await page.click('nav a[href="/console/connect"]');
  await page.waitForSelector("#snippet-python");
  out.pythonSnippet = await page.textContent("#snippet-python");
  await page.screenshot({ path: join(shots, "3-connect.png"), fullPage: true });

  // Sign out: the cookie's session is gone.
  await page.click('form.signout button[type="submit"]');
  await page.waitForSelector("#signin");
  out.steps.push("signed out");
} catch (e) {
  out.error = String(e && e.stack ? e.stack : e);
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}
console.log(JSON.stringify(out));
