// The Keys page's rate limits and edit view, a member's read-only view and
// the Users page, in a real browser (Debian's chromium driven by
// playwright-core). Run by internal/e2e/console_keys_users_browser_test.go,
// which creates the account and its users through the API.
//
// Environment: SWITCHYARD_URL, CHROMIUM, ADMIN_KEY, ACCOUNT, OWNER_EMAIL,
// OWNER_PASSWORD, MEMBER_EMAIL, MEMBER_PASSWORD, NEW_EMAIL, SHOTS.
// Prints one JSON line: what the browser saw.
import { chromium } from "playwright-core";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const env = process.env;
const base = env.SWITCHYARD_URL;
const shots = env.SHOTS;
const keyName = "browser-limited";

const profile = mkdtempSync(join(tmpdir(), "switchyard-chromium-"));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: env.CHROMIUM,
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  timeout: 60_000,
});
const out = { consoleErrors: [], steps: [], overflow: {} };
try {
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(20_000);
  page.on("console", (m) => { if (m.type() === "error") out.consoleErrors.push(m.text()); });
  page.on("pageerror", (e) => out.consoleErrors.push(String(e)));
  page.on("dialog", (d) => d.accept());
  const phoneCheck = async (name) => {
    await page.setViewportSize({ width: 390, height: 800 });
    out.overflow[name] = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth);
    if (out.overflow[name]) {
      // What sticks out, for the failure message.
      out.wide = (out.wide ?? []).concat(await page.$$eval("body *", (els) => els
        .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1 && !e.closest(".scroll"))
        .slice(0, 5).map((e) => e.tagName + "." + e.className + " " + Math.round(e.getBoundingClientRect().right))));
    }
    await page.screenshot({ path: join(shots, "keys-users-" + name + "-phone.png"), fullPage: true });
    await page.setViewportSize({ width: 1280, height: 800 });
  };
  const signOut = async () => {
    await page.click('form.signout button[type="submit"]');
    await page.waitForSelector("#signin");
  };
  const signInUser = async (email, password) => {
    await page.fill('#signin-user input[name="email"]', email);
    await page.fill('#signin-user input[name="password"]', password);
    await page.click('#signin-user button[type="submit"]');
    await page.waitForSelector("table.keys");
  };

  // The admin, filtered to the account, creates a key with rate limits.
  await page.goto(base + "/console/signin");
  await page.fill('#signin input[name="key"]', env.ADMIN_KEY);
  await page.click('#signin button[type="submit"]');
  await page.waitForSelector("table.keys");
  await page.selectOption('form.account-filter select[name="account"]', env.ACCOUNT);
  await page.click('form.account-filter button[type="submit"]');
  await page.waitForURL((u) => u.search.includes("account=" + env.ACCOUNT));
  await page.fill('#create-key input[name="name"]', keyName);
  await page.fill('#create-key input[name="rpm"]', "30");
  await page.fill('#create-key input[name="tpm"]', "5000");
  await page.fill('#create-key input[name="concurrency"]', "2");
  await page.click('#create-key button[type="submit"]');
  await page.waitForSelector(".newkey");
  const row = `tr[data-name="${keyName}"]`;
  out.rowLimits = (await page.innerText(`${row} td:nth-child(8)`)).replace(/\s+/g, " ").trim();
  out.filteredKeys = await page.$$eval("tr[data-name]", (rows) => rows.map((r) => r.dataset.name));
  await page.screenshot({ path: join(shots, "keys-users-1-created.png"), fullPage: true });
  out.steps.push("key created");

  // Its edit view, reached by keyboard: focus the row's Edit link, Enter.
  await page.focus(`${row} a.edit-key`);
  await page.keyboard.press("Enter");
  await page.waitForSelector("#edit-key");
  out.editRPM = await page.inputValue('#edit-key input[name="rpm"]');
  await page.fill('#edit-key input[name="limit"]', "-3");
  await page.click('#edit-key button[type="submit"]');
  await page.waitForSelector('p.error[role="alert"]');
  out.editError = (await page.textContent('p.error[role="alert"]')).trim();
  await page.fill('#edit-key input[name="limit"]', "12.5");
  await page.click('#edit-key button[type="submit"]');
  await page.waitForSelector(".done");
  out.editedLimit = (await page.textContent(".facts")).replace(/\s+/g, " ");
  await page.screenshot({ path: join(shots, "keys-users-2-edited.png"), fullPage: true });
  await phoneCheck("key");
  out.steps.push("key edited");
  await signOut();

  // A member sees the keys, and no control to change them.
  await signInUser(env.MEMBER_EMAIL, env.MEMBER_PASSWORD);
  out.memberKeys = await page.$$eval("tr[data-name]", (rows) => rows.map((r) => r.dataset.name));
  out.memberControls = await page.$$eval("#create-key, main form[action*='/console/keys/'] button", (els) => els.length);
  out.memberLinks = await page.$$eval("a.edit-key", (as) => as.map((a) => a.textContent.trim()));
  await page.goto(base + "/console/users");
  await page.waitForSelector("table.users");
  out.memberUserControls = await page.$$eval("#create-user, main form[action*='/console/users/'] button", (els) => els.length);
  await page.screenshot({ path: join(shots, "keys-users-3-member-users.png"), fullPage: true });
  out.steps.push("member read-only");
  await signOut();

  // An owner creates a user; the one-time password is shown once.
  await signInUser(env.OWNER_EMAIL, env.OWNER_PASSWORD);
  await phoneCheck("keys");
  await page.click('header nav a[href="/console/users"]');
  await page.waitForSelector("#create-user");
  await page.fill('#create-user input[name="email"]', env.NEW_EMAIL);
  await page.click('#create-user button[type="submit"]');
  await page.waitForSelector("#new-password");
  out.oneTimePassword = (await page.textContent("#new-password")).trim();
  out.newUsers = await page.$$eval("tr[data-email]", (rows) => rows.map((r) => r.dataset.email));
  await page.screenshot({ path: join(shots, "keys-users-4-one-time-password.png"), fullPage: true });
  await phoneCheck("users");
  await page.goto(base + "/console/users");
  await page.waitForSelector("table.users");
  out.passwordShownAgain = (await page.content()).includes(out.oneTimePassword);
  out.steps.push("user created");
} catch (e) {
  out.error = String(e && e.stack ? e.stack : e);
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}
console.log(JSON.stringify(out));
