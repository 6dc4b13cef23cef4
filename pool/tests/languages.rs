//! Every language of the catalog runs, and a run's input and output travel as they should:
//! stdin given up front, interleaved stdout/stderr in order, an interactive prompt driven
//! through the run's controls, and a terminal.

mod common;

use common::{describe, exec, exec_limited, next_event, run, text};
use pool::{Engine, File, LimitOverrides, RunControl, RunEvent, RunRequest, TtySize, Verdict};

/// Every language of the repository's catalog, started on demand (rarely used languages
/// have no warm container, as in production); Python, which most tests below use, keeps one.
async fn engine() -> Engine {
    common::engine_with("languages", || {
        let mut catalog = common::repo_catalog();
        for l in &mut catalog.languages {
            let python = l.id.as_str() == "python";
            l.pool.min_idle = usize::from(python);
            l.pool.max = if python { 2 } else { 1 };
        }
        catalog
    })
    .await
}

/// What a language's `pool/tests/programs/<id>.toml` asks of it, beside its catalog examples.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Programs {
    /// Part of the message the catalog's `error` example ends with.
    error_says: String,
    /// Reads one integer per line until end of input and prints their sum.
    sum: String,
    /// Fails at run time (an uncaught error, not an explicit exit) …
    runtime_error: String,
    /// … with this exit code, or killed by this signal (one of the two) …
    #[serde(default)]
    runtime_error_exit_code: Option<i32>,
    #[serde(default)]
    runtime_error_signal: Option<i32>,
    /// … and this in its stderr (or stdout, where the language prints errors there).
    runtime_error_says: String,
    /// A program the compiler rejects, and part of the compiler's message; compiled
    /// languages only.
    #[serde(default)]
    compile_error: Option<String>,
    #[serde(default)]
    compile_error_says: Option<String>,
    /// Never ends on its own (and never prints): a busy loop.
    busy_loop: String,
}

/// An older version (`version_of`) without a file of its own runs its newest's programs.
fn programs_of(language: &pool::Language) -> Programs {
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/programs");
    let own = dir.join(format!("{}.toml", language.id));
    let path = if own.exists() {
        own
    } else {
        dir.join(format!("{}.toml", language.family()))
    };
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (every language has one)", path.display()));
    toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every example of `lang` in the catalog runs as the playground's Examples menu promises:
/// `hello` (the start program) greets the name it reads, `error` fails with its message,
/// the others succeed.
async fn examples(lang: &str) {
    let engine = engine().await;
    let language = engine.language(lang).unwrap().clone();
    assert!(
        language.examples.len() >= 4,
        "{lang}: {:?}",
        language.examples
    );
    assert_eq!(
        language.examples[0].id, "hello",
        "{lang}: hello comes first"
    );
    assert_eq!(language.example(), language.examples[0].code);
    let message = programs_of(&language).error_says;
    for example in &language.examples {
        let what = format!("{lang} example {}", example.id);
        let stdin = if example.id == "hello" { "Ada\n" } else { "" };
        let r = if example.id == "plot" {
            // numpy and matplotlib take seconds to import, several times more under gVisor
            // on a busy host: this checks that plots work, not how fast they are.
            let roomy = LimitOverrides {
                wall_ms: Some(45_000),
                cpu_ms: Some(25_000),
                ..LimitOverrides::default()
            };
            exec_limited(&engine, lang, &example.code, roomy).await
        } else {
            exec(&engine, lang, &example.code, stdin).await
        };
        let verdict = r.outcome.exit.verdict;
        match example.id.as_str() {
            "error" => {
                let said = match verdict {
                    Verdict::CompileError => {
                        let c = r.compile.as_ref().expect("a compile report");
                        text(&c.stderr) + &text(&c.stdout)
                    }
                    Verdict::RuntimeError => text(&r.stderr) + &text(&r.stdout),
                    _ => panic!("{what}: expected an error, got {}", describe(&r)),
                };
                assert!(
                    said.contains(&message),
                    "{what}: no {message:?} in {}",
                    describe(&r)
                );
            }
            id => {
                assert_eq!(verdict, Verdict::Ok, "{what}: {}", describe(&r));
                if id == "hello" {
                    assert!(
                        text(&r.stdout).contains("Hello, Ada!"),
                        "{what}: {}",
                        describe(&r)
                    );
                } else {
                    assert!(
                        !r.stdout.is_empty(),
                        "{what} printed nothing: {}",
                        describe(&r)
                    );
                }
                if id == "plot" {
                    // plt.show() saved the figure into /workspace/output, which came back.
                    let files = &r.outcome.artifacts.files;
                    assert!(
                        files.iter().any(|f| f.name.ends_with(".png")
                            && f.data.starts_with(b"\x89PNG\r\n\x1a\n")),
                        "{what}: no PNG among {:?}",
                        files.iter().map(|f| &f.name).collect::<Vec<_>>()
                    );
                }
                if !language.compile.is_empty() {
                    let compile = r.compile.as_ref().expect("a compile report");
                    assert_eq!(
                        compile.exit.verdict,
                        Verdict::Ok,
                        "{what}: {}",
                        describe(&r)
                    );
                }
            }
        }
    }
}

/// The programs every language must run right: a sum of its input, a runtime error with
/// the language's exit code, a compile error with the compiler's message, a busy loop
/// stopped by a limit.
async fn programs(lang: &str) {
    let engine = engine().await;
    let language = engine.language(lang).unwrap().clone();
    let p = programs_of(&language);

    let r = exec(&engine, lang, &p.sum, "10\n20\n30\n-5\n").await;
    assert_eq!(
        r.outcome.exit.verdict,
        Verdict::Ok,
        "{lang} sum: {}",
        describe(&r)
    );
    let out = text(&r.stdout);
    assert_eq!(
        out.split_whitespace().last(),
        Some("55"),
        "{lang} sum: {}",
        describe(&r)
    );

    let r = exec(&engine, lang, &p.runtime_error, "").await;
    assert_eq!(
        r.outcome.exit.verdict,
        Verdict::RuntimeError,
        "{lang} runtime error: {}",
        describe(&r)
    );
    assert!(
        p.runtime_error_exit_code.is_some() != p.runtime_error_signal.is_some(),
        "{lang}: runtime_error_exit_code or runtime_error_signal, one of the two"
    );
    assert_eq!(
        (r.outcome.exit.exit_code, r.outcome.exit.signal),
        (p.runtime_error_exit_code, p.runtime_error_signal),
        "{lang} runtime error: {}",
        describe(&r)
    );
    let said = text(&r.stderr) + &text(&r.stdout);
    assert!(
        said.contains(&p.runtime_error_says),
        "{lang} runtime error: no {:?} in {}",
        p.runtime_error_says,
        describe(&r)
    );

    match (&p.compile_error, &p.compile_error_says) {
        (Some(code), Some(says)) => {
            assert!(!language.compile.is_empty(), "{lang} compiles nothing");
            let r = exec(&engine, lang, code, "").await;
            assert_eq!(
                r.outcome.exit.verdict,
                Verdict::CompileError,
                "{lang} compile error: {}",
                describe(&r)
            );
            let c = r.compile.as_ref().expect("a compile report");
            let said = text(&c.stderr) + &text(&c.stdout);
            assert!(
                said.contains(says.as_str()),
                "{lang} compile error: no {says:?} in {}",
                describe(&r)
            );
        }
        (None, None) => assert!(
            language.compile.is_empty(),
            "{lang} has a compile step: its programs need compile_error and compile_error_says"
        ),
        _ => panic!("{lang}: compile_error and compile_error_says go together"),
    }

    let limits = LimitOverrides {
        cpu_ms: Some(1500),
        wall_ms: Some(4000),
        ..Default::default()
    };
    let r = exec_limited(&engine, lang, &p.busy_loop, limits).await;
    assert!(
        matches!(
            r.outcome.exit.verdict,
            Verdict::CpuLimit | Verdict::TimeLimit
        ),
        "{lang} busy loop: {}",
        describe(&r)
    );
}

/// One module per language, so that a failure names its language: `python::examples`.
macro_rules! language_tests {
    ($($module:ident => $id:literal),* $(,)?) => {
        $(mod $module {
            #[test]
            fn examples() {
                super::run(super::examples($id));
            }
            #[test]
            fn programs() {
                super::run(super::programs($id));
            }
        })*

        /// Every language of the catalog has its tests above.
        #[test]
        fn every_catalog_language_is_tested() {
            let tested = [$($id),*];
            let catalog = common::repo_catalog();
            let missing: Vec<&str> = catalog
                .languages
                .iter()
                .map(|l| l.id.as_str())
                .filter(|id| !tested.contains(id))
                .collect();
            assert!(missing.is_empty(), "add to language_tests!: {missing:?}");
        }
    };
}

language_tests! {
    python => "python",
    python_3_11 => "python-3.11",
    javascript => "javascript",
    c => "c",
    cpp => "cpp",
    go => "go",
    rust => "rust",
    java => "java",
    java_17 => "java-17",
    bash => "bash",
    c_clang => "c-clang",
    cpp_clang => "cpp-clang",
    d => "d",
    fortran => "fortran",
    pascal => "pascal",
    cobol => "cobol",
    assembly => "assembly",
    objective_c => "objective-c",
    nim => "nim",
    haskell => "haskell",
    ocaml => "ocaml",
    groovy => "groovy",
    csharp => "csharp",
    clojure => "clojure",
    erlang => "erlang",
    elixir => "elixir",
    kotlin => "kotlin",
    scala => "scala",
    typescript => "typescript",
    ruby => "ruby",
    php => "php",
    perl => "perl",
    lua => "lua",
    r => "r",
    octave => "octave",
    sql => "sql",
    prolog => "prolog",
    scheme => "scheme",
    racket => "racket",
    commonlisp => "commonlisp",
}

#[test]
fn aliases_and_extra_files() {
    run(async {
        let engine = engine().await;
        let r = engine
            .execute(RunRequest {
                language: "py".into(),
                files: vec![
                    File {
                        name: "main.py".into(),
                        content: "import helper\nprint(helper.greet('there'))\n".into(),
                    },
                    File {
                        name: "helper.py".into(),
                        content: "def greet(n):\n    return 'hi ' + n\n".into(),
                    },
                ],
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(r.outcome.exit.verdict, Verdict::Ok, "{}", describe(&r));
        assert_eq!(text(&r.stdout), "hi there\n");
    });
}

/// A block of input given up front arrives whole, and EOF after it.
#[test]
fn stdin_block() {
    run(async {
        let engine = engine().await;
        let lines: Vec<String> = (1..=20_000).map(|i| i.to_string()).collect();
        let input = lines.join("\n") + "\n";
        let code = "import sys\ndata = sys.stdin.read()\nnums = [int(x) for x in data.split()]\nprint(len(nums), sum(nums), len(data))\n";
        let r = exec(&engine, "python", code, &input).await;
        assert_eq!(r.outcome.exit.verdict, Verdict::Ok, "{}", describe(&r));
        let expected = format!("20000 {} {}\n", 20_000 * 20_001 / 2, input.len());
        assert_eq!(text(&r.stdout), expected);
    });
}

/// Writes to stdout and stderr, spaced in time, arrive as events in the order they were made.
#[test]
fn interleaved_stdout_stderr_order() {
    run(async {
        let engine = engine().await;
        let code = r#"
import sys, time
for i in range(4):
    sys.stdout.write(f"out{i}\n"); sys.stdout.flush()
    time.sleep(0.05)
    sys.stderr.write(f"err{i}\n"); sys.stderr.flush()
    time.sleep(0.05)
"#;
        let mut handle = engine
            .lease_and_start(common::request("python", code, ""), &mut |_| {})
            .await
            .unwrap();
        let mut seen = Vec::new();
        let outcome = loop {
            match next_event(&mut handle.events).await {
                RunEvent::Stdout(b) => seen.push(format!("O:{}", text(&b))),
                RunEvent::Stderr(b) => seen.push(format!("E:{}", text(&b))),
                RunEvent::Exit(o) => break o,
                _ => {}
            }
        };
        assert_eq!(outcome.exit.verdict, Verdict::Ok);
        let expected: Vec<String> = (0..4)
            .flat_map(|i| [format!("O:out{i}\n"), format!("E:err{i}\n")])
            .collect();
        assert_eq!(seen, expected);
    });
}

/// A program that prints a prompt and waits: the prompt arrives before any input is sent,
/// and the answer follows the input sent through the run's controls.
#[test]
fn interactive_prompt() {
    run(async {
        let engine = engine().await;
        let code = "name = input('name? ')\nprint(f'hello {name}')\nage = input('age? ')\nprint(f'{name} is {age}')\n";
        let mut req = common::request("python", code, "");
        req.close_stdin = false;
        let mut handle = engine.lease_and_start(req, &mut |_| {}).await.unwrap();
        match next_event(&mut handle.events).await {
            RunEvent::Started => {}
            other => panic!("unexpected before Started: {other:?}"),
        }
        let mut out = String::new();
        let mut answers = ["Ada\n", "36\n"].into_iter();
        let mut prompts = ["name? ", "age? "].into_iter().peekable();
        let outcome = loop {
            match next_event(&mut handle.events).await {
                RunEvent::Stdout(b) => {
                    out.push_str(&text(&b));
                    // Answer each prompt only once it was seen.
                    if let Some(p) = prompts.peek() {
                        if out.ends_with(p) {
                            prompts.next();
                            let a = answers.next().unwrap();
                            handle
                                .controls
                                .send(RunControl::Stdin(a.as_bytes().to_vec()))
                                .unwrap();
                        }
                    }
                }
                RunEvent::Stderr(b) => panic!("stderr: {}", text(&b)),
                RunEvent::Exit(o) => break o,
                _ => {}
            }
        };
        assert_eq!(outcome.exit.verdict, Verdict::Ok, "output: {out:?}");
        assert_eq!(out, "name? hello Ada\nage? Ada is 36\n");
        assert!(prompts.next().is_none(), "every prompt was answered");
    });
}

/// Input streamed in pieces, then EOF through the controls, ends a read-until-EOF program.
#[test]
fn streamed_stdin_then_eof() {
    run(async {
        let engine = engine().await;
        let code = "import sys\nlines = sys.stdin.readlines()\nprint(len(lines), ''.join(lines).split())\n";
        let mut req = common::request("python", code, "first\n");
        req.close_stdin = false;
        let handle = engine.lease_and_start(req, &mut |_| {}).await.unwrap();
        for piece in ["sec", "ond\nthird\n"] {
            handle
                .controls
                .send(RunControl::Stdin(piece.as_bytes().to_vec()))
                .unwrap();
        }
        handle.controls.send(RunControl::Eof).unwrap();
        let r = handle.collect().await;
        assert_eq!(r.outcome.exit.verdict, Verdict::Ok, "{}", describe(&r));
        assert_eq!(text(&r.stdout), "3 ['first', 'second', 'third']\n");
    });
}

/// A terminal run: the program sees a tty of the asked size, input echoes, resizes reach it.
#[test]
fn tty_run() {
    run(async {
        let engine = engine().await;
        let code = r#"
import os, sys
print("tty", os.isatty(0), os.isatty(1), os.isatty(2))
print("size", os.get_terminal_size().columns, os.get_terminal_size().lines)
print("TERM", os.environ.get("TERM"))
line = input("> ")
print("got", line)
print("size", os.get_terminal_size().columns, os.get_terminal_size().lines)
"#;
        let mut req = common::request("python", code, "");
        req.close_stdin = false;
        req.tty = Some(TtySize {
            cols: 100,
            rows: 30,
        });
        let mut handle = engine.lease_and_start(req, &mut |_| {}).await.unwrap();
        let mut out = String::new();
        let mut answered = false;
        let outcome = loop {
            match next_event(&mut handle.events).await {
                RunEvent::Stdout(b) => {
                    out.push_str(&text(&b));
                    if !answered && out.ends_with("> ") {
                        answered = true;
                        let c = &handle.controls;
                        c.send(RunControl::Resize(TtySize {
                            cols: 120,
                            rows: 40,
                        }))
                        .unwrap();
                        c.send(RunControl::Stdin(b"typed\r".to_vec())).unwrap();
                    }
                }
                RunEvent::Stderr(b) => panic!("a tty run has no separate stderr: {b:?}"),
                RunEvent::Exit(o) => break o,
                _ => {}
            }
        };
        assert_eq!(outcome.exit.verdict, Verdict::Ok, "output: {out:?}");
        // A terminal turns \n into \r\n and echoes what is typed.
        assert!(out.contains("tty True True True\r\n"), "{out:?}");
        assert!(out.contains("size 100 30\r\n"), "{out:?}");
        assert!(out.contains("TERM xterm-256color\r\n"), "{out:?}");
        assert!(out.contains("> typed\r\n"), "echo: {out:?}");
        assert!(out.contains("got typed\r\n"), "{out:?}");
        assert!(out.contains("size 120 40\r\n"), "resize: {out:?}");
    });
}
