// warmrun code editor: a thin wrapper over CodeMirror 6, bundled by esbuild
// (app/js/build.mjs, code splitting: one chunk per language grammar) into
// <site>/pkg/js/editor.js, which app/js/loader.js imports at run time.
import { EditorView } from "codemirror";
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
  bash: () =>
    import("@codemirror/legacy-modes/mode/shell").then((m) => StreamLanguage.define(m.shell)),
};
const ALIASES = {
  py: "python", python3: "python", py3: "python",
  js: "javascript", node: "javascript", nodejs: "javascript", "node-js": "javascript",
  ts: "typescript", "c++": "cpp", cxx: "cpp", golang: "go", rs: "rust",
  sh: "bash", shell: "bash",
};

/**
 * Resolves to the CodeMirror extension for a language id; an empty list (plain
 * text) when the language is unknown or its grammar fails to load.
 */
export function languageSupport(id) {
  const key = String(id || "").toLowerCase();
  const make = LANGUAGES[key] || LANGUAGES[ALIASES[key]];
  return make ? make().catch(() => []) : Promise.resolve([]);
}

const darkQuery = () =>
  typeof window !== "undefined" && window.matchMedia
    ? window.matchMedia("(prefers-color-scheme: dark)")
    : null;

const baseTheme = EditorView.theme({
  "&": { height: "100%", fontSize: "14px" },
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
 * @param {string} language catalog language id (python, c, cpp, go, rust, java, javascript, bash)
 * @param {boolean} readOnly
 * @param {(doc: string) => void} onChange called with the whole text after each edit
 * @param {() => void} onRun called on Ctrl+Enter / Cmd+Enter
 */
export async function createEditor(parent, doc, language, readOnly, onChange, onRun) {
  const initialLanguage = await languageSupport(language);
  const lang = new Compartment();
  const theme = new Compartment();
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
        theme.of(themeFor(query && query.matches)),
        ro.of([EditorState.readOnly.of(!!readOnly), EditorView.editable.of(!readOnly)]),
        EditorView.updateListener.of((u) => {
          if (u.docChanged) onChange(u.state.doc.toString());
        }),
      ],
    }),
  });

  const onScheme = (e) => view.dispatch({ effects: theme.reconfigure(themeFor(e.matches)) });
  if (query) query.addEventListener("change", onScheme);

  return {
    view,
    getDoc: () => view.state.doc.toString(),
    setDoc(text) {
      text = String(text);
      if (text === view.state.doc.toString()) return;
      view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: text } });
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
      view.destroy();
    },
  };
}
