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
import path from "node:path";
import {
  ARTIFACTS, BASE, RUN_TIMEOUT, clickRun, editorText, launch, openPage as open, selectLanguage,
  sleep, statusText, terminalText, typeCode, waitForTerminal, waitForVerdict,
} from "./lib.mjs";

let chromium;
let page;
const pageErrors = [];
const openPage = (url, opts) => open(chromium.browser, url, pageErrors, opts);

before(async () => {
  chromium = await launch();
  page = await openPage(`${BASE}/`);
});

after(async () => {
  if (chromium) await chromium.close();
});

describe("playground", () => {
  it("loads: server-rendered, hydrated, catalog in the picker, example in the editor", async () => {
    assert.equal(await page.title(), "warmrun playground");
    const langs = await page.$$eval("select.wr-lang option", (os) => os.map((o) => o.value));
    for (const id of ["python", "c"]) assert.ok(langs.includes(id), `picker lists ${id}: ${langs}`);
    assert.equal(await page.$eval("select.wr-lang", (s) => s.value), "python");
    assert.match(await editorText(page), /input\(/, "the python example is loaded");
    assert.equal(await page.$eval("button.wr-share", (b) => b.disabled), false, "Share is enabled");
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

  it("the Examples menu loads an example, asking before it replaces edited code", async () => {
    // The python editor holds the edited draft of the test before ("while True: pass").
    const examples = await page.$$eval("select.wr-examples option", (os) => os.map((o) => o.value));
    for (const id of ["hello", "loop-and-function", "error", "generators"]) {
      assert.ok(examples.includes(id), `menu lists ${id}: ${examples}`);
    }
    const dialogs = [];
    let answer = "dismiss";
    const onDialog = async (d) => {
      dialogs.push(`${d.type()}: ${d.message()}`);
      await (answer === "accept" ? d.accept() : d.dismiss());
    };
    page.on("dialog", onDialog);
    try {
      await page.select("select.wr-examples", "loop-and-function");
      for (const end = Date.now() + 10_000; dialogs.length === 0 && Date.now() < end;) await sleep(50);
      await sleep(300); // a second dialog would have come by now
      assert.equal(dialogs.length, 1, `one confirm dialog: ${dialogs}`);
      assert.match(dialogs[0], /^confirm: .*edited code/);
      assert.equal(await editorText(page), "while True: pass", "cancelled: the edits stay");
      assert.equal(await page.$eval("select.wr-examples", (s) => s.value), "", "the menu shows its title again");

      answer = "accept";
      await page.select("select.wr-examples", "loop-and-function");
      await page.waitForFunction(() => document.querySelector(".wr-editor-fallback").value.includes("def factorial"), { timeout: 10_000 });
      assert.equal(dialogs.length, 2, `asked again: ${dialogs}`);

      // Unchanged example code is no edit: the next example loads without asking.
      await page.select("select.wr-examples", "generators");
      await page.waitForFunction(() => document.querySelector(".wr-editor-fallback").value.includes("def fibonacci"), { timeout: 10_000 });
      assert.equal(dialogs.length, 2, `no question without edits: ${dialogs}`);
    } finally {
      page.off("dialog", onDialog);
    }
    await clickRun(page);
    assert.equal(await waitForVerdict(page), "ok");
    await waitForTerminal(page, "longest word: quick");
    await page.screenshot({ path: path.join(ARTIFACTS, "examples.png") });
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

  it("/s/:id with an unknown id says so; phone width in dark mode is usable", async () => {
    // Not even shaped like an id: the page answers 404 (rendered on the server; the API
    // would answer 400), "not found" all the same.
    const p = await openPage(`${BASE}/s/abc123`, { width: 390, height: 844, dark: true, allow: /status of 40[04]/ });
    await p.waitForSelector(".wr-not-found", { timeout: 10_000 });
    const notice = await p.$eval(".wr-not-found", (n) => n.textContent);
    assert.match(notice, /Snippet not found/);
    assert.match(notice, /abc123/);
    // A fresh playground instead, ready to run.
    assert.equal(await p.$eval("select.wr-lang", (s) => s.value), "python");
    assert.match(await editorText(p), /input\(/);
    assert.equal(await p.$eval("button.wr-run", (b) => b.disabled), false);
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
    await p.screenshot({ path: path.join(ARTIFACTS, "snippet-not-found-phone-dark.png") });
    await p.close();
  });

  it("had no page errors", () => {
    assert.deepEqual(pageErrors, []);
  });
});
