// Bundles the editor (CodeMirror 6) and terminal (xterm.js) wrappers as ES
// modules with code splitting (one lazily loaded chunk per language grammar),
// and the stylesheet (app/style/warmrun.css, which pulls in xterm.css).
//
//   node build.mjs [OUT_DIR]      (default: app/js/dist)
//
// writes OUT_DIR/js/{editor.js,terminal.js,chunk-*.js}, OUT_DIR/style.css,
// OUT_DIR/widget.css and OUT_DIR/embed.js (the one-tag widget, see embed.js), and
// OUT_DIR/js/first-load.json: the JS files a first visit loads (both entries,
// their static imports and the default language's grammar), for the size
// report of scripts/build-frontend.sh. Takes about a second.
import * as esbuild from "esbuild";
import { fileURLToPath } from "node:url";
import { readFileSync, writeFileSync, rmSync } from "node:fs";
import path from "node:path";

const here = path.dirname(fileURLToPath(import.meta.url));
const out = path.resolve(process.argv[2] || path.join(here, "dist"));
const jsOut = path.join(out, "js");
const DEFAULT_LANGUAGE = "@codemirror/lang-python";
const common = {
  bundle: true,
  minify: true,
  legalComments: "none",
  logLevel: "warning",
  nodePaths: [path.join(here, "node_modules")],
};

// @replit/codemirror-emacs binds its keys and defines its commands in top-level calls it
// marks /*@__PURE__*/, so a minifier drops them and emacs mode has no keys at all: keep them.
const keepEmacsBindings = {
  name: "keep-emacs-bindings",
  setup(build) {
    build.onLoad({ filter: /codemirror-emacs[\\/]dist[\\/]index\.js$/ }, (args) => ({
      contents: readFileSync(args.path, "utf8").replaceAll("/*@__PURE__*/EmacsHandler.", "EmacsHandler."),
      loader: "js",
    }));
  },
};

rmSync(jsOut, { recursive: true, force: true }); // no stale chunks
const js = await esbuild.build({
  ...common,
  entryPoints: [path.join(here, "src/editor.js"), path.join(here, "src/terminal.js")],
  outdir: jsOut,
  format: "esm",
  splitting: true,
  chunkNames: "chunk-[hash]",
  target: ["es2020"],
  platform: "browser",
  metafile: true,
  plugins: [keepEmacsBindings],
});
await esbuild.build({
  ...common,
  entryPoints: [path.join(here, "../style/warmrun.css")],
  outfile: path.join(out, "style.css"),
});

// The widget's stylesheet: the same rules, scoped to <warmrun-playground> elements on
// someone else's page. What the playground's own pages set on :root and body (colours,
// font, box-sizing) goes on the element instead, and html/body are left alone.
const styleDir = path.join(here, "../style");
const pageCss = readFileSync(path.join(styleDir, "warmrun.css"), "utf8");
const scoped = [
  ["html, body { margin: 0; padding: 0; }\n", ""],
  ["*, *::before, *::after {", "warmrun-playground *, warmrun-playground *::before, warmrun-playground *::after {"],
  ["\nbody {", "\nwarmrun-playground {\n  display: block;"],
].reduce((css, [from, to]) => {
  if (!css.includes(from)) throw new Error(`widget.css: warmrun.css no longer has ${JSON.stringify(from)}`);
  return css.replace(from, to);
}, pageCss).replaceAll(":root", "warmrun-playground");
await esbuild.build({
  ...common,
  stdin: { contents: scoped, resolveDir: styleDir, loader: "css", sourcefile: "widget.css" },
  outfile: path.join(out, "widget.css"),
});
await esbuild.build({
  ...common,
  bundle: false,
  entryPoints: [path.join(here, "embed.js")],
  outfile: path.join(out, "embed.js"),
  format: "esm",
  target: ["es2022"],
});

// First-load closure: entries + static imports, plus the default grammar chunk.
const outputs = js.metafile.outputs;
const first = new Set();
const visit = (file) => {
  if (first.has(file) || !outputs[file]) return;
  first.add(file);
  for (const imp of outputs[file].imports) if (imp.kind === "import-statement") visit(imp.path);
};
// (dynamically imported modules count as entry points in the metafile too)
for (const [file, o] of Object.entries(outputs)) {
  if (o.entryPoint && /src\/(editor|terminal)\.js$/.test(o.entryPoint)) visit(file);
}
for (const [file, o] of Object.entries(outputs)) {
  if (Object.keys(o.inputs).some((i) => i.includes(`node_modules/${DEFAULT_LANGUAGE}/`))) visit(file);
}
const rel = [...first].map((f) => path.relative(out, path.resolve(f))).sort();
writeFileSync(path.join(jsOut, "first-load.json"), JSON.stringify(rel, null, 1) + "\n");
console.log(`bundled ${Object.keys(outputs).length} JS files and style.css into ${out}`);
