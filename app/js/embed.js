// warmrun's one-tag widget: a page that includes
//
//   <script type="module" src="https://ENGINE/embed.js"></script>
//
// turns each <warmrun-playground> element into a playground (editor, Run, terminal with
// stdin, verdict line). The element's text is the code; attributes:
//   language  catalog id, e.g. "python", "c", "python-3.11" (default "python")
//   readonly  the code cannot be edited (it can still be run)
//   height    CSS height of the editor and terminal, e.g. "240px" (default "280px")
//   theme     "light", "dark" or "auto" (default: the reader's system setting)
//   engine    base URL of the warmrun server that runs the code (default: the server
//             this file came from); it must allow the page's origin (cors_allowed_origins)
// Code with "<" or "&" in it can go in a <script type="text/plain"> child, which HTML
// leaves as it is.
//
// Nothing of the playground loads until an element nears the viewport: then the
// stylesheet (pkg/widget.css), pkg/frontend.js and its wasm load once, and each element
// is mounted as it comes into view, all by the one wasm instance (`mountWidget`,
// frontend/src/lib.rs). The playground renders into the element itself (light DOM, no
// shadow root): CodeMirror and xterm.js put their styles and hidden inputs into the
// document, and widget.css scopes warmrun's own styles to this element.
//
// scripts/build-frontend.sh minifies this file into <site>/pkg/embed.js; the server
// serves it at /embed.js.

const TAG = "warmrun-playground";
const SETTINGS_EVENT = "warmrun-settings"; // editor and terminal re-read their theme

// This file is <engine>/embed.js or <engine>/pkg/embed.js.
const here = new URL(import.meta.url);
const PKG = here.pathname.endsWith("/pkg/embed.js") ? new URL("./", here) : new URL("./pkg/", here);
const ENGINE = new URL("../", PKG).href.replace(/\/$/, "");

// Until mounted, the code shows as plain preformatted text.
const early = document.createElement("style");
early.textContent = `${TAG}{display:block}${TAG}:not([data-mounted]){white-space:pre;font-family:ui-monospace,monospace;font-size:13px;padding:8px;border:1px solid #d1d9e0;border-radius:6px;overflow:auto}${TAG}:not([data-mounted])>script{display:none}`;
document.head.append(early);

let engine = null;
/** Loads the stylesheet, frontend.js and the wasm, once for the page. */
function loadEngine() {
  engine ??= (async () => {
    const css = new Promise((resolve, reject) => {
      const link = document.createElement("link");
      link.rel = "stylesheet";
      link.href = new URL("widget.css", PKG).href;
      link.onload = resolve;
      link.onerror = () => reject(new Error(`could not load ${link.href}`));
      document.head.append(link);
    });
    const wasm = import(new URL("frontend.js", PKG).href).then(async (m) => {
      await m.default({ module_or_path: new URL("frontend_bg.wasm", PKG) });
      return m;
    });
    const [, m] = await Promise.all([css, wasm]);
    return m;
  })();
  return engine;
}

/** The element's code: a text/plain script child's, else its text; common indentation
 * and surrounding blank lines removed. */
function codeOf(el) {
  const raw = el.querySelector(":scope > script[type='text/plain']")?.textContent ?? el.textContent;
  const lines = raw.replace(/\r\n?/g, "\n").split("\n");
  while (lines.length && !lines[0].trim()) lines.shift();
  while (lines.length && !lines[lines.length - 1].trim()) lines.pop();
  const indents = lines.filter((l) => l.trim()).map((l) => l.match(/^[ \t]*/)[0].length);
  const cut = indents.length ? Math.min(...indents) : 0;
  return lines.map((l) => l.slice(cut)).join("\n") + (lines.length ? "\n" : "");
}

const themeOf = (el) => {
  const t = (el.getAttribute("theme") || "").toLowerCase();
  return t === "light" || t === "dark" ? t : null;
};

async function mount(el) {
  if (el.dataset.mounted) return;
  el.dataset.mounted = "loading";
  const options = {
    language: el.getAttribute("language") || "python",
    code: codeOf(el),
    readOnly: el.hasAttribute("readonly") && el.getAttribute("readonly") !== "false",
    height: el.getAttribute("height") || "280px",
    server: (el.getAttribute("engine") || ENGINE).replace(/\/$/, ""),
  };
  let m;
  try {
    m = await loadEngine();
  } catch (e) {
    el.dataset.mounted = "failed";
    const note = document.createElement("p");
    note.className = "wr-error";
    note.textContent = `The playground could not load from ${ENGINE}: ${e.message}`;
    el.append(note);
    return;
  }
  const theme = themeOf(el);
  if (theme) el.setAttribute("data-theme", theme);
  el.replaceChildren();
  m.mountWidget(el, options);
  el.dataset.mounted = "true";
}

// One observer for all elements; a margin so that the playground is ready when it shows.
const observer = new IntersectionObserver(
  (entries) => {
    for (const entry of entries) {
      if (!entry.isIntersecting) continue;
      observer.unobserve(entry.target);
      mount(entry.target);
    }
  },
  { rootMargin: "200px 0px" },
);

class WarmrunPlayground extends HTMLElement {
  static observedAttributes = ["theme"];

  connectedCallback() {
    if (!this.dataset.mounted) observer.observe(this);
  }

  disconnectedCallback() {
    observer.unobserve(this);
  }

  attributeChangedCallback() {
    if (this.dataset.mounted !== "true") return;
    const theme = themeOf(this);
    if (theme) this.setAttribute("data-theme", theme);
    else this.removeAttribute("data-theme");
    document.dispatchEvent(new Event(SETTINGS_EVENT));
  }
}

if (!customElements.get(TAG)) customElements.define(TAG, WarmrunPlayground);
