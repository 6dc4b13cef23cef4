#!/bin/sh
# Runs in the typescript image's chroot after apt-get install (part of the image's content hash).
# Plain `tsc` spends ~4.5 s of CPU per compile parsing and binding the 80,000 lines of the ES
# lib and Node.js declarations (Debian's nodejs ships @types/node), more than a compile's
# RLIMIT_CPU allows when a run lowers cpu_ms. So this builds a Node.js startup snapshot
# (node --build-snapshot) of the TypeScript compiler API with those declaration files already
# parsed and bound; a compile restores it and only checks and emits main.ts (~0.6 s of CPU).
# Same compiler (Debian's node-typescript), same options as
#   tsc --strict --target es2022 --module commonjs --lib es2022 --types node \
#       --typeRoots /usr/share/nodejs/@types --skipLibCheck main.ts
# and the same exit codes (0, or 2 with tsc-style "file(line,col): error TSnnnn: …" lines).
set -eu
dir=/usr/local/lib/warmrun-tsc
mkdir -p "$dir"
cat >"$dir/snapshot.js" <<'JS'
// Snapshot entry (see setup.sh): load TypeScript, parse and bind the declaration files once.
// At compile time the restored snapshot compiles the file named on the command line.
const fs = require("fs");
const path = require("path");
const v8 = require("v8");
const src = fs.readFileSync("/usr/share/nodejs/typescript/lib/typescript.js", "utf8");
const mod = { exports: {} };
new Function("module", "exports", "require", "__filename", "__dirname", src)(mod, mod.exports, require, "/usr/share/nodejs/typescript/lib/typescript.js", "/usr/share/nodejs/typescript/lib");
const ts = mod.exports;
const options = {
  strict: true, target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.CommonJS,
  lib: ["lib.es2022.d.ts"], types: ["node"], typeRoots: ["/usr/share/nodejs/@types"],
  skipLibCheck: true, pretty: false,
};
const cache = new Map();
function makeHost() {
  const host = ts.createCompilerHost(options);
  const orig = host.getSourceFile;
  host.getSourceFile = (name, lang, onErr, fresh) => {
    if (cache.has(name)) return cache.get(name);
    const sf = orig.call(host, name, lang, onErr, fresh);
    if (sf && name.endsWith(".d.ts") && !name.startsWith("/workspace/")) cache.set(name, sf);
    return sf;
  };
  return host;
}
// Warm: compile a small program that imports nothing so every declaration file is parsed.
fs.writeFileSync("/tmp/warm.ts", "console.log(1);\n");
{
  const p = ts.createProgram(["/tmp/warm.ts"], options, makeHost());
  ts.getPreEmitDiagnostics(p);
}
function compile(file) {
  const program = ts.createProgram([file], options, makeHost());
  const emit = program.emit();
  const diags = ts.getPreEmitDiagnostics(program).concat(emit.diagnostics);
  for (const d of diags) {
    let msg = ts.flattenDiagnosticMessageText(d.messageText, "\n");
    if (d.file) {
      const { line, character } = d.file.getLineAndCharacterOfPosition(d.start);
      msg = `${path.relative(process.cwd(), d.file.fileName)}(${line + 1},${character + 1}): error TS${d.code}: ${msg}`;
    } else msg = `error TS${d.code}: ${msg}`;
    process.stderr.write(msg + "\n");
  }
  process.exitCode = diags.some((d) => d.category === ts.DiagnosticCategory.Error) ? 2 : 0;
}
v8.startupSnapshot.setDeserializeMainFunction(() => compile(path.resolve(process.argv[1] || "main.ts")));
JS
cd /tmp
node --snapshot-blob "$dir/tsc.blob" --build-snapshot "$dir/snapshot.js" 2>/dev/null
rm -f /tmp/warm.ts
chmod 0644 "$dir/tsc.blob" "$dir/snapshot.js"
# A `tsc`-like entry point for the catalog's compile argv.
cat >/usr/local/bin/warmrun-tsc <<'SH'
#!/bin/sh
exec node --snapshot-blob /usr/local/lib/warmrun-tsc/tsc.blob "$@"
SH
chmod 0755 /usr/local/bin/warmrun-tsc
