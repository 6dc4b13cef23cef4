// End-to-end test of the one-tag widget (`<script type="module" src=".../embed.js">` and
// <warmrun-playground> elements, app/js/embed.js) in headless Chromium: a static page
// served here from a second origin (a node server on another port) with three widgets in
// three languages, all below the fold, the last one far below.
//
//   WARMRUN_URL=http://127.0.0.1:8080 node --test scripts/e2e/widget.test.mjs
//
// Checks: nothing but embed.js loads before a widget nears the viewport; the wasm loads
// once for all widgets, each widget mounts only when scrolled to; each runs its code and
// shows output and verdict; the Python one takes input typed into its terminal;
// attributes (theme, readonly, height) apply; the host page's own styles are untouched.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import path from "node:path";
import { ARTIFACTS, BASE, RUN_TIMEOUT, launch } from "./lib.mjs";

const PAGE = `<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>A course page</title>
  <link rel="icon" href="data:,">
  <style>body { margin: 20px; font-family: serif; background: rgb(250, 240, 230); } .spacer { height: 1800px; }</style>
  <script type="module" src="${BASE}/embed.js"></script>
</head>
<body>
  <h1>Learning to program</h1>
  <div class="spacer">Read this first.</div>
  <h2>Input</h2>
  <warmrun-playground id="w1" language="python" height="220px">
    name = input("Your name? ")
    print(f"Hi, {name}!")
  </warmrun-playground>
  <h2>Functions</h2>
  <warmrun-playground id="w2" language="javascript" theme="dark">
    const double = (x) => x * 2;
    console.log("doubled:", [1, 2, 3].map(double).join(","));
  </warmrun-playground>
  <div class="spacer">Much later.</div>
  <div class="spacer">Even later.</div>
  <h2>C</h2>
  <warmrun-playground id="w3" language="c" readonly><script type="text/plain">
#include <stdio.h>

int main(void) {
    printf("sum=%d & done\\n", 2 + 3);
    return 0;
}
</script></warmrun-playground>
</body>
</html>
`;

let chromium;
let site;
let siteUrl;
let page;
const errors = [];
const requests = [];

/** Waits until widget `id` is mounted with editor, terminal and language catalog. */
async function waitMounted(id) {
  await page.waitForSelector(`#${id}[data-mounted="true"] .wr-editor.wr-mounted .cm-editor`, { timeout: 30_000 });
  // Grown from its text to a playground: the whole of it into view, terminal included.
  await page.$eval(`#${id}`, (el) => el.scrollIntoView({ block: "start" }));
  await page.waitForSelector(`#${id} .wr-terminal.wr-mounted .xterm`, { timeout: 30_000 });
  await page.waitForFunction(
    (id) => document.querySelectorAll(`#${id} select.wr-lang option[value]:not([value=''])`).length > 0,
    { timeout: 30_000 }, id);
}

const terminalOf = (id) =>
  page.$eval(`#${id} .xterm-rows`, (el) => Array.from(el.children).map((r) => r.textContent.replace(/\s+$/, "")).join("\n").trim());

async function waitForTerminal(id, needle) {
  try {
    await page.waitForFunction(
      (id, n) => Array.from(document.querySelectorAll(`#${id} .xterm-rows > div`)).map((r) => r.textContent).join("\n").includes(n),
      { timeout: RUN_TIMEOUT }, id, needle);
  } catch (e) {
    await page.screenshot({ path: path.join(ARTIFACTS, `widget-${id}-failed.png`) });
    throw new Error(`widget ${id} never showed ${JSON.stringify(needle)}; it shows:\n${await terminalOf(id)}`);
  }
}

async function waitForVerdict(id) {
  const sel = `#${id} .wr-status [data-verdict]`;
  try {
    await page.waitForSelector(sel, { timeout: RUN_TIMEOUT });
  } catch (e) {
    const status = await page.$eval(`#${id} .wr-status`, (el) => el.textContent);
    throw new Error(`widget ${id}: no verdict; status: ${status}; terminal:\n${await terminalOf(id)}`);
  }
  return page.$eval(sel, (el) => el.dataset.verdict);
}

const fetched = (name) => requests.filter((u) => new URL(u).pathname.endsWith(name)).length;

before(async () => {
  site = http.createServer((req, res) => {
    if (req.url === "/" || req.url === "/index.html") {
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
      res.end(PAGE);
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise((resolve) => site.listen(0, "127.0.0.1", resolve));
  siteUrl = `http://127.0.0.1:${site.address().port}/`;
  assert.notEqual(new URL(siteUrl).origin, new URL(BASE).origin, "the page is on another origin");

  chromium = await launch();
  page = await chromium.browser.newPage();
  page.on("pageerror", (e) => errors.push(e.message));
  page.on("console", (m) => {
    if (m.type() === "error" && !/favicon/.test(m.text())) errors.push(`console: ${m.text()}`);
  });
  page.on("request", (r) => requests.push(r.url()));
  await page.setViewport({ width: 1100, height: 700 });
  await page.goto(siteUrl, { waitUntil: "load" });
});

after(async () => {
  if (chromium) await chromium.close();
  if (site) await new Promise((resolve) => site.close(resolve));
});

describe("widget on another origin's page", () => {
  it("loads only embed.js until a widget nears the viewport", async () => {
    await page.waitForFunction(() => customElements.get("warmrun-playground") !== undefined, { timeout: 30_000 });
    await page.waitForNetworkIdle({ idleTime: 500, timeout: 30_000 });
    assert.equal(fetched("/embed.js"), 1, `embed.js requested once: ${requests.join(" ")}`);
    for (const f of ["frontend.js", "frontend_bg.wasm", "widget.css"]) {
      assert.equal(fetched(f), 0, `${f} not loaded before scrolling: ${requests.join(" ")}`);
    }
    assert.equal(await page.$$eval("warmrun-playground[data-mounted]", (els) => els.length), 0);
    // Until mounted, the code shows as text.
    assert.match(await page.$eval("#w1", (el) => el.textContent), /input\("Your name\? "\)/);
  });

  it("mounts the first widget when scrolled to; it takes typed input", async () => {
    await page.$eval("#w1", (el) => el.scrollIntoView({ block: "center" }));
    await waitMounted("w1");
    assert.equal(await page.$eval("#w1 select.wr-lang", (s) => s.value), "python");
    const code = await page.$eval("#w1 .wr-editor-fallback", (el) => el.value);
    assert.equal(code, 'name = input("Your name? ")\nprint(f"Hi, {name}!")\n', "the element's text, dedented");
    assert.match(await page.$eval("#w1 .wr-panes", (el) => el.getAttribute("style")), /--wr-height:\s*220px/);
    // The far one is not mounted yet.
    assert.equal(await page.$eval("#w3", (el) => el.dataset.mounted ?? null), null);

    await page.click("#w1 button.wr-run");
    await waitForTerminal("w1", "Your name?");
    await page.click("#w1 .wr-terminal .xterm");
    await page.keyboard.type("Ada");
    await page.keyboard.press("Enter");
    assert.equal(await waitForVerdict("w1"), "ok");
    await waitForTerminal("w1", "Hi, Ada!");
    await page.screenshot({ path: path.join(ARTIFACTS, "widget-python.png") });
  });

  it("runs the second widget (javascript, dark theme)", async () => {
    await page.$eval("#w2", (el) => el.scrollIntoView({ block: "center" }));
    await waitMounted("w2");
    assert.equal(await page.$eval("#w2", (el) => el.getAttribute("data-theme")), "dark");
    assert.equal(
      await page.$eval("#w2", (el) => getComputedStyle(el).getPropertyValue("--wr-surface").trim()), "#0d1117",
      "dark colours on the dark widget");
    assert.notEqual(
      await page.$eval("#w1", (el) => getComputedStyle(el).getPropertyValue("--wr-surface").trim()), "#0d1117",
      "the other widget keeps its light colours");
    await page.click("#w2 button.wr-run");
    assert.equal(await waitForVerdict("w2"), "ok");
    await waitForTerminal("w2", "doubled: 2,4,6");
  });

  it("mounts the far widget only when scrolled to (c, read-only, code from a text/plain script)", async () => {
    assert.equal(await page.$eval("#w3", (el) => el.dataset.mounted ?? null), null, "not mounted before scrolling");
    await page.$eval("#w3", (el) => el.scrollIntoView({ block: "center" }));
    await waitMounted("w3");
    const code = await page.$eval("#w3 .wr-editor-fallback", (el) => el.value);
    assert.match(code, /^#include <stdio.h>\n/);
    assert.equal(await page.$eval("#w3 .cm-content", (el) => el.getAttribute("contenteditable")), "false", "read-only");
    await page.click("#w3 button.wr-run");
    assert.equal(await waitForVerdict("w3"), "ok");
    await waitForTerminal("w3", "sum=5 & done");
    await page.screenshot({ path: path.join(ARTIFACTS, "widget-c.png") });
  });

  it("loaded the wasm once, left the page's styles alone, logged no errors", async () => {
    assert.equal(fetched("frontend_bg.wasm"), 1, `one wasm for three widgets: ${requests.join(" ")}`);
    assert.equal(fetched("frontend.js"), 1);
    assert.equal(fetched("widget.css"), 1);
    const body = await page.evaluate(() => {
      const s = getComputedStyle(document.body);
      return { bg: s.backgroundColor, margin: s.margin, font: s.fontFamily };
    });
    assert.deepEqual(body, { bg: "rgb(250, 240, 230)", margin: "20px", font: "serif" });
    assert.deepEqual(errors, []);
  });
});
