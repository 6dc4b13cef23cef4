// End-to-end test of shared snippets and the footer statistics in headless Chromium,
// against a running server with real containers (see playground.test.mjs, lib.mjs).
//
//   WARMRUN_URL=http://127.0.0.1:8080 node --test scripts/e2e/snippets.test.mjs
//
// Share → the link is read from the clipboard (clipboard permissions granted to the
// origin) → opened in a fresh browser context → same code and language, saved output
// shown, Run works; sharing an edit gives a new link, shown in a field to copy when the
// page has no clipboard; oversize code is refused with a message; unknown ids say
// "not found"; the footer shows statistics and stays quiet when they fail.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import {
  ARTIFACTS, BASE, clickRun, editorText, launch, openPage, pasteCode, statusText,
  terminalText, typeCode, waitForTerminal, waitForVerdict,
} from "./lib.mjs";

const LINK = new RegExp(`^${BASE.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}/s/[A-Za-z0-9]{12}$`);
const CODE = 'import sys\nprint("shared snippet says hi")\nprint("and warns", file=sys.stderr)';

let chromium;
let fresh; // a second browser context: no cookies, storage or permissions of the first
const pageErrors = [];
let link; // the first share link

before(async () => {
  chromium = await launch();
  await chromium.browser
    .defaultBrowserContext()
    .overridePermissions(BASE, ["clipboard-read", "clipboard-write", "clipboard-sanitized-write"]);
  fresh = await chromium.browser.createBrowserContext();
});

after(async () => {
  if (fresh) await fresh.close();
  if (chromium) await chromium.close();
});

/**
 * Clicks Share, fills the dialog (a `title` and `stdin`, when given, typed over what it
 * offers), presses "Create link" and waits for the outcome: the share panel.
 */
async function share(p, { title = null, stdin = null, dialog = null } = {}) {
  await p.click("button.wr-share");
  await p.waitForSelector(".wr-share-dialog", { timeout: 10_000 });
  if (dialog) await dialog(p);
  if (title !== null) {
    await p.click("input.wr-share-title", { clickCount: 3 });
    await p.keyboard.press("Backspace");
    await p.keyboard.type(title);
  }
  if (stdin !== null) {
    await p.$eval("textarea.wr-share-stdin", (el) => { el.value = ""; });
    await p.click("textarea.wr-share-stdin");
    await p.keyboard.type(stdin);
  }
  await p.click("button.wr-share-save");
  await p.waitForSelector(".wr-share-panel", { timeout: 15_000 });
  return p.$eval(".wr-share-panel", (el) => ({
    className: el.className,
    text: el.textContent,
    link: el.querySelector("input.wr-share-link")?.value ?? null,
  }));
}

describe("snippets", () => {
  it("Share saves code and output and copies the link", async () => {
    const p = await openPage(chromium.browser, `${BASE}/`, pageErrors);
    await typeCode(p, CODE);
    await clickRun(p);
    assert.equal(await waitForVerdict(p), "ok");
    await waitForTerminal(p, "shared snippet says hi");
    await p.bringToFront();
    const panel = await share(p);
    assert.match(panel.className, /wr-copied/, `copied: ${JSON.stringify(panel)}`);
    assert.match(panel.text, /Link copied/);
    link = await p.evaluate(() => navigator.clipboard.readText());
    assert.match(link, LINK);
    assert.equal(panel.link, link, "the panel shows the copied link");
    // The API has it, output included.
    const id = link.split("/").pop();
    const saved = await p.evaluate((id) => fetch(`/api/v1/snippets/${id}`).then((r) => r.json()), id);
    assert.equal(saved.language, "python");
    assert.equal(saved.code, CODE);
    assert.equal(saved.output.verdict, "ok");
    assert.equal(saved.output.stdout, "shared snippet says hi\n");
    assert.equal(saved.output.stderr, "and warns\n");
    assert.equal(saved.output.exit_code, 0);
    await p.screenshot({ path: path.join(ARTIFACTS, "share-copied.png") });

    // Edited since the run: shared without output.
    await p.click("button.wr-share-close");
    await typeCode(p, 'print("not run yet")');
    const second = await share(p);
    assert.match(second.className, /wr-copied/);
    assert.notEqual(second.link, link, "a new id");
    const unrun = await p.evaluate((id) => fetch(`/api/v1/snippets/${id}`).then((r) => r.json()), second.link.split("/").pop());
    assert.equal(unrun.code, 'print("not run yet")');
    assert.equal(unrun.output, null);
    await p.close();
  });

  let snippetPage;
  it("the link opens the snippet in a fresh context: same code and language, saved output, Run works", async () => {
    assert.ok(link, "the previous test made a link");
    snippetPage = await openPage(fresh, link, pageErrors, {
      // Like a page on plain http: no clipboard API, and no execCommand copy either.
      setup: (p) => p.evaluateOnNewDocument(() => {
        Object.defineProperty(Navigator.prototype, "clipboard", { get: () => undefined, configurable: true });
        Document.prototype.execCommand = () => false;
      }),
    });
    const p = snippetPage;
    await p.waitForSelector(".wr-snippet-info[data-loaded]", { timeout: 10_000 });
    assert.equal(await p.$eval("select.wr-lang", (s) => s.value), "python");
    assert.equal(await editorText(p), CODE);
    assert.equal(await p.$eval(".cm-content", (el) => el.innerText.replace(/\u00a0/g, " ").trim()), CODE, "the editor shows it");
    // The saved output, labelled and greyed.
    await waitForTerminal(p, "saved output");
    await waitForTerminal(p, "shared snippet says hi");
    await waitForTerminal(p, "and warns");
    assert.ok(await p.$(".wr-term-pane.wr-showing-saved .wr-saved-badge"), "the saved-output badge");
    assert.match(await p.$eval(".wr-saved-badge", (el) => el.textContent), /saved output/i);
    const opacity = await p.$eval(".wr-term-pane .wr-terminal", (el) => Number(getComputedStyle(el).opacity));
    assert.ok(opacity < 1, `greyed (opacity ${opacity})`);
    assert.match(await statusText(p), /Saved output:\s*OK\s*exit code 0/);
    assert.equal(await p.$(".wr-status [data-verdict]"), null, "no run yet");
    assert.match(await p.$eval(".wr-snippet-info", (el) => el.textContent), /Python/);
    assert.match(await p.$eval(".wr-footer .wr-stats", (el) => el.textContent), /runs? · \d+% ok · top: \w+ \d+%/);
    await p.screenshot({ path: path.join(ARTIFACTS, "shared-snippet.png") });

    assert.equal(await p.$eval("button.wr-run", (b) => b.disabled), false, "ready to run");
    await clickRun(p);
    assert.equal(await waitForVerdict(p), "ok");
    await waitForTerminal(p, "shared snippet says hi");
    assert.doesNotMatch(await terminalText(p), /saved output/, "a run replaces the saved output");
    assert.equal(await p.$(".wr-saved-badge"), null);
  });

  it("editing and sharing again gives a new link, shown to copy when there is no clipboard", async () => {
    const p = snippetPage;
    await typeCode(p, 'print("edited copy")');
    const panel = await share(p);
    assert.match(panel.className, /wr-copy-manually/, JSON.stringify(panel));
    assert.match(panel.text, /Copy this link/);
    assert.match(panel.link, LINK);
    assert.notEqual(panel.link, link, "a new id for the edited code");
    const selected = await p.$eval("input.wr-share-link", (el) => ({
      focused: document.activeElement === el,
      start: el.selectionStart,
      end: el.selectionEnd,
      length: el.value.length,
      readOnly: el.readOnly,
    }));
    assert.deepEqual(selected, { focused: true, start: 0, end: selected.length, length: selected.length, readOnly: true }, "the link is selected, ready to copy");
    await p.screenshot({ path: path.join(ARTIFACTS, "share-copy-manually.png") });
    // The original is unchanged.
    const original = await p.evaluate((id) => fetch(`/api/v1/snippets/${id}`).then((r) => r.json()), link.split("/").pop());
    assert.equal(original.code, CODE);
    await p.close();
  });

  it("too large code is refused with a message", async () => {
    const p = await openPage(chromium.browser, `${BASE}/`, pageErrors, { allow: /status of 413/ });
    const big = "# " + "x".repeat(99) + "\n";
    await pasteCode(p, big.repeat(6000)); // 600 kB, over the 512 KiB code limit
    await p.waitForFunction(() => document.querySelector(".wr-editor-fallback").value.length > 500_000, { timeout: 20_000 });
    const panel = await share(p);
    assert.match(panel.className, /wr-share-failed/, JSON.stringify(panel));
    assert.match(panel.text, /Too large to share/);
    await p.screenshot({ path: path.join(ARTIFACTS, "share-too-large.png") });
    assert.equal(await p.$eval("button.wr-share", (b) => b.disabled), false, "Share can be tried again");
    await p.close();
  });

  it("the dialog saves a title and the stdin typed in the run; the page shows them before JS runs", async () => {
    const p = await openPage(chromium.browser, `${BASE}/`, pageErrors);
    const code = 'name = input("name? ")\nprint("hello", name)';
    await typeCode(p, code);
    await clickRun(p);
    await waitForTerminal(p, "name?");
    await p.click(".wr-terminal .xterm");
    await p.keyboard.type("Ada");
    await p.keyboard.press("Enter");
    assert.equal(await waitForVerdict(p), "ok");
    await waitForTerminal(p, "hello Ada");
    const title = 'Greeter "quoted" </script><b>bold</b>';
    let offered;
    const panel = await share(p, {
      title,
      dialog: async (p) => {
        offered = await p.$eval(".wr-share-dialog", (d) => ({
          title: d.querySelector("input.wr-share-title").value,
          stdin: d.querySelector("textarea.wr-share-stdin").value,
          focused: document.activeElement === d.querySelector("input.wr-share-title"),
        }));
        await p.screenshot({ path: path.join(ARTIFACTS, "share-dialog.png") });
      },
    });
    assert.deepEqual(offered, { title: "", stdin: "Ada\n", focused: true }, "the stdin typed in the run is offered");
    assert.match(panel.className, /wr-copied/, JSON.stringify(panel));
    const id = panel.link.split("/").pop();
    const saved = await p.evaluate((id) => fetch(`/api/v1/snippets/${id}`).then((r) => r.json()), id);
    assert.equal(saved.title, title);
    assert.equal(saved.stdin, "Ada\n");
    assert.equal(saved.code, code);
    await p.close();

    // Without JavaScript: the server's HTML alone shows code, title and language.
    const bare = await fresh.newPage();
    await bare.setJavaScriptEnabled(false);
    const resp = await bare.goto(panel.link, { waitUntil: "load" });
    assert.equal(resp.status(), 200);
    assert.equal(await bare.title(), `${title} · warmrun`);
    assert.equal(await bare.$eval(".wr-editor-fallback", (el) => el.value), code);
    assert.match(await bare.$eval(".wr-snippet-info", (el) => el.textContent), /Greeter "quoted" <\/script><b>bold<\/b>.*python.*with stdin/s);
    assert.equal(await bare.$eval('meta[property="og:title"]', (m) => m.content), `${title} · warmrun`);
    assert.equal(await bare.$eval('meta[property="og:description"]', (m) => m.content), code);
    assert.equal(await bare.$("b"), null, "the title's markup stays text");
    await bare.screenshot({ path: path.join(ARTIFACTS, "shared-snippet-no-js.png") });
    await bare.close();

    // Hydrated: Run gives the program the saved stdin.
    const q = await openPage(fresh, panel.link, pageErrors);
    assert.equal(await q.title(), `${title} · warmrun`);
    assert.equal(await editorText(q), code);
    await clickRun(q);
    assert.equal(await waitForVerdict(q), "ok");
    await waitForTerminal(q, "hello Ada");
    await q.close();
  });

  it("a hostile snippet stays text: no script runs, the page shows it verbatim", async () => {
    const code = "print('</script><script>alert(1)</script>')\n# <!-- & \"q\"";
    const title = 'x" onmouseover="alert(2)" </title><script>alert(3)</script>';
    const r = await fetch(`${BASE}/api/v1/snippets`, {
      method: "POST", headers: { "content-type": "application/json" },
      body: JSON.stringify({ language: "python", code, title }),
    });
    assert.equal(r.status, 201);
    const { url } = await r.json();
    const dialogs = [];
    const p = await openPage(fresh, `${BASE}${url}`, pageErrors, {
      setup: (p) => p.on("dialog", (d) => { dialogs.push(d.message()); d.dismiss(); }),
    });
    assert.equal(await editorText(p), code);
    assert.equal(await p.title(), `${title} · warmrun`);
    assert.match(await p.$eval(".wr-snippet-info", (el) => el.textContent), /onmouseover/);
    assert.equal(await p.$$eval("script", (s) => s.filter((x) => /alert/.test(x.textContent) && x.type !== "application/json").length), 0);
    await p.hover(".wr-snippet-info strong");
    assert.deepEqual(dialogs, [], "no alert ran");
    await p.screenshot({ path: path.join(ARTIFACTS, "shared-snippet-hostile.png") });
    await p.close();
  });

  it("an unknown id shows “snippet not found”", async () => {
    assert.equal((await fetch(`${BASE}/s/zzzzzzzzzzzz`)).status, 404, "an HTTP 404 page");
    const p = await openPage(fresh, `${BASE}/s/zzzzzzzzzzzz`, pageErrors, { allow: /status of 404/ });
    await p.waitForSelector(".wr-not-found", { timeout: 10_000 });
    assert.match(await p.$eval(".wr-not-found", (el) => el.textContent), /Snippet not found.*zzzzzzzzzzzz/s);
    assert.equal(await p.$(".wr-saved-badge"), null);
    await p.close();
  });

  it("the footer shows run statistics, and nothing when they fail", async () => {
    const stats = await fetch(`${BASE}/api/v1/stats`).then((r) => r.json());
    assert.ok(stats.total_runs >= 2, `runs were counted: ${JSON.stringify(stats)}`);
    const p = await openPage(chromium.browser, `${BASE}/`, pageErrors);
    await p.waitForSelector(".wr-footer .wr-stats.wr-loaded", { timeout: 10_000 });
    const text = await p.$eval(".wr-stats", (el) => el.textContent);
    assert.match(text, /^[\d,]+ runs? · \d+% ok · top: [a-z+]+ \d+%$/, text);
    assert.match(await p.$eval(".wr-stats", (el) => el.title), /Finished runs/);
    await p.close();

    const broken = await openPage(chromium.browser, `${BASE}/`, pageErrors, {
      allow: /status of 503/,
      setup: async (p) => {
        await p.setRequestInterception(true);
        p.on("request", (r) => {
          if (r.url().endsWith("/api/v1/stats")) r.respond({ status: 503, contentType: "application/json", body: '{"error":{"code":"unavailable","message":"db down"}}' });
          else r.continue();
        });
      },
    });
    await broken.waitForNetworkIdle({ idleTime: 300, timeout: 10_000 });
    const footer = await broken.$eval(".wr-stats", (el) => ({ text: el.textContent.trim(), shown: el.getClientRects().length > 0 }));
    assert.deepEqual(footer, { text: "", shown: false });
    assert.match(await broken.$eval(".wr-footer", (el) => el.textContent), /Embed it/, "the rest of the footer is there");
    await broken.close();
  });

  it("had no page errors", () => {
    assert.deepEqual(pageErrors, []);
  });
});
