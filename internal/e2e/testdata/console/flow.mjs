// The console's whole flow in chromium, in phases the Go test
// (TestConsoleFullFlowInABrowser) runs between its own SDK calls:
//   setup: a wrong key is refused; the admin signs in, creates a key on
//          Keys, reads the Usage chart data, adds a provider and a model
//          routed to it on Providers.
//   after: the requests are in Generations, the chart data moved; the key
//          is disabled on Keys.
//   shots: every page at 1280×800 and 390×844, with its overflow at 390 px;
//          the Playground after one streamed answer (its word-by-word
//          streaming is TestConsolePlaygroundAndRankingsInABrowser's).
//
// Environment: PHASE, SWITCHYARD_URL, SWITCHYARD_ADMIN_KEY, CHROMIUM, SHOTS,
// and per phase SECOND_URL, SECOND_KEY (setup), USER_EMAIL, USER_PASSWORD,
// AUTH_URL, PLAYGROUND_KEY (shots). Prints one JSON line.
import { chromium } from "playwright-core";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const base = process.env.SWITCHYARD_URL;
const env = process.env;
const profile = mkdtempSync(join(tmpdir(), "switchyard-chromium-"));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: env.CHROMIUM,
  headless: true,
  viewport: { width: 1280, height: 800 },
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  timeout: 60_000,
});
const out = { consoleErrors: [], steps: [] };
const squash = (s) => (s ?? "").replace(/\s+/g, " ").trim();
let page;
try {
  page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(20_000);
  page.on("console", (m) => { if (m.type() === "error") out.consoleErrors.push(m.text()); });
  page.on("pageerror", (e) => out.consoleErrors.push(String(e)));

  const signInKey = async (key) => {
    await page.goto(base + "/console/signin");
    await page.fill('input[name="key"]', key);
    await page.click('#signin button[type="submit"]');
    await page.waitForLoadState("networkidle");
  };
  const go = async (path, sel) => {
    await page.goto(base + path);
    await page.waitForSelector(sel, { state: "attached" });
  };
  const usageData = async () => {
    // The totals, and the charts' data (only there once a request is).
    await go("/console/usage", "dl.usage-totals");
    const data = await page.locator("#usage-data").count() ? await page.getAttribute("#usage-data", "data-json") : "";
    return { totals: squash(await page.textContent("dl.usage-totals")), data };
  };

  if (env.PHASE === "setup") {
    await signInKey("sk-this-is-not-a-key");
    out.wrongKeyError = squash(await page.textContent(".error"));
    out.wrongKeyPath = new URL(page.url()).pathname;
    out.steps.push("wrong key refused");

    await signInKey(env.SWITCHYARD_ADMIN_KEY);
    await page.waitForSelector("nav");
    out.steps.push("signed in");

    await go("/console/keys", "#create-key");
    await page.fill('#create-key input[name="name"]', "flow-key");
    await page.click('#create-key button[type="submit"]');
    await page.waitForSelector("#new-key");
    out.newKey = squash(await page.textContent("#new-key"));
    out.steps.push("key created");

    out.usageBefore = await usageData();

    await go("/console/providers", "#add-provider");
    await page.fill('#add-provider input[name="name"]', "second");
    await page.selectOption('#add-provider select[name="type"]', "openai");
    await page.fill('#add-provider input[name="base_url"]', env.SECOND_URL + "/v1");
    await page.fill('#add-provider input[name="api_key"]', env.SECOND_KEY);
    await page.fill('#add-provider input[name="models"]', "second-listed");
    await page.fill('#add-provider input[name="prompt"]', "0.50");
    await page.fill('#add-provider input[name="completion"]', "1.50");
    await page.click('#add-provider button[type="submit"]');
    await page.waitForSelector("#provider-done");
    out.providerDone = squash(await page.textContent("#provider-done"));
    out.providerRow = squash(await page.textContent('tr[data-provider="second"]'));
    out.fileRow = squash(await page.textContent('tr[data-provider="fake"]'));
    out.fileDeletable = await page.locator('tr[data-provider="fake"] button').count();
    out.keyInPage = (await page.content()).includes(env.SECOND_KEY);

    await page.fill('#add-model input[name="id"]', "second-model");
    await page.fill('#add-model input[name="routes"]', "second/upstream-second");
    await page.click('#add-model button[type="submit"]');
    await page.waitForSelector('tr[data-model="second-model"]');
    out.modelRow = squash(await page.textContent('tr[data-model="second-model"]'));

    // Deleting the provider while a model routes to it: the API's 409.
    page.once("dialog", (d) => d.accept());
    await page.click('tr[data-provider="second"] button.danger');
    await page.waitForSelector(".error");
    out.deleteRefused = squash(await page.textContent(".error"));

    // Editing: the key stays unless one is typed.
    await page.click('details[data-provider="second"] summary');
    await page.fill('details[data-provider="second"] input[name="completion"]', "2.00");
    await page.click('details[data-provider="second"] button[type="submit"]');
    await page.waitForSelector("#provider-done");
    out.editedRow = squash(await page.textContent('tr[data-provider="second"]'));
    out.steps.push("provider and model added");
  } else if (env.PHASE === "after") {
    await signInKey(env.SWITCHYARD_ADMIN_KEY);
    await go("/console/generations", "table.generations");
    out.generations = await page.$$eval("table.generations tbody tr[data-id]", (trs) => trs.map((tr) => tr.textContent.replace(/\s+/g, " ").trim()));
    out.usageAfter = await usageData();
    await go("/console/keys", "#create-key");
    await page.click('tr[data-name="flow-key"] button:text("Disable")');
    await page.waitForSelector('tr[data-name="flow-key"] .status-disabled');
    out.keyStatus = squash(await page.textContent('tr[data-name="flow-key"] .status'));
    out.steps.push("key disabled");
  } else if (env.PHASE === "shots") {
    out.overflow = {};
    const shoot = async (name) => {
      for (const [size, w, h] of [["desktop", 1280, 800], ["phone", 390, 844]]) {
        await page.setViewportSize({ width: w, height: h });
        await page.waitForTimeout(150); // let the charts redraw at the new width
        await page.screenshot({ path: join(env.SHOTS, `${name}-${size}.png`), fullPage: true });
        if (size === "phone") {
          out.overflow[name] = await page.evaluate(() => document.scrollingElement.scrollWidth - window.innerWidth);
          if (out.overflow[name] > 0) {
            // Name the widest elements, for the failure message.
            out.wide ??= {};
            out.wide[name] = await page.evaluate(() => [...document.querySelectorAll("body *")]
              .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1)
              .slice(0, 6).map((e) => `${e.tagName.toLowerCase()}#${e.id}.${e.className} ${Math.round(e.getBoundingClientRect().right)}`));
          }
        }
      }
      await page.setViewportSize({ width: 1280, height: 800 });
    };
    await go("/console/signin", "#signin");
    await shoot("signin");
    await go("/console/register", "form");
    await shoot("register");
    await signInKey(env.SWITCHYARD_ADMIN_KEY);
    for (const [name, sel] of [["connect", "h1"], ["keys", "#create-key"], ["usage", "dl.usage-totals"],
      ["generations", "table.generations"], ["models", "h1"], ["providers", "#add-provider"], ["accounts", "h1"],
      ["users", "table.users"], ["rankings", "#rank-models"]]) {
      await go("/console/" + name, sel);
      await shoot(name);
    }
    // The Playground with one streamed answer in it.
    await go("/console/playground", "#playground[data-ready]");
    await page.fill("#pg-key", env.PLAYGROUND_KEY);
    await page.click("#pg-load");
    await page.waitForFunction(() => Number(document.getElementById("playground").getAttribute("data-models")) > 0);
    await page.selectOption("#pg-model", "gpt-4o");
    await page.fill("#pg-input", "Say hello to the screenshot.");
    await page.click("#pg-send");
    await page.waitForSelector("#pg-log .pg-assistant[data-done]");
    await shoot("playground");
    await go("/console/generations", "table.generations tbody tr[data-id] a");
    await page.click("table.generations tbody tr[data-id] a >> nth=0");
    await page.waitForSelector("h1 code");
    await shoot("generation");
    await page.goto(env.AUTH_URL);
    await page.waitForSelector("form");
    await shoot("consent");
    out.steps.push("admin pages");

    // A user signs in with email and password.
    await page.goto(base + "/console/signin");
    await context.clearCookies();
    await page.goto(base + "/console/signin");
    await page.fill('input[name="email"]', env.USER_EMAIL);
    await page.fill('input[name="password"]', env.USER_PASSWORD);
    await page.locator('input[name="password"]').press("Enter");
    await page.waitForSelector("nav");
    out.userWho = squash(await page.textContent(".who"));
    await go("/console/password", "form[action='/console/password']");
    await shoot("password");
    out.steps.push("user pages");
  }
} catch (e) {
  out.error = String(e && e.stack ? e.stack : e);
  if (page) out.error += ` (at ${page.url()}: ${squash(await page.textContent("main").catch(() => ""))})`;
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}
console.log(JSON.stringify(out));
