// End-to-end test of the playground's settings (app/src/settings.rs) in headless Chromium:
// theme (the system's by default, or light/dark), vim and emacs keybindings, font size,
// tty by default; kept in localStorage ("warmrun.settings") across reloads.
//
//   WARMRUN_URL=http://127.0.0.1:8080 node --test scripts/e2e/settings.test.mjs
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { ARTIFACTS, BASE, editorText, launch, openPage, typeCode } from "./lib.mjs";

let chromium;
let context;
const pageErrors = [];

before(async () => {
  chromium = await launch();
  context = await chromium.browser.createBrowserContext();
});

after(async () => {
  if (context) await context.close();
  if (chromium) await chromium.close();
});

/** The page's background colour and the editor's and terminal's look. */
const looks = (p) =>
  p.evaluate(() => ({
    theme: document.documentElement.getAttribute("data-theme"),
    body: getComputedStyle(document.body).backgroundColor,
    // One Dark paints the editor; the light theme leaves it transparent.
    editorDark: getComputedStyle(document.querySelector(".cm-editor")).backgroundColor === "rgb(40, 44, 52)",
    editorFont: getComputedStyle(document.querySelector(".cm-content")).fontSize,
    termFont: getComputedStyle(document.querySelector(".xterm-rows")).fontSize,
  }));

const isDarkColour = (rgb) => {
  const [r, g, b] = rgb.match(/\d+/g).map(Number);
  return r + g + b < 200;
};

async function openSettings(p) {
  if (!(await p.$(".wr-settings-panel"))) await p.click("button.wr-settings-toggle");
  await p.waitForSelector(".wr-settings-panel", { timeout: 5_000 });
}

describe("settings", () => {
  let p;

  it("the theme follows the system by default, and the settings override it", async () => {
    p = await openPage(context, `${BASE}/`, pageErrors, { dark: true });
    let now = await looks(p);
    assert.equal(now.theme, null, "no theme chosen");
    assert.ok(isDarkColour(now.body), `dark as the system prefers: ${JSON.stringify(now)}`);
    assert.ok(now.editorDark, `dark editor: ${JSON.stringify(now)}`);
    await openSettings(p);
    await p.screenshot({ path: path.join(ARTIFACTS, "settings-panel-system-dark.png") });

    await p.select("select.wr-setting-theme", "light");
    await p.waitForFunction(() => document.documentElement.getAttribute("data-theme") === "light");
    await p.waitForFunction(() => getComputedStyle(document.querySelector(".cm-editor")).backgroundColor !== "rgb(40, 44, 52)", { timeout: 5_000 });
    now = await looks(p);
    assert.ok(!isDarkColour(now.body), `light although the system is dark: ${JSON.stringify(now)}`);
    await p.screenshot({ path: path.join(ARTIFACTS, "settings-light.png") });

    await p.select("select.wr-setting-theme", "dark");
    await p.waitForFunction(() => document.documentElement.getAttribute("data-theme") === "dark");
    await p.emulateMediaFeatures([{ name: "prefers-color-scheme", value: "light" }]);
    now = await looks(p);
    assert.ok(isDarkColour(now.body), `dark although the system is light: ${JSON.stringify(now)}`);
    assert.ok(now.editorDark, `dark editor: ${JSON.stringify(now)}`);
    await p.screenshot({ path: path.join(ARTIFACTS, "settings-dark.png") });
  });

  it("font size applies to editor and terminal", async () => {
    await openSettings(p);
    await p.select("select.wr-setting-font-size", "18");
    await p.waitForFunction(() => getComputedStyle(document.querySelector(".cm-content")).fontSize === "18px", { timeout: 5_000 });
    await p.waitForFunction(() => getComputedStyle(document.querySelector(".xterm-rows")).fontSize === "18px", { timeout: 5_000 });
  });

  // The editor's data-keymap changes once the chosen bindings are in effect.
  it("vim keybindings: Escape, then dd deletes a line", async () => {
    await typeCode(p, "first line\nsecond line");
    await openSettings(p);
    await p.select("select.wr-setting-keymap", "vim");
    await p.waitForSelector(".cm-editor[data-keymap=vim]", { timeout: 5_000 });
    await p.click(".cm-content");
    await p.keyboard.press("Escape");
    await p.keyboard.type("ggdd");
    await p.waitForFunction(() => document.querySelector(".wr-editor-fallback").value === "second line", { timeout: 5_000 })
      .catch(async () => assert.fail(`vim dd did not delete the first line: ${JSON.stringify(await editorText(p))}`));
    await p.screenshot({ path: path.join(ARTIFACTS, "settings-vim.png") });
  });

  // Needs app/js/build.mjs's keep-emacs-bindings: without it the minifier drops the emacs
  // package's key bindings and Ctrl+A selects all.
  it("emacs keybindings: Ctrl+A goes to the start of the line", async () => {
    await openSettings(p);
    await p.select("select.wr-setting-keymap", "emacs");
    await p.waitForSelector(".cm-editor[data-keymap=emacs]", { timeout: 5_000 });
    await p.click(".cm-content");
    await p.keyboard.press("End");
    await p.keyboard.down("Control");
    await p.keyboard.press("a");
    await p.keyboard.up("Control");
    await p.keyboard.type("X");
    await p.waitForFunction(() => document.querySelector(".wr-editor-fallback").value === "Xsecond line", { timeout: 5_000 })
      .catch(async () => assert.fail(`emacs C-a: ${JSON.stringify(await editorText(p))}`));
  });

  it("tty by default, and everything is kept across a reload", async () => {
    await openSettings(p);
    assert.equal(await p.$eval(".wr-tty input", (i) => i.checked), false);
    await p.click("input.wr-setting-tty");
    await p.waitForFunction(() => document.querySelector(".wr-tty input").checked);
    const stored = await p.evaluate(() => JSON.parse(localStorage.getItem("warmrun.settings")));
    assert.deepEqual(stored, { theme: "dark", keymap: "emacs", font_size: 18, tty: true });

    await p.reload({ waitUntil: "domcontentloaded" });
    // Before the wasm loads, the stored theme is already on (no flash of the other one).
    assert.equal(await p.evaluate(() => document.documentElement.getAttribute("data-theme")), "dark");
    await p.waitForSelector(".wr-editor.wr-mounted .cm-editor[data-keymap=emacs]", { timeout: 30_000 });
    await p.waitForFunction(() => document.querySelector(".wr-tty input").checked, { timeout: 10_000 });
    await p.waitForFunction(() => getComputedStyle(document.querySelector(".cm-content")).fontSize === "18px");
    await openSettings(p);
    const shown = await p.evaluate(() => ({
      theme: document.querySelector("select.wr-setting-theme").value,
      keymap: document.querySelector("select.wr-setting-keymap").value,
      size: document.querySelector("select.wr-setting-font-size").value,
      tty: document.querySelector("input.wr-setting-tty").checked,
    }));
    assert.deepEqual(shown, { theme: "dark", keymap: "emacs", size: "18", tty: true });
    await p.screenshot({ path: path.join(ARTIFACTS, "settings-after-reload.png") });
    await p.close();
  });

  it("had no page errors", () => {
    assert.deepEqual(pageErrors, []);
  });
});
