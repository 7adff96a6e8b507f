// Opens an approval page in Debian's headless Chromium, checks the deployment's
// details are shown, clicks Approve and checks the confirmation.
//
//   node tests/browser/approve.mjs <approval-url> [expected text ...]
//
// playwright-core is resolved through NODE_PATH (scripts/install-browser.sh puts
// it in $SHIFTGATE_CACHE/node/node_modules); it drives /usr/bin/chromium and
// never downloads a browser. Exits non-zero with a reason on any failure.
import { createRequire } from "node:module";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

// ES modules ignore NODE_PATH; require() honours it.
const require = createRequire(import.meta.url);
const { chromium } = require("playwright-core");

const [url, ...expected] = process.argv.slice(2);
if (!url) {
  console.error("usage: approve.mjs <approval-url> [expected text ...]");
  process.exit(2);
}

// Optional: where to save screenshots of the page and the confirmation.
const shots = process.env.SHIFTGATE_SCREENSHOTS;

const profile = mkdtempSync(join(tmpdir(), "shiftgate-chromium-"));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: "/usr/bin/chromium",
  headless: true,
  // A phone's viewport: reviewers open these links from their mail on the go.
  viewport: { width: 390, height: 844 },
  isMobile: true,
  args: [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
});
const fail = (message) => {
  throw new Error(message);
};
try {
  const page = context.pages()[0] ?? (await context.newPage());
  // A page of ours loads nothing else: any request to another origin is a bug.
  const origin = new URL(url).origin;
  const foreign = [];
  page.on("request", (r) => {
    if (!r.url().startsWith(origin)) foreign.push(r.url());
  });

  const shown = await page.goto(url);
  if (shown.status() !== 200) fail(`GET answered ${shown.status()}`);
  const body = await page.locator("main").innerText();
  for (const text of expected) {
    if (!body.includes(text)) fail(`the page does not show "${text}":\n${body}`);
  }
  const approve = page.getByRole("button", { name: "Approve" });
  const reject = page.getByRole("button", { name: "Reject" });
  if (!(await approve.isVisible()) || !(await reject.isVisible())) {
    fail("the Approve and Reject buttons are not both visible");
  }
  if ((await page.locator("html").getAttribute("lang")) !== "en") fail("no lang attribute");
  // Nothing may overflow sideways on a phone.
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth);
  if (overflow) fail("the page is wider than a phone's screen");
  await page.getByLabel("Comment (optional)").fill("Approved from headless Chromium");
  if (shots) await page.screenshot({ path: join(shots, "approval-page.png"), fullPage: true });

  const [decided] = await Promise.all([page.waitForNavigation(), approve.click()]);
  if (decided.status() !== 200) fail(`POST answered ${decided.status()}`);
  const confirmation = await page.locator("main").innerText();
  if (!confirmation.includes("Your decision was recorded")) {
    fail(`no confirmation on the page:\n${confirmation}`);
  }
  if (shots) await page.screenshot({ path: join(shots, "approval-confirmation.png"), fullPage: true });
  if (page.url().includes("secret=")) fail("the secret is in the confirmation's URL");
  if (foreign.length) fail(`the page loaded foreign resources: ${foreign.join(", ")}`);
  const lines = confirmation.split("\n").filter((line) => line.trim());
  console.log(`confirmation: ${lines.slice(0, 2).join(" | ")}`);
  console.log("browser approval: ok");
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}
