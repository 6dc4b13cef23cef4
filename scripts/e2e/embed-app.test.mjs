// End-to-end test of another Leptos app embedding warmrun's Playground from a second
// origin: app/examples/embed.rs, built to wasm by scripts/build-embed-example.sh, is
// served by a small static server started here (127.0.0.1, a port of its own: another
// origin than the engine's), and opened in headless Chromium as
// index.html?server=<engine>. Its editor/terminal bundles and styles come from the
// engine's /pkg/ (window.WARMRUN_ASSETS), its languages, runs and snippets from the
// engine's API and WebSocket, all across origins (the engine's CORS).
//
//   WARMRUN_URL=http://127.0.0.1:8080 \
//   WARMRUN_EMBED_EXAMPLE=/var/cache/warmrun-build/embed-example \
//     node --test scripts/e2e/embed-app.test.mjs
//
// (scripts/e2e/run.sh builds the example and starts a server when WARMRUN_URL is unset.)
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { createReadStream, existsSync, statSync } from "node:fs";
import http from "node:http";
import path from "node:path";
import {
  ARTIFACTS, BASE, clickRun, editorText, launch, openPage, terminalText, waitForTerminal,
  waitForVerdict,
} from "./lib.mjs";

const SITE = process.env.WARMRUN_EMBED_EXAMPLE || "/var/cache/warmrun-build/embed-example";
const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".wasm": "application/wasm",
  ".css": "text/css; charset=utf-8",
};
const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
const LINK = new RegExp(`^${escape(BASE)}/s/([A-Za-z0-9]{12})$`);

let site; // the second origin's static server
let PAGE; // its origin, e.g. http://127.0.0.1:41234
let chromium;
let page;
const pageErrors = [];
const requests = []; // every URL the page asked for
const assetHeaders = new Map(); // URL → response headers, for the engine's /pkg/ files
const failed = []; // "status URL" of every answer >= 400

/** Serves SITE's files (GET only, no directory listings; `/` is index.html). */
function startSite() {
  const root = path.resolve(SITE);
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, "http://x");
    const rel = decodeURIComponent(url.pathname === "/" ? "/index.html" : url.pathname);
    const file = path.resolve(root, "." + rel);
    if (req.method !== "GET" || !file.startsWith(root + path.sep) || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found");
      return;
    }
    res.writeHead(200, { "content-type": TYPES[path.extname(file)] || "application/octet-stream" });
    createReadStream(file).pipe(res);
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve(server));
  });
}

before(async () => {
  assert.ok(
    existsSync(path.join(SITE, "index.html")) && existsSync(path.join(SITE, "embed_bg.wasm")),
    `the example is not built in ${SITE} (bash scripts/build-embed-example.sh)`,
  );
  site = await startSite();
  PAGE = `http://127.0.0.1:${site.address().port}`;
  assert.notEqual(new URL(PAGE).origin, new URL(BASE).origin, "the app and the engine are two origins");
  chromium = await launch();
  // The page's own origin may use the clipboard, as a person's click would allow.
  await chromium.browser
    .defaultBrowserContext()
    .overridePermissions(PAGE, ["clipboard-read", "clipboard-write", "clipboard-sanitized-write"]);
  page = await openPage(chromium.browser, `${PAGE}/?server=${encodeURIComponent(BASE)}`, pageErrors, {
    setup: (p) => {
      p.on("request", (r) => requests.push(r.url()));
      p.on("response", (r) => {
        if (r.url().startsWith(`${BASE}/pkg/`)) assetHeaders.set(r.url(), r.headers());
        if (r.status() >= 400) failed.push(`${r.status()} ${r.url()}`);
      });
    },
  });
});

after(async () => {
  if (chromium) await chromium.close();
  if (site) await new Promise((r) => site.close(r));
});

describe("a Leptos app on another origin", () => {
  it("loads its wasm from its origin and the components' assets from the engine", async () => {
    assert.equal(await page.title(), "My language course");
    assert.equal(await page.$eval("h1", (h) => h.textContent), "My language course");
    for (const own of ["/embed.js", "/embed_bg.wasm"]) {
      assert.ok(requests.includes(PAGE + own), `${own} from the app's origin: ${requests.join(" ")}`);
    }
    for (const asset of ["/pkg/js/editor.js", "/pkg/js/terminal.js", "/pkg/style.css"]) {
      assert.ok(requests.includes(BASE + asset), `${asset} from the engine: ${requests.join(" ")}`);
    }
    // The bundles are ES modules imported across origins: only CORS lets the page run them.
    assert.equal(assetHeaders.get(`${BASE}/pkg/js/editor.js`)?.["access-control-allow-origin"], "*");
    // The engine's styles apply (the toolbar is laid out by style.css).
    assert.equal(await page.$eval(".wr-playground", (el) => getComputedStyle(el).display), "flex");
    // The read-only CodeEditor beside the playground, and the page reading its signal.
    await page.waitForFunction(() => document.querySelectorAll(".wr-editor.wr-mounted .cm-editor").length === 2, { timeout: 30_000 });
    assert.match(await page.$$eval(".wr-editor .cm-content", (els) => els[1].textContent), /Hello from an embedded editor/);
    assert.equal(await page.$eval("p.line-count", (p) => p.textContent), "3 lines");
  });

  it("lists the engine's languages", async () => {
    const catalog = await (await fetch(`${BASE}/api/v1/languages`)).json();
    const ids = catalog.map((l) => l.id).sort();
    assert.ok(ids.includes("python"), `catalog: ${ids}`);
    assert.ok(requests.includes(`${BASE}/api/v1/languages`), "asked the engine, not its own origin");
    const shown = await page.$$eval("select.wr-lang option", (os) => os.map((o) => o.value).filter(Boolean));
    assert.deepEqual([...shown].sort(), ids, "the picker offers exactly the engine's catalog");
    assert.equal(await page.$eval("select.wr-lang", (s) => s.value), "python");
  });

  it("runs a program, answers its prompt in the terminal, shows output and verdict", async () => {
    assert.match(await editorText(page), /input\("Your name\? "\)/, "the example's starting code");
    await clickRun(page);
    await waitForTerminal(page, "Your name?");
    await page.click(".wr-terminal .xterm");
    await page.keyboard.type("Ada");
    await page.keyboard.press("Enter");
    assert.equal(await waitForVerdict(page), "ok");
    await waitForTerminal(page, "Hello, Ada!");
    assert.match(await terminalText(page), /Your name\? Ada/);
    await page.screenshot({ path: path.join(ARTIFACTS, "embed-app.png") });
  });

  it("shares it: the link names the engine, and the snippet is stored there", async () => {
    await page.bringToFront();
    await page.click("button.wr-share");
    await page.waitForSelector(".wr-share-dialog", { timeout: 10_000 });
    await page.click("button.wr-share-save");
    await page.waitForSelector(".wr-share-panel", { timeout: 15_000 });
    const panel = await page.$eval(".wr-share-panel", (el) => ({
      className: el.className,
      text: el.textContent,
      link: el.querySelector("input.wr-share-link")?.value ?? null,
    }));
    const m = LINK.exec(panel.link ?? "");
    assert.ok(m, `a link on the engine: ${JSON.stringify(panel)}`);
    assert.match(panel.className, /wr-copied/, `copied: ${JSON.stringify(panel)}`);
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), panel.link);

    const res = await fetch(`${BASE}/api/v1/snippets/${m[1]}`);
    assert.equal(res.status, 200);
    const snippet = await res.json();
    assert.equal(snippet.language, "python");
    assert.equal(snippet.code, await editorText(page));
    assert.equal(snippet.output?.verdict, "ok", JSON.stringify(snippet.output));
    assert.match(snippet.output?.stdout ?? "", /Hello, Ada!/);
    const shared = await fetch(panel.link);
    assert.equal(shared.status, 200, "the /s/ page opens on the engine");
    await page.screenshot({ path: path.join(ARTIFACTS, "embed-app-shared.png") });
  });

  it("had no page errors", () => {
    assert.deepEqual(pageErrors, [], `failed requests: ${failed.join(", ")}`);
    assert.deepEqual(failed, []);
  });
});
