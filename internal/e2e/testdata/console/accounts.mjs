// The console's Accounts page in chromium: the admin tops up an account and
// sees the top-up in its history, generates two redeem codes (copy, CSV),
// then the account's management key signs in, redeems one and sees its
// balance rise. Run by TestConsoleAccountsTopUpAndRedeemInABrowser.
//
// Environment: SWITCHYARD_URL, SWITCHYARD_ADMIN_KEY, MGMT_KEY (a management
// key of ACCOUNT_ID), ACCOUNT_ID, CHROMIUM, SHOTS. Prints one JSON line.
import { chromium } from "playwright-core";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const base = process.env.SWITCHYARD_URL;
const account = process.env.ACCOUNT_ID;
const shots = process.env.SHOTS;

const profile = mkdtempSync(join(tmpdir(), "switchyard-chromium-"));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM,
  headless: true,
  acceptDownloads: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  timeout: 60_000,
});
const out = { consoleErrors: [], steps: [] };
const text = async (page, sel) => (await page.textContent(sel)).trim();
try {
  await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: base });
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(20_000);
  page.on("console", (m) => { if (m.type() === "error") out.consoleErrors.push(m.text()); });
  page.on("pageerror", (e) => out.consoleErrors.push(String(e)));

  const signIn = async (key) => {
    await page.goto(base + "/console/signin");
    await page.fill('input[name="key"]', key);
    await page.click('#signin button[type="submit"]');
    await page.waitForSelector("nav");
    await page.click('nav a[href="/console/accounts"]');
    await page.waitForSelector("h1:text('Accounts')");
  };

  // The admin: the account's history, a top-up with a memo.
  await signIn(process.env.SWITCHYARD_ADMIN_KEY);
  await page.click(`tr[data-account="${account}"] a`);
  await page.waitForSelector("#topup");
  await page.fill('#topup input[name="amount"]', "7.5");
  await page.fill('#topup input[name="memo"]', "invoice 77");
  await page.click('#topup button[type="submit"]');
  await page.locator("table.history tr[data-kind=topup]", { hasText: "invoice 77" }).waitFor();
  out.topUpRow = (await page.locator("table.history tr[data-kind=topup]").first().textContent()).replace(/\s+/g, " ").trim();
  out.adminBalance = await text(page, "#balance");
  await page.screenshot({ path: join(shots, "accounts-1-topped-up.png"), fullPage: true });
  out.steps.push("topped up");

  // Two codes, shown once, copied and downloaded as CSV.
  await page.fill('#generate input[name="count"]', "2");
  await page.fill('#generate input[name="value"]', "5");
  await page.fill('#generate input[name="memo"]', "browser promo");
  await page.click('#generate button[type="submit"]');
  await page.waitForSelector("#new-codes");
  out.codes = (await text(page, "#new-codes")).split(/\s+/);
  await page.click('button[data-copy="#new-codes"]');
  await page.waitForFunction(() => document.querySelector('button[data-copy="#new-codes"]').textContent !== "Copy");
  out.clipboard = await page.evaluate(() => navigator.clipboard.readText().catch((e) => "error: " + e));
  const [download] = await Promise.all([page.waitForEvent("download"), page.click("#codes-csv")]);
  out.csv = readFileSync(await download.path(), "utf8");
  out.batchRows = await page.locator("table.batches tr[data-batch]").count();
  await page.screenshot({ path: join(shots, "accounts-2-codes.png"), fullPage: true });
  // Shown once: the page again has the batch but not its codes.
  await page.click('nav a[href="/console/accounts"]');
  await page.waitForFunction(() => !document.querySelector("#new-codes"));
  out.codesShownAgain = (await page.content()).includes(out.codes[0]);
  out.steps.push("generated");
  await page.click('form.signout button[type="submit"]');
  await page.waitForSelector("#signin");

  // The management key: its own account only, read-only, and Redeem.
  await signIn(process.env.MGMT_KEY);
  await page.waitForSelector("#redeem");
  out.mgmtAccounts = await page.locator("tr[data-account]").count();
  out.mgmtTopUpForm = await page.locator("#topup").count();
  out.balanceBefore = await text(page, "#balance");
  await page.fill('#redeem input[name="code"]', out.codes[0]);
  await page.click('#redeem button[type="submit"]');
  await page.waitForSelector("#redeemed");
  out.redeemed = await text(page, "#redeemed");
  out.balanceAfter = await text(page, "#balance");
  out.redeemRow = (await page.locator("table.history tr[data-kind=redeem]").first().textContent()).replace(/\s+/g, " ").trim();
  await page.screenshot({ path: join(shots, "accounts-3-redeemed.png"), fullPage: true });
  // Again: refused, with the API's reason.
  await page.fill('#redeem input[name="code"]', out.codes[0]);
  await page.click('#redeem button[type="submit"]');
  await page.waitForSelector("p.error");
  out.again = await text(page, "p.error");
  out.steps.push("redeemed");

  // At phone width the page's content fits (wide tables scroll in their box).
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto(base + "/console/accounts");
  await page.waitForSelector("#redeem");
  out.phoneOverflow = await page.evaluate(() => document.querySelector("main").scrollWidth - document.documentElement.clientWidth);
  await page.screenshot({ path: join(shots, "accounts-4-phone.png"), fullPage: true });
} catch (e) {
  out.error = String(e && e.stack ? e.stack : e);
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}
console.log(JSON.stringify(out));
