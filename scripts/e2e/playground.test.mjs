// End-to-end test of the playground in headless Chromium (Debian's /usr/bin/chromium,
// driven by puppeteer-core: no browser is ever downloaded), against a running server
// with real containers.
//
//   WARMRUN_URL=http://127.0.0.1:8080 node --test scripts/e2e/playground.test.mjs
//
// (scripts/e2e/run.sh starts a server itself when WARMRUN_URL is not set.)
// Screenshots go to ${WARMRUN_ARTIFACTS:-/tmp/warmrun-artifacts}.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import puppeteer from "puppeteer-core";

const BASE = (process.env.WARMRUN_URL || "http://127.0.0.1:8080").replace(/\/$/, "");
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const ARTIFACTS = process.env.WARMRUN_ARTIFACTS || "/tmp/warmrun-artifacts";
const RUN_TIMEOUT = 60_000;

let browser;
let profile;
let page;
const pageErrors = [];

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function openPage(url, { width = 1280, height = 800, dark = false } = {}) {
  const p = await browser.newPage();
  p.on("pageerror", (e) => pageErrors.push(`${url}: ${e.message}`));
  p.on("console", (m) => {
    if (m.type() === "error" && !/favicon/.test(m.text())) pageErrors.push(`${url}: console: ${m.text()}`);
  });
  await p.setViewport({ width, height });
  if (dark) await p.emulateMediaFeatures([{ name: "prefers-color-scheme", value: "dark" }]);
  await p.goto(url, { waitUntil: "load" });
  // Hydrated, editor and terminal mounted, catalog loaded.
  await p.waitForSelector(".wr-editor.wr-mounted .cm-editor", { timeout: 30_000 });
  await p.waitForSelector(".wr-terminal.wr-mounted .xterm", { timeout: 30_000 });
  await p.waitForFunction(() => document.querySelectorAll("select.wr-lang option[value]:not([value=''])").length > 0, { timeout: 30_000 });
  return p;
}

/** Replaces the editor's text by typing it, as a person would. */
async function typeCode(p, code) {
  await p.click(".cm-content");
  await p.keyboard.down("Control");
  await p.keyboard.press("a");
  await p.keyboard.up("Control");
  await p.keyboard.press("Backspace");
  await p.keyboard.type(code);
}

/** The editor's text (the fallback <textarea> is kept in sync with the editor). */
const editorText = (p) => p.$eval(".wr-editor-fallback", (el) => el.value);

/** Text on the terminal (xterm's DOM renderer: one row per line). */
const terminalText = (p) =>
  p.$eval(".xterm-rows", (el) => Array.from(el.children).map((r) => r.textContent.replace(/\s+$/, "")).join("\n").trim());

async function waitForTerminal(p, needle, timeout = RUN_TIMEOUT) {
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

const statusText = (p) => p.$eval(".wr-status", (el) => el.textContent);

/** Waits for the run to end; returns its verdict (data-verdict of the status line). */
async function waitForVerdict(p, timeout = RUN_TIMEOUT) {
  try {
    await p.waitForSelector(".wr-status [data-verdict]", { timeout });
  } catch (e) {
    throw new Error(`no verdict; status: ${await statusText(p)}; terminal:\n${await terminalText(p)}`);
  }
  return p.$eval(".wr-status [data-verdict]", (el) => el.dataset.verdict);
}

async function selectLanguage(p, id) {
  await p.select("select.wr-lang", id);
  await p.waitForFunction((id) => document.querySelector("select.wr-lang").value === id, {}, id);
}

const clickRun = (p) => p.click("button.wr-run");

before(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  profile = mkdtempSync(path.join(tmpdir(), "warmrun-chromium-"));
  browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
      "--disable-dev-shm-usage", `--user-data-dir=${profile}`,
    ],
  });
  page = await openPage(`${BASE}/`);
});

after(async () => {
  if (browser) await browser.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

describe("playground", () => {
  it("loads: server-rendered, hydrated, catalog in the picker, example in the editor", async () => {
    assert.equal(await page.title(), "warmrun playground");
    const langs = await page.$$eval("select.wr-lang option", (os) => os.map((o) => o.value));
    for (const id of ["python", "c"]) assert.ok(langs.includes(id), `picker lists ${id}: ${langs}`);
    assert.equal(await page.$eval("select.wr-lang", (s) => s.value), "python");
    assert.match(await editorText(page), /input\(/, "the python example is loaded");
    assert.equal(await page.$eval("button.wr-share", (b) => b.disabled), true);
    assert.match(await page.$eval("button.wr-share", (b) => b.title), /coming soon/);
    assert.equal(await statusText(page), "Ready.");
  });

  it("runs typed code and shows stdout, and stderr in red", async () => {
    await typeCode(page, 'import sys\nprint("hello from e2e")\nprint("oops", file=sys.stderr)');
    await clickRun(page);
    assert.equal(await waitForVerdict(page), "ok");
    await waitForTerminal(page, "hello from e2e");
    await waitForTerminal(page, "oops");
    const red = await page.$$eval(".xterm-rows span", (spans) =>
      spans.filter((s) => s.textContent.includes("oops")).map((s) => getComputedStyle(s).color));
    assert.ok(red.length > 0, "stderr text is on screen");
    const [r, g, b] = red[0].match(/\d+/g).map(Number);
    assert.ok(r > 150 && g < 100 && b < 100, `stderr is red, got ${red[0]}`);
    const status = await statusText(page);
    assert.match(status, /exit code 0/);
    assert.match(status, /time \d/);
    assert.match(status, /memory \d/);
  });

  it("feeds typed terminal input to a program that asks for it", async () => {
    await typeCode(page, 'name = input("Your name? ")\nprint(f"Hi, {name}!")');
    await clickRun(page);
    await waitForTerminal(page, "Your name?");
    await page.click(".wr-terminal .xterm");
    await page.keyboard.type("Ada");
    await page.keyboard.press("Backspace");
    await page.keyboard.type("a Lovelace");
    await page.keyboard.press("Enter");
    assert.equal(await waitForVerdict(page), "ok");
    await waitForTerminal(page, "Hi, Ada Lovelace!");
    assert.match(await terminalText(page), /Your name\? Ada Lovelace/, "typed input is echoed like a terminal");
    await page.screenshot({ path: path.join(ARTIFACTS, "playground.png") });
  });

  it("tty mode sends keystrokes raw; the program's terminal echoes them", async () => {
    await page.click(".wr-tty input");
    assert.equal(await page.$eval(".wr-tty input", (i) => i.checked), true);
    await typeCode(page, 'import sys\nname = input("tty name? ")\nprint(f"Hi {name}, isatty={sys.stdin.isatty()}")');
    await clickRun(page);
    await waitForTerminal(page, "tty name?");
    await page.click(".wr-terminal .xterm");
    await page.keyboard.type("Bob");
    await page.keyboard.press("Enter");
    assert.equal(await waitForVerdict(page), "ok");
    await waitForTerminal(page, "Hi Bob, isatty=True");
    assert.match(await terminalText(page), /tty name\? Bob/);
    await page.click(".wr-tty input");
  });

  it("Stop kills a busy loop", async () => {
    await typeCode(page, "while True: pass");
    await clickRun(page);
    await page.waitForFunction(() => /Running/.test(document.querySelector(".wr-status").textContent), { timeout: RUN_TIMEOUT });
    await sleep(500);
    const stopped = Date.now();
    await page.click("button.wr-stop");
    assert.equal(await waitForVerdict(page, 10_000), "killed");
    assert.ok(Date.now() - stopped < 5_000, "stopped within 5 s");
    assert.match(await statusText(page), /Stopped/);
  });

  it("shows a compile error (C, run with Ctrl+Enter)", async () => {
    await selectLanguage(page, "c");
    assert.match(await editorText(page), /#include/, "switching language loads its example");
    await typeCode(page, "int main(void) { return undefined_thing; }");
    await page.keyboard.down("Control");
    await page.keyboard.press("Enter");
    await page.keyboard.up("Control");
    assert.equal(await waitForVerdict(page), "compile_error");
    await waitForTerminal(page, "undefined_thing");
    assert.match(await terminalText(page), /error/);
    assert.match(await statusText(page), /Compile error/);
    await page.screenshot({ path: path.join(ARTIFACTS, "compile-error.png") });
  });

  it("switching back keeps the previous language's draft", async () => {
    await selectLanguage(page, "python");
    assert.equal(await editorText(page), "while True: pass");
  });

  it("/embed takes lang and code from the query, without page chrome", async () => {
    const code = 'package main\n\nimport "fmt"\n\nfunc main() { fmt.Println("embedded go") }\n';
    const p = await openPage(`${BASE}/embed?lang=go&code=${encodeURIComponent(code)}`, { width: 700, height: 420 });
    assert.equal(await p.$eval("select.wr-lang", (s) => s.value), "go");
    assert.equal(await editorText(p), code);
    assert.equal(await p.$(".wr-page-header"), null);
    await clickRun(p);
    assert.equal(await waitForVerdict(p), "ok");
    await waitForTerminal(p, "embedded go");
    await p.screenshot({ path: path.join(ARTIFACTS, "embed.png") });
    await p.close();
  });

  it("/s/:id shows the coming-soon notice; phone width in dark mode is usable", async () => {
    const p = await openPage(`${BASE}/s/abc123`, { width: 390, height: 844, dark: true });
    assert.match(await p.$eval(".wr-notice", (n) => n.textContent), /abc123/);
    const layout = await p.evaluate(() => {
      const r = (s) => {
        const { top, bottom, left, right } = document.querySelector(s).getBoundingClientRect();
        return { top, bottom, left, right };
      };
      return {
        editor: r(".wr-editor-pane"), term: r(".wr-term-pane"),
        scrollWidth: document.documentElement.scrollWidth,
        bg: getComputedStyle(document.body).backgroundColor,
      };
    });
    assert.ok(layout.term.top >= layout.editor.bottom - 1, `terminal below the editor on a phone: ${JSON.stringify(layout)}`);
    assert.ok(layout.scrollWidth <= 390, `no sideways scrolling (${layout.scrollWidth}px)`);
    const [r, g, b] = layout.bg.match(/\d+/g).map(Number);
    assert.ok(r + g + b < 100, `dark background in dark mode, got ${layout.bg}`);
    await p.screenshot({ path: path.join(ARTIFACTS, "snippet-phone-dark.png") });
    await p.close();
  });

  it("had no page errors", () => {
    assert.deepEqual(pageErrors, []);
  });
});
