// The logic-analyzer page in a real headless Chromium, for tests/analyzer.rs.
//
//   node tests/browser/analyzer.mjs URL SCREENSHOT.png [TIMEOUT_SECONDS]
//
// Opens URL, waits (at most TIMEOUT_SECONDS, default 30, launch included) until
// the page says the run ended (`window.analyzer.ended`), lets it draw one more
// frame, saves a full-page screenshot, and prints one line of JSON to stdout:
// {"counters", "edges", "connected", "ended", "signals", "hosts"} from `window.analyzer`.
// Exit 0 on success; on a timeout or any error, one line on stderr and exit 1.
// The browser is Debian's Chromium (env CHROMIUM, else /usr/bin/chromium),
// driven by playwright-core (`npm ci` in this folder), with a fresh profile in
// a temporary folder that is removed at the end.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

const [url, screenshot, seconds = "30"] = process.argv.slice(2);
const timeout = Number(seconds) * 1000;
if (!url || !screenshot || !(timeout > 0)) {
  console.error("usage: node analyzer.mjs URL SCREENSHOT.png [TIMEOUT_SECONDS]");
  process.exit(1);
}

const started = Date.now();
const left = () => Math.max(1, timeout - (Date.now() - started));
const fail = (message) => {
  console.error(`analyzer harness: ${message.split("\n")[0]}`);
  process.exitCode = 1;
};

// Whatever happens, the harness ends: a hung browser cannot hold the test.
const watchdog = setTimeout(() => {
  console.error(`analyzer harness: still running ${Math.round(timeout / 1000) + 20} s after start, giving up`);
  process.exit(1);
}, timeout + 20_000);
watchdog.unref();

const profile = mkdtempSync(join(tmpdir(), "circuit-analyzer-"));
let context = null;
const pageErrors = [];
try {
  context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
    viewport: { width: 1280, height: 720 },
    timeout: left(),
  });
  const page = context.pages()[0] || (await context.newPage());
  page.on("pageerror", (err) => pageErrors.push(String(err)));

  await page.goto(url, { timeout: left(), waitUntil: "load" });
  try {
    await page.waitForFunction(() => window.analyzer && window.analyzer.ended === true, null, {
      timeout: left(),
      polling: 100,
    });
  } catch (err) {
    const seen = await page
      .evaluate(() => JSON.stringify(window.analyzer || null))
      .catch(() => "unknown");
    const errors = pageErrors.length ? `; page errors: ${pageErrors.join(" | ")}` : "";
    throw new Error(`the run did not end on the page within ${seconds} s (page state: ${seen})${errors}`);
  }
  // One more frame (two requestAnimationFrame turns), so the final state is drawn.
  await page.evaluate(
    () => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done))),
  );
  await page.screenshot({ path: screenshot, fullPage: true, timeout: left() });
  const seen = await page.evaluate(() => {
    const a = window.analyzer;
    return {
      counters: a.counters,
      edges: a.edges,
      connected: a.connected,
      ended: a.ended,
      signals: a.signals,
      hosts: a.hosts,
    };
  });
  if (pageErrors.length) throw new Error(`the page threw: ${pageErrors.join(" | ")}`);
  process.stdout.write(`${JSON.stringify(seen)}\n`);
} catch (err) {
  fail(err && err.message ? err.message : String(err));
} finally {
  if (context) {
    await Promise.race([
      context.close().catch(() => {}),
      new Promise((done) => setTimeout(done, 10_000).unref()),
    ]);
  }
  try {
    rmSync(profile, { recursive: true, force: true, maxRetries: 3 });
  } catch (_) {
    // A leftover temporary profile is not worth failing the test for.
  }
}
process.exit(process.exitCode || 0);
