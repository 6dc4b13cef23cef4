//! Every language of the catalog runs, and a run's input and output travel as they should:
//! stdin given up front, interleaved stdout/stderr in order, an interactive prompt driven
//! through the run's controls, and a terminal.

mod common;

use common::{describe, exec, next_event, run, text};
use pool::{Engine, File, RunControl, RunEvent, RunRequest, TtySize, Verdict};

const LANGS: &[(&str, usize)] = &[
    ("python", 2),
    ("javascript", 1),
    ("c", 1),
    ("cpp", 1),
    ("go", 1),
    ("rust", 1),
    ("java", 1),
    ("bash", 1),
];

async fn engine() -> Engine {
    common::engine("languages", LANGS).await
}

/// The message each language's `error` example ends with.
const ERROR_MESSAGES: &[(&str, &str)] = &[
    ("python", "ZeroDivisionError: division by zero"),
    (
        "javascript",
        "TypeError: Cannot read properties of undefined",
    ),
    ("c", "Assertion"),
    ("cpp", "std::out_of_range"),
    (
        "go",
        "panic: runtime error: index out of range [3] with length 3",
    ),
    ("rust", "error[E0382]: borrow of moved value: `names`"),
    (
        "java",
        "java.lang.NumberFormatException: For input string: \"forty-two\"",
    ),
    ("bash", "greting: unbound variable"),
];

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
    for example in &language.examples {
        let what = format!("{lang} example {}", example.id);
        let stdin = if example.id == "hello" { "Ada\n" } else { "" };
        let r = exec(&engine, lang, &example.code, stdin).await;
        let verdict = r.outcome.exit.verdict;
        match example.id.as_str() {
            "error" => {
                let (_, message) = ERROR_MESSAGES.iter().find(|(l, _)| *l == lang).unwrap();
                let said = match verdict {
                    Verdict::CompileError => {
                        text(&r.compile.as_ref().expect("a compile report").stderr)
                    }
                    Verdict::RuntimeError => text(&r.stderr),
                    _ => panic!("{what}: expected an error, got {}", describe(&r)),
                };
                assert!(
                    said.contains(message),
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

#[test]
fn examples_python() {
    run(examples("python"));
}

#[test]
fn examples_javascript() {
    run(examples("javascript"));
}

#[test]
fn examples_c() {
    run(examples("c"));
}

#[test]
fn examples_cpp() {
    run(examples("cpp"));
}

#[test]
fn examples_go() {
    run(examples("go"));
}

#[test]
fn examples_rust() {
    run(examples("rust"));
}

#[test]
fn examples_java() {
    run(examples("java"));
}

#[test]
fn examples_bash() {
    run(examples("bash"));
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
