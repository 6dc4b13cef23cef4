// Helpers shared by the browser end-to-end tests (playground.test.mjs, snippets.test.mjs):
// Debian's /usr/bin/chromium driven by puppeteer-core (no browser is ever downloaded).
import { mkdtempSync, mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import puppeteer from "puppeteer-core";

export const BASE = (process.env.WARMRUN_URL || "http://127.0.0.1:8080").replace(/\/$/, "");
export const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
export const ARTIFACTS = process.env.WARMRUN_ARTIFACTS || "/tmp/warmrun-artifacts";
export const RUN_TIMEOUT = 60_000;

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Starts headless Chromium with a throw-away profile; `close()` removes the profile too. */
export async function launch() {
  mkdirSync(ARTIFACTS, { recursive: true });
  const profile = mkdtempSync(path.join(tmpdir(), "warmrun-chromium-"));
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
      "--disable-dev-shm-usage", `--user-data-dir=${profile}`,
    ],
  });
  return {
    browser,
    async close() {
      await browser.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/**
 * Opens `url` in a new page of `context` (a Browser or BrowserContext) and waits until it
 * is hydrated with editor, terminal and catalog. Page errors and console errors go into
 * `errors`, except console errors matching `allow` (e.g. an expected HTTP 404).
 * `setup(page)` runs before the page loads.
 */
export async function openPage(context, url, errors, { width = 1280, height = 800, dark = false, allow = null, setup = null } = {}) {
  const p = await context.newPage();
  p.on("pageerror", (e) => errors.push(`${url}: ${e.message}`));
  p.on("console", (m) => {
    if (m.type() !== "error" || /favicon/.test(m.text())) return;
    if (allow && allow.test(m.text())) return;
    errors.push(`${url}: console: ${m.text()}`);
  });
  await p.setViewport({ width, height });
  if (dark) await p.emulateMediaFeatures([{ name: "prefers-color-scheme", value: "dark" }]);
  if (setup) await setup(p);
  await p.goto(url, { waitUntil: "load" });
  await p.waitForSelector(".wr-editor.wr-mounted .cm-editor", { timeout: 30_000 });
  await p.waitForSelector(".wr-terminal.wr-mounted .xterm", { timeout: 30_000 });
  await p.waitForFunction(() => document.querySelectorAll("select.wr-lang option[value]:not([value=''])").length > 0, { timeout: 30_000 });
  return p;
}

/** Replaces the editor's text by typing it, as a person would. */
export async function typeCode(p, code) {
  await p.click(".cm-content");
  await p.keyboard.down("Control");
  await p.keyboard.press("a");
  await p.keyboard.up("Control");
  await p.keyboard.press("Backspace");
  await p.keyboard.type(code);
}

/** Replaces the editor's text by pasting it (for texts too long to type). */
export async function pasteCode(p, text) {
  await p.click(".cm-content");
  await p.keyboard.down("Control");
  await p.keyboard.press("a");
  await p.keyboard.up("Control");
  await p.$eval(".cm-content", (el, text) => {
    const data = new DataTransfer();
    data.setData("text/plain", text);
    el.dispatchEvent(new ClipboardEvent("paste", { clipboardData: data, bubbles: true, cancelable: true }));
  }, text);
}

/** The editor's text (the fallback <textarea> is kept in sync with the editor). */
export const editorText = (p) => p.$eval(".wr-editor-fallback", (el) => el.value);

/** Text on the terminal (xterm's DOM renderer: one row per line). */
export const terminalText = (p) =>
  p.$eval(".xterm-rows", (el) => Array.from(el.children).map((r) => r.textContent.replace(/\s+$/, "")).join("\n").trim());

export const statusText = (p) => p.$eval(".wr-status", (el) => el.textContent);

export async function waitForTerminal(p, needle, timeout = RUN_TIMEOUT) {
  try {
    await p.waitForFunction(
      (n) => Array.from(document.querySelectorAll(".xterm-rows > div")).map((r) => r.textContent).join("\n").includes(n),
      { timeout },
      needle,
    );
  } catch (e) {
    throw new Error(`terminal never showed ${JSON.stringify(needle)}; it shows:\n${await terminalText(p)}\nstatus: ${await statusText(p)}`);
  }
}

/** Waits for the run to end; returns its verdict (data-verdict of the status line). */
export async function waitForVerdict(p, timeout = RUN_TIMEOUT) {
  try {
    await p.waitForSelector(".wr-status [data-verdict]", { timeout });
  } catch (e) {
    throw new Error(`no verdict; status: ${await statusText(p)}; terminal:\n${await terminalText(p)}`);
  }
  return p.$eval(".wr-status [data-verdict]", (el) => el.dataset.verdict);
}

export async function selectLanguage(p, id) {
  await p.select("select.wr-lang", id);
  await p.waitForFunction((id) => document.querySelector("select.wr-lang").value === id, {}, id);
}

export const clickRun = (p) => p.click("button.wr-run");
