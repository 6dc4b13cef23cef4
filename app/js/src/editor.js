// warmrun code editor: a thin wrapper over CodeMirror 6, bundled by esbuild
// (app/js/build.mjs, code splitting: one chunk per language grammar) into
// <site>/pkg/js/editor.js, which app/js/loader.js imports at run time.
import { EditorView } from "@codemirror/view";
import { EditorState, Compartment, Prec } from "@codemirror/state";
import {
  keymap, lineNumbers, highlightActiveLineGutter, highlightSpecialChars,
  drawSelection, highlightActiveLine,
} from "@codemirror/view";
import {
  defaultKeymap, history, historyKeymap, indentWithTab,
} from "@codemirror/commands";
import {
  syntaxHighlighting, defaultHighlightStyle, indentOnInput, bracketMatching,
  StreamLanguage, indentUnit,
} from "@codemirror/language";
import { closeBrackets, closeBracketsKeymap } from "@codemirror/autocomplete";
import { oneDark } from "@codemirror/theme-one-dark";

// Catalog language id (or alias) -> CodeMirror language support. Each grammar
// is a separate chunk (esbuild code splitting), loaded when first needed, so the
// first page load only fetches the grammar of the language shown.
// Grammars CodeMirror 5 had (legacy modes), wrapped as stream languages. The import paths
// are written out so that esbuild can split each into its own chunk.
const stream = (load, pick) => () => load().then((m) => StreamLanguage.define(pick(m)));
const LANGUAGES = {
  python: () => import("@codemirror/lang-python").then((m) => m.python()),
  javascript: () => import("@codemirror/lang-javascript").then((m) => m.javascript()),
  typescript: () =>
    import("@codemirror/lang-javascript").then((m) => m.javascript({ typescript: true })),
  c: () => import("@codemirror/lang-cpp").then((m) => m.cpp()),
  cpp: () => import("@codemirror/lang-cpp").then((m) => m.cpp()),
  go: () => import("@codemirror/lang-go").then((m) => m.go()),
  rust: () => import("@codemirror/lang-rust").then((m) => m.rust()),
  java: () => import("@codemirror/lang-java").then((m) => m.java()),
  bash: stream(() => import("@codemirror/legacy-modes/mode/shell"), (m) => m.shell),
  ruby: stream(() => import("@codemirror/legacy-modes/mode/ruby"), (m) => m.ruby),
  perl: stream(() => import("@codemirror/legacy-modes/mode/perl"), (m) => m.perl),
  lua: stream(() => import("@codemirror/legacy-modes/mode/lua"), (m) => m.lua),
  r: stream(() => import("@codemirror/legacy-modes/mode/r"), (m) => m.r),
  octave: stream(() => import("@codemirror/legacy-modes/mode/octave"), (m) => m.octave),
  sql: stream(() => import("@codemirror/legacy-modes/mode/sql"), (m) => m.sqlite),
  scheme: stream(() => import("@codemirror/legacy-modes/mode/scheme"), (m) => m.scheme),
  racket: stream(() => import("@codemirror/legacy-modes/mode/scheme"), (m) => m.scheme),
  commonlisp: stream(
    () => import("@codemirror/legacy-modes/mode/commonlisp"), (m) => m.commonLisp),
  clojure: stream(() => import("@codemirror/legacy-modes/mode/clojure"), (m) => m.clojure),
  erlang: stream(() => import("@codemirror/legacy-modes/mode/erlang"), (m) => m.erlang),
  haskell: stream(() => import("@codemirror/legacy-modes/mode/haskell"), (m) => m.haskell),
  ocaml: stream(() => import("@codemirror/legacy-modes/mode/mllike"), (m) => m.oCaml),
  d: stream(() => import("@codemirror/legacy-modes/mode/d"), (m) => m.d),
  fortran: stream(() => import("@codemirror/legacy-modes/mode/fortran"), (m) => m.fortran),
  pascal: stream(() => import("@codemirror/legacy-modes/mode/pascal"), (m) => m.pascal),
  cobol: stream(() => import("@codemirror/legacy-modes/mode/cobol"), (m) => m.cobol),
  groovy: stream(() => import("@codemirror/legacy-modes/mode/groovy"), (m) => m.groovy),
  kotlin: stream(() => import("@codemirror/legacy-modes/mode/clike"), (m) => m.kotlin),
  scala: stream(() => import("@codemirror/legacy-modes/mode/clike"), (m) => m.scala),
  csharp: stream(() => import("@codemirror/legacy-modes/mode/clike"), (m) => m.csharp),
  "objective-c": stream(
    () => import("@codemirror/legacy-modes/mode/clike"), (m) => m.objectiveC),
};
const ALIASES = {
  py: "python", python3: "python", py3: "python",
  js: "javascript", node: "javascript", nodejs: "javascript", "node-js": "javascript",
  ts: "typescript", "c++": "cpp", cxx: "cpp", golang: "go", rs: "rust",
  sh: "bash", shell: "bash",
  "c-clang": "c", "cpp-clang": "cpp", rb: "ruby", pl: "perl", sqlite: "sql",
  lisp: "commonlisp", sbcl: "commonlisp", guile: "scheme", hs: "haskell", ml: "ocaml",
  "c#": "csharp", cs: "csharp", objc: "objective-c", clj: "clojure", erl: "erlang",
};

/**
 * Resolves to the CodeMirror extension for a language id; an empty list (plain
 * text) when the language is unknown or its grammar fails to load.
 */
export function languageSupport(id) {
  const key = String(id || "").toLowerCase();
  // An older version's id (python-3.11, java-17) highlights as its language.
  const base = key.replace(/-\d[\w.]*$/, "");
  const make = LANGUAGES[key] || LANGUAGES[ALIASES[key]] || LANGUAGES[base];
  return make ? make().catch(() => []) : Promise.resolve([]);
}

const darkQuery = () =>
  typeof window !== "undefined" && window.matchMedia
    ? window.matchMedia("(prefers-color-scheme: dark)")
    : null;

// The playground's settings (app/src/settings.rs) are attributes of <html>:
// data-theme ("light" | "dark"; absent: the system's), data-keymap ("vim" | "emacs";
// absent: standard) and the CSS variable --wr-font-size. A "warmrun-settings" event on
// document says they changed. A widget (app/js/embed.js) sets data-theme on its own
// element instead, so the theme is the nearest one around the editor.
const SETTINGS_EVENT = "warmrun-settings";
const setting = (name) =>
  typeof document !== "undefined" ? document.documentElement.getAttribute(name) : null;
const themeAround = (el) => {
  const holder = el && el.closest ? el.closest("[data-theme]") : null;
  return holder ? holder.getAttribute("data-theme") : setting("data-theme");
};
const isDark = (query, parent) => {
  const theme = themeAround(parent);
  if (theme === "dark" || theme === "light") return theme === "dark";
  return !!(query && query.matches);
};

// Vim and Emacs keybindings: separate chunks, loaded only when chosen.
const KEYMAPS = {
  vim: () => import("@replit/codemirror-vim").then((m) => m.vim()),
  emacs: () => import("@replit/codemirror-emacs").then((m) => m.emacs()),
};
const keymapSupport = (name) => {
  const load = KEYMAPS[name];
  return load ? load().catch(() => []) : Promise.resolve([]);
};

const baseTheme = EditorView.theme({
  "&": { height: "100%", fontSize: "var(--wr-font-size, 14px)" },
  ".cm-scroller": {
    overflow: "auto",
    fontFamily: "ui-monospace, SFMono-Regular, Menlo, Consolas, 'Liberation Mono', monospace",
  },
  ".cm-content": { minHeight: "100%" },
});

/**
 * Mounts an editor into `parent`; resolves to its handle once the language's
 * grammar is loaded (so the code never shows unhighlighted).
 * @param {HTMLElement} parent
 * @param {string} doc initial text
 * @param {string} language catalog language id (python, c, cpp, go, rust, java, …)
 * @param {boolean} readOnly
 * @param {(doc: string) => void} onChange called with the whole text after each edit
 * @param {() => void} onRun called on Ctrl+Enter / Cmd+Enter
 */
export async function createEditor(parent, doc, language, readOnly, onChange, onRun) {
  let keymapName = setting("data-keymap") || "standard";
  const [initialLanguage, initialKeymap] = await Promise.all([
    languageSupport(language), keymapSupport(keymapName),
  ]);
  const lang = new Compartment();
  const theme = new Compartment();
  const keys = new Compartment();
  const ro = new Compartment();
  const query = darkQuery();
  let current = String(language);
  const themeFor = (dark) => (dark ? oneDark : []);

  const runKeys = Prec.highest(keymap.of([
    { key: "Mod-Enter", run: () => { onRun(); return true; }, preventDefault: true },
  ]));

  const view = new EditorView({
    parent,
    state: EditorState.create({
      doc,
      extensions: [
        runKeys,
        // Before the standard keymap, as the vim and emacs packages ask.
        keys.of(Prec.high(initialKeymap)),
        lineNumbers(),
        highlightActiveLineGutter(),
        highlightSpecialChars(),
        history(),
        drawSelection(),
        indentOnInput(),
        syntaxHighlighting(defaultHighlightStyle, { fallback: true }),
        bracketMatching(),
        closeBrackets(),
        highlightActiveLine(),
        indentUnit.of("    "),
        EditorState.tabSize.of(4),
        keymap.of([indentWithTab, ...closeBracketsKeymap, ...defaultKeymap, ...historyKeymap]),
        baseTheme,
        EditorView.contentAttributes.of({ "aria-label": "Code editor" }),
        lang.of(initialLanguage),
        theme.of(themeFor(isDark(query, parent))),
        ro.of([EditorState.readOnly.of(!!readOnly), EditorView.editable.of(!readOnly)]),
        EditorView.updateListener.of((u) => {
          if (u.docChanged) onChange(u.state.doc.toString());
        }),
      ],
    }),
  });

  const onScheme = () => view.dispatch({ effects: theme.reconfigure(themeFor(isDark(query, parent))) });
  if (query) query.addEventListener("change", onScheme);
  const onSettings = () => {
    onScheme();
    const wanted = setting("data-keymap") || "standard";
    if (wanted !== keymapName) {
      keymapName = wanted;
      keymapSupport(wanted).then((ext) => {
        if (keymapName !== wanted) return;
        view.dispatch({ effects: keys.reconfigure(Prec.high(ext)) });
        // Only now: data-keymap on the editor says which bindings are in effect (the chunk
        // loads first), so that keys typed after it shows go to the new bindings.
        view.dom.setAttribute("data-keymap", wanted);
      });
    }
    view.requestMeasure();
  };
  document.addEventListener(SETTINGS_EVENT, onSettings);
  view.dom.setAttribute("data-keymap", keymapName);

  return {
    view,
    getDoc: () => view.state.doc.toString(),
    // Replaces the whole text; the cursor keeps its line and column where the new text
    // has them (formatting moves code around a little, not far).
    setDoc(text) {
      text = String(text);
      const old = view.state.doc;
      if (text === old.toString()) return;
      const head = view.state.selection.main.head;
      const line = old.lineAt(head);
      const column = head - line.from;
      const changes = { from: 0, to: old.length, insert: text };
      const next = view.state.update({ changes }).state.doc;
      const at = next.line(Math.min(line.number, next.lines));
      const anchor = at.from + Math.min(column, at.length);
      view.dispatch({ changes, selection: { anchor } });
    },
    setLanguage(id) {
      const want = (current = String(id));
      return languageSupport(id).then((ext) => {
        if (want === current) view.dispatch({ effects: lang.reconfigure(ext) });
      });
    },
    setReadOnly: (b) => view.dispatch({
      effects: ro.reconfigure([EditorState.readOnly.of(!!b), EditorView.editable.of(!b)]),
    }),
    focus: () => view.focus(),
    destroy() {
      if (query) query.removeEventListener("change", onScheme);
      document.removeEventListener(SETTINGS_EVENT, onSettings);
      view.destroy();
    },
  };
}
