// The studio page end to end: a real `sdwalk serve` (demo model, temp runs folder, free port), the
// page in headless chromium: two prompts, start, frames arrive, scrub the timeline, download the
// GIF. Screenshots go to ARTIFACT_DIR. Usage: node studio_test.mjs SDWALK ARTIFACT_DIR CHROMIUM
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const { chromium } = require("playwright-core");
const [sdwalk, artifacts, chromiumPath] = process.argv.slice(2);
const runs = fs.mkdtempSync(path.join(os.tmpdir(), "sdwalk-browser-"));

function fail(message) {
  console.error("FAIL: " + message);
  process.exitCode = 1;
  throw new Error(message);
}

// Polls `check` (no page.waitForFunction: it evaluates strings, which the page's CSP forbids).
async function until(what, check, timeoutMs = 30000) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > end) fail("timed out waiting for " + what);
    await new Promise((r) => setTimeout(r, 100));
  }
}
const text = (page, sel) => page.locator(sel).first().textContent();
const attr = (page, sel, name) => page.locator(sel).first().getAttribute(name);

// With a token: every request of the page (API, frames, event stream, downloads) must carry it.
const token = "browser-test-token";
const server = spawn(sdwalk, ["serve", "--port", "0", "--runs", path.join(runs, "runs"), "--threads", "1", "--token", token],
                     { stdio: ["ignore", "pipe", "inherit"] });
const url = await new Promise((resolve, reject) => {
  let out = "";
  const timer = setTimeout(() => reject(new Error("server did not start")), 60000);
  server.stdout.on("data", (d) => {
    out += d;
    const m = out.match(/sdwalk serve: (http:\/\/\S+)\n/);
    if (m) { clearTimeout(timer); resolve(m[1]); }
  });
  server.on("exit", (code) => reject(new Error("server exited with " + code)));
});

let browser;
try {
  browser = await chromium.launch({ executablePath: chromiumPath, headless: true, args: ["--no-sandbox"] });
  const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1100, height: 900 } });
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.goto(url + "#token=" + token);
  if (page.url().includes(token)) fail("the token stays in the address bar");
  await until("the model's settings", async () => (await page.locator("#scheduler option").count()) > 0);

  // Two keyframes; the second prompt holds markup, which must stay text.
  const prompts = page.locator(".kf-prompt");
  if (await prompts.count() !== 2) fail("expected two keyframe rows");
  await prompts.nth(0).fill("a small green star at the bottom on a blue background");
  await prompts.nth(1).fill("a big yellow circle <b id=injected>bold</b> on a red background");
  await page.locator(".kf-frames").nth(0).fill("4");
  await page.locator("#steps").fill("4");
  await page.click("#kf-add");
  if (await page.locator(".keyframe").count() !== 3) fail("add keyframe did not add a row");
  await page.locator(".kf-remove").nth(2).click();
  if (await page.locator(".keyframe").count() !== 2) fail("remove keyframe did not remove the row");
  await page.click("#start");

  // Frames arrive live; the walk finishes.
  await until("a first frame", async () => ((await attr(page, "#frame-view", "src")) || "").startsWith("blob:"), 60000);
  await page.screenshot({ path: path.join(artifacts, "studio-rendering.png") });
  await until("the walk to finish", async () => /^done/.test(await text(page, "#status")), 90000);
  await until("the download button", async () => page.locator("#download-gif").isEnabled());

  // Scrub: the slider's first position shows frame 1.
  const max = Number(await page.locator("#timeline").getAttribute("max"));
  if (max < 3) fail("timeline has " + (max + 1) + " frames, expected at least 4");
  await page.locator("#timeline").fill("0");
  await until("frame 1 shown", async () => (await text(page, "#frame-label")).startsWith("frame 1 /"));
  await page.locator("#timeline").fill(String(max));
  await until("the last frame shown", async () => (await text(page, "#frame-label")).startsWith("frame " + (max + 1) + " /"));

  // The prompt with markup is text in the run list, not elements.
  await until("the run list", async () => (await page.locator("#runs tr").count()) > 0);
  if (await page.locator("#injected").count() !== 0) fail("a prompt's markup became an element");
  const listed = await page.locator("#runs td.prompts").first().textContent();
  if (!listed.includes("<b id=injected>")) fail("the run list does not show the prompt as text: " + listed);

  // Download the GIF.
  const [download] = await Promise.all([page.waitForEvent("download"), page.click("#download-gif")]);
  const gifPath = path.join(artifacts, "studio-download.gif");
  await download.saveAs(gifPath);
  const head = fs.readFileSync(gifPath).subarray(0, 6).toString("latin1");
  if (head !== "GIF89a" && head !== "GIF87a") fail("the download is no GIF: " + head);

  // The smoothness plot and its summary appear once the walk is done.
  await until("the smoothness plot", async () => ((await attr(page, "#smoothness-plot", "src")) || "").startsWith("blob:"), 30000);
  const smooth = await text(page, "#smoothness-text");
  if (!/max\/median [0-9.]+, 1 - Gini [0-9.]+/.test(smooth)) fail("no smoothness summary: " + smooth);

  // Play for a moment, then the screenshot for the README.
  await page.click("#play");
  await page.waitForTimeout(500);
  await page.click("#play");
  await until("the run list to say done", async () => (await text(page, "#runs tr td:nth-child(2)")) === "done");
  await page.locator("#timeline").fill(String(Math.floor(max / 2)));
  await page.screenshot({ path: path.join(artifacts, "studio.png"), fullPage: true });
  if (errors.length) fail("page errors: " + errors.join("; "));
  console.log("browser studio test passed; screenshots in " + artifacts);
} finally {
  if (browser) await browser.close();
  server.kill("SIGTERM");
  fs.rmSync(runs, { recursive: true, force: true });
}
