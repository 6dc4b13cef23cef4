// Uses the unmodified npm package `piston-client` against a warmrun server, as an editor
// plugin or chat bot would. Prints one JSON line per check; exits non-zero on a failure.
import piston from "piston-client";

const server = process.env.WARMRUN_URL;
const client = piston({ server });
const failures = [];
function check(name, ok, detail) {
  console.log(JSON.stringify({ name, ok, detail }));
  if (!ok) failures.push(name);
}

const runtimes = await client.runtimes();
check("runtimes list python", Array.isArray(runtimes) && runtimes.some(r => r.language === "python"), runtimes);

const hello = await client.execute("python", 'import sys\nprint("Hello", sys.argv[1:])');
check("python hello", hello.run && hello.run.stdout === "Hello ['1', '2', '3']\n" && hello.run.code === 0, hello);

const stdin = await client.execute({ language: "bash", files: [{ content: "read x; echo got $x" }], stdin: "abc\n", args: [] });
check("bash stdin", stdin.run && stdin.run.output === "got abc\n", stdin);

const c = await client.execute("c", "#include <stdio.h>\nint main(){printf(\"c ok\\n\");return 0;}");
check("c compiles", c.compile && c.compile.code === 0 && c.run.stdout === "c ok\n", c);

const bad = await client.execute("c", "int main( {");
check("c compile error", bad.compile && bad.compile.code !== 0 && bad.compile.stderr.includes("error"), bad);

const slow = await client.execute("python", "while True: pass", { runTimeout: 500 });
check("timeout", slow.run && slow.run.signal === "SIGKILL" && slow.run.status === "TO", slow);

const unknown = await client.execute({ language: "cobol", version: "*", files: [{ content: "x" }] });
check("unknown language", typeof unknown.message === "string", unknown);

if (failures.length) {
  console.error(`piston-client checks failed: ${failures.join(", ")}`);
  process.exit(1);
}
console.log(`${7 - failures.length} passed, ${failures.length} failed`);
