// End-to-end test of the playground's Format button and its Shift+Alt+F shortcut in
// headless Chromium against a running server with real containers (the formatters run
// in the languages' sandboxes, see POST /api/v1/format).
//
//   WARMRUN_URL=http://127.0.0.1:8080 node --test scripts/e2e/format.test.mjs
//
// Screenshots go to ${WARMRUN_ARTIFACTS:-/tmp/warmrun-artifacts}.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import {
  ARTIFACTS, BASE, editorText, launch, openPage as open, pasteCode, selectLanguage,
  statusText,
} from "./lib.mjs";

const FORMAT_TIMEOUT = 30_000;
let chromium;
let page;
const pageErrors = [];

before(async () => {
  chromium = await launch();
  // A formatter's refusal is an HTTP 422 the console reports; it is expected here.
  page = await open(chromium.browser, `${BASE}/`, pageErrors, { allow: /422/ });
});

after(async () => {
  if (chromium) await chromium.close();
});

/** The cursor's line (1-based): the line highlightActiveLine marks, focused or not. */
const cursorLine = (p) => p.$eval(".cm-content", (el) =>
  Array.from(el.querySelectorAll(".cm-line")).findIndex((l) => l.classList.contains("cm-activeLine")) + 1);

async function waitForText(p, want) {
  try {
    await p.waitForFunction((w) => document.querySelector(".wr-editor-fallback").value === w,
      { timeout: FORMAT_TIMEOUT }, want);
  } catch (e) {
    throw new Error(`the editor never held ${JSON.stringify(want)}; it holds ${JSON.stringify(await editorText(p))}; status: ${await statusText(p)}`);
  }
}

describe("format", () => {
  it("shows Format only for languages with a formatter", async () => {
    await selectLanguage(page, "python");
    await page.waitForSelector("button.wr-format", { timeout: 10_000 });
    await selectLanguage(page, "lua");
    await page.waitForFunction(() => !document.querySelector("button.wr-format"), { timeout: 10_000 });
    await selectLanguage(page, "python");
    await page.waitForSelector("button.wr-format", { timeout: 10_000 });
  });

  it("formats the code with the button and keeps the cursor near its line", async () => {
    await pasteCode(page, "def f( a,b ):\n  return a+b\nx=[1,2 ,3]\nprint( f(1,2),x )\n");
    // The cursor on line 3 ("x=[1,2 ,3]"), which black moves to line 5.
    await page.keyboard.down("Control");
    await page.keyboard.press("Home");
    await page.keyboard.up("Control");
    await page.keyboard.press("ArrowDown");
    await page.keyboard.press("ArrowDown");
    await page.keyboard.press("End");
    await page.screenshot({ path: path.join(ARTIFACTS, "format-before.png") });
    await page.click("button.wr-format");
    await waitForText(page, "def f(a, b):\n    return a + b\n\n\nx = [1, 2, 3]\nprint(f(1, 2), x)\n");
    assert.doesNotMatch(await statusText(page), /Could not format/);
    await page.waitForFunction(() => !document.querySelector("button.wr-format").disabled);
    const line = await cursorLine(page);
    assert.ok(line >= 2 && line <= 5, `the cursor stays near line 3, on line ${line}`);
    await page.screenshot({ path: path.join(ARTIFACTS, "format.png") });
  });

  it("formats with Shift+Alt+F, and shows a syntax error in the formatter's words", async () => {
    await selectLanguage(page, "javascript");
    await page.waitForSelector("button.wr-format", { timeout: 10_000 });
    await pasteCode(page, "const x={a:1,b:2}\nconsole.log( x )\n");
    await page.keyboard.down("Shift");
    await page.keyboard.down("Alt");
    await page.keyboard.press("KeyF");
    await page.keyboard.up("Alt");
    await page.keyboard.up("Shift");
    await waitForText(page, "const x = { a: 1, b: 2 };\nconsole.log(x);\n");

    await pasteCode(page, "const = ;\n");
    await page.click("button.wr-format");
    await page.waitForFunction(() => /Could not format/.test(document.querySelector(".wr-status").textContent),
      { timeout: FORMAT_TIMEOUT });
    assert.match(await statusText(page), /SyntaxError/);
    assert.equal(await editorText(page), "const = ;\n", "the code is left as it was");
    await page.screenshot({ path: path.join(ARTIFACTS, "format-error.png") });
    const unexpected = pageErrors.filter((e) => !/422/.test(e));
    assert.deepEqual(unexpected, [], "no page errors");
  });
});
