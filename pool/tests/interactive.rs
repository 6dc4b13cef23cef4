//! Interactive runs: the time a program waits for its person is not its run time, a wait
//! that lasts too long ends with `idle_limit`, and each wait is announced once with
//! `RunEvent::WaitingForInput`. Programs that sleep or compute are judged as before, and
//! batch runs (stdin given and closed) keep the plain wall-clock limit.
//!
//! Under runsc (`WARMRUN_RUNTIME=runsc`) the kernel does not say what a program is blocked
//! in: the waiting tests are skipped there (see the README's note on gVisor).

mod common;

use common::{next_event, run, text};
use pool::{Engine, LimitOverrides, RunControl, RunEvent, RunOutcome, RunRequest, Verdict};
use std::time::{Duration, Instant};

const LANGS: &[(&str, usize)] = &[
    ("python", 2),
    ("bash", 1),
    ("c", 1),
    ("java", 1),
    ("javascript", 1),
];

async fn engine() -> Engine {
    common::engine("interactive", LANGS).await
}

fn gvisor() -> bool {
    common::runtime_from_env() == pool::Runtime::Runsc
}

/// A request whose stdin stays open (as over a WebSocket).
fn interactive(lang: &str, code: &str, limits: LimitOverrides) -> RunRequest {
    let mut req = common::request(lang, code, "");
    req.close_stdin = false;
    req.limits = limits;
    req
}

/// What a session saw: each announced wait (its time since the start) and the end.
struct Session {
    waits: Vec<Duration>,
    stdout: String,
    outcome: RunOutcome,
}

/// Runs `req`, answering the n-th announced wait with `answers[n]` after its delay; later
/// waits go unanswered.
async fn session(engine: &Engine, req: RunRequest, answers: &[(&str, Duration)]) -> Session {
    let mut handle = engine
        .lease_and_start(req, &mut |_| {})
        .await
        .expect("the run is accepted");
    let started = Instant::now();
    let mut waits = Vec::new();
    let mut stdout = String::new();
    let outcome = loop {
        // Waits may last long (the idle limit): more patience than next_event's.
        let ev = match tokio::time::timeout(Duration::from_secs(100), handle.events.recv()).await {
            Ok(Some(ev)) => ev,
            Ok(None) => panic!("the run ended without an Exit event"),
            Err(_) => panic!("no event within 100 s; waits {waits:?}, stdout {stdout:?}"),
        };
        match ev {
            RunEvent::WaitingForInput => {
                if let Some((answer, delay)) = answers.get(waits.len()) {
                    let controls = handle.controls.clone();
                    let answer = answer.as_bytes().to_vec();
                    let delay = *delay;
                    tokio::spawn(async move {
                        tokio::time::sleep(delay).await;
                        let _ = controls.send(RunControl::Stdin(answer));
                    });
                }
                waits.push(started.elapsed());
            }
            RunEvent::Stdout(b) => stdout.push_str(&text(&b)),
            RunEvent::Exit(o) => break o,
            _ => {}
        }
    };
    Session {
        waits,
        stdout,
        outcome,
    }
}

fn limits(wall_ms: u64, idle_ms: Option<u64>) -> LimitOverrides {
    LimitOverrides {
        wall_ms: Some(wall_ms),
        idle_ms,
        ..Default::default()
    }
}

/// The issue's case: a prompt answered after 15 s, with a 10 s wall-clock limit.
#[test]
fn think_time_is_not_run_time() {
    if gvisor() {
        return;
    }
    run(async {
        let code = "name = input('name? ')\nprint('hello', name)\n";
        let req = interactive("python", code, limits(10_000, None));
        let s = session(&engine().await, req, &[("Ada\n", Duration::from_secs(15))]).await;
        let exit = &s.outcome.exit;
        assert_eq!(exit.verdict, Verdict::Ok, "{exit:?} {:?}", s.stdout);
        assert_eq!(s.stdout, "name? hello Ada\n");
        assert_eq!(s.waits.len(), 1, "one wait, announced once: {:?}", s.waits);
        assert!(
            exit.wall_ms < 10_000,
            "the wait is not run time: wall {} ms",
            exit.wall_ms
        );
        assert!(s.outcome.total_ms >= 15_000, "{:?}", s.outcome);
    });
}

/// A prompt nobody answers ends at the idle limit, with a verdict of its own.
#[test]
fn unanswered_prompt_is_idle_limit() {
    if gvisor() {
        return;
    }
    run(async {
        let code = "print('ready', flush=True)\nname = input()\nprint('never')\n";
        let req = interactive("python", code, limits(10_000, Some(3_000)));
        let asked = Instant::now();
        let s = session(&engine().await, req, &[]).await;
        let exit = &s.outcome.exit;
        assert_eq!(exit.verdict, Verdict::IdleLimit, "{exit:?}");
        assert_eq!(exit.signal, Some(9));
        assert_eq!(s.stdout, "ready\n");
        let took = asked.elapsed();
        assert!(
            took >= Duration::from_secs(3) && took < Duration::from_secs(30),
            "ended after {took:?}"
        );
        assert_eq!(s.waits.len(), 1);
    });
}

/// Each wait is announced once, within about 100 ms of the prompt (generous here: the
/// machine is loaded), and the next one only after input came and the program blocked again.
#[test]
fn python_waits_are_announced_once_each() {
    if gvisor() {
        return;
    }
    run(async {
        let code = "a = input('a? ')\nb = input('b? ')\nprint(a + b)\n";
        let req = interactive("python", code, limits(10_000, None));
        let s = session(
            &engine().await,
            req,
            &[
                ("x\n", Duration::from_millis(1500)),
                ("y\n", Duration::from_millis(1500)),
            ],
        )
        .await;
        assert_eq!(s.outcome.exit.verdict, Verdict::Ok, "{:?}", s.outcome);
        assert_eq!(s.stdout, "a? b? xy\n");
        assert_eq!(s.waits.len(), 2, "{:?}", s.waits);
        assert!(
            s.waits[1] - s.waits[0] >= Duration::from_millis(1500),
            "the second wait follows the first answer: {:?}",
            s.waits
        );
    });
}

/// A waiting signal for one reader of stdin, whatever the language reads it with; the
/// program then ends normally with the answer.
async fn announced(lang: &str, code: &str, expect: &str) {
    let req = interactive(lang, code, limits(30_000, None));
    let s = session(
        &engine().await,
        req,
        &[("Ada\n", Duration::from_millis(1000))],
    )
    .await;
    assert_eq!(
        s.outcome.exit.verdict,
        Verdict::Ok,
        "{lang}: {:?} {:?}",
        s.outcome,
        s.stdout
    );
    assert_eq!(s.waits.len(), 1, "{lang}: {:?}", s.waits);
    assert!(s.stdout.contains(expect), "{lang}: {:?}", s.stdout);
}

#[test]
fn bash_read_is_announced() {
    if gvisor() {
        return;
    }
    run(announced(
        "bash",
        "read -r name\necho \"hi $name\"\n",
        "hi Ada",
    ));
}

#[test]
fn c_getchar_is_announced() {
    if gvisor() {
        return;
    }
    let code = "#include <stdio.h>\nint main(void) {\n  printf(\"name? \");\n  fflush(stdout);\n  \
                int c, n = 0;\n  while ((c = getchar()) != EOF && c != '\\n') n++;\n  \
                printf(\"%d letters\\n\", n);\n  return 0;\n}\n";
    run(announced("c", code, "3 letters"));
}

#[test]
fn java_scanner_is_announced() {
    if gvisor() {
        return;
    }
    let code = "import java.util.Scanner;\npublic class Main {\n  public static void main(String[] a) {\n    \
                Scanner in = new Scanner(System.in);\n    System.out.println(\"hi \" + in.nextLine());\n  }\n}\n";
    run(announced("java", code, "hi Ada"));
}

/// Node.js waits for stdin in epoll, not in a read. (It keeps waiting on an open stdin after
/// `rl.close()`, so the program exits by itself.)
#[test]
fn node_readline_is_announced() {
    if gvisor() {
        return;
    }
    let code = "const rl = require('readline').createInterface({ input: process.stdin });\n\
                rl.on('line', (l) => { console.log('hi ' + l); process.exit(0); });\n";
    run(announced("javascript", code, "hi Ada"));
}

/// An event loop whose timer wakes it while it waits: still one wait, announced once, and
/// the idle limit ends it (the wakeups do not restart the idle time).
#[test]
fn node_waiting_with_a_timer_is_one_wait() {
    if gvisor() {
        return;
    }
    run(async {
        let code = "const rl = require('readline').createInterface({ input: process.stdin });\n\
                    setInterval(() => {}, 200);\n\
                    rl.on('line', () => process.exit(0));\n";
        let req = interactive("javascript", code, limits(10_000, Some(3_000)));
        let s = session(&engine().await, req, &[]).await;
        assert_eq!(
            s.outcome.exit.verdict,
            Verdict::IdleLimit,
            "{:?}",
            s.outcome
        );
        assert_eq!(s.waits.len(), 1, "{:?}", s.waits);
    });
}

/// A terminal run: the program reads the terminal, not a pipe.
#[test]
fn tty_prompt_is_announced() {
    if gvisor() {
        return;
    }
    run(async {
        let code = "name = input('name? ')\nprint('hello', name)\n";
        let mut req = interactive("python", code, limits(10_000, None));
        req.tty = Some(pool::TtySize { cols: 80, rows: 24 });
        let s = session(
            &engine().await,
            req,
            &[("Ada\r", Duration::from_millis(1000))],
        )
        .await;
        assert_eq!(s.outcome.exit.verdict, Verdict::Ok, "{:?}", s.outcome);
        assert_eq!(s.waits.len(), 1, "{:?}", s.waits);
        assert!(s.stdout.contains("hello Ada"), "{:?}", s.stdout);
    });
}

/// Sleeping is not waiting for input: no signal, and the wall clock runs.
#[test]
fn sleep_is_not_waiting_and_hits_time_limit() {
    run(async {
        let engine = engine().await;
        let code = "import time\ntime.sleep(2)\nprint('done')\n";
        let s = session(
            &engine,
            interactive("python", code, limits(10_000, None)),
            &[],
        )
        .await;
        assert_eq!(s.outcome.exit.verdict, Verdict::Ok, "{:?}", s.outcome);
        assert_eq!(s.stdout, "done\n");
        assert!(s.waits.is_empty(), "sleeping is no wait: {:?}", s.waits);

        let code = "import time\nprint('sleeping', flush=True)\ntime.sleep(20)\n";
        let s = session(
            &engine,
            interactive("python", code, limits(5_000, None)),
            &[],
        )
        .await;
        let exit = &s.outcome.exit;
        assert_eq!(exit.verdict, Verdict::TimeLimit, "{exit:?}");
        assert!(
            (5_000..9_000).contains(&exit.wall_ms),
            "stopped at the usual bound: {exit:?}"
        );
        assert!(s.waits.is_empty(), "{:?}", s.waits);
    });
}

/// Computing is not waiting either: the CPU limit ends a spinning loop as before.
#[test]
fn spinning_is_cpu_limit() {
    run(async {
        let limits = LimitOverrides {
            cpu_ms: Some(1_500),
            wall_ms: Some(20_000),
            ..Default::default()
        };
        let s = session(
            &engine().await,
            interactive("python", "while True:\n    pass\n", limits),
            &[],
        )
        .await;
        let exit = &s.outcome.exit;
        assert_eq!(exit.verdict, Verdict::CpuLimit, "{exit:?}");
        assert!(exit.wall_ms < 20_000, "{exit:?}");
        assert!(s.waits.is_empty(), "{:?}", s.waits);
    });
}

/// Batch runs (stdin given and closed) are not watched: no signal, today's wall limit.
#[test]
fn batch_runs_are_unchanged() {
    run(async {
        let engine = engine().await;
        let mut handle = engine
            .lease_and_start(
                common::request("python", "print(input() + '!')\n", "hey\n"),
                &mut |_| {},
            )
            .await
            .unwrap();
        let mut out = String::new();
        let outcome = loop {
            match next_event(&mut handle.events).await {
                RunEvent::WaitingForInput => panic!("a batch run waits for nobody"),
                RunEvent::Stdout(b) => out.push_str(&text(&b)),
                RunEvent::Exit(o) => break o,
                _ => {}
            }
        };
        assert_eq!(outcome.exit.verdict, Verdict::Ok, "{outcome:?}");
        assert_eq!(out, "hey!\n");

        // A batch program that reads a stdin with nothing left gets EOF at once.
        let r = common::exec(&engine, "python", "input()\n", "").await;
        assert_eq!(r.outcome.exit.verdict, Verdict::RuntimeError);
        assert!(text(&r.stderr).contains("EOFError"), "{}", text(&r.stderr));

        let code = "import time\ntime.sleep(20)\n";
        let r = common::exec_limited(&engine, "python", code, limits(2_000, None)).await;
        let exit = &r.outcome.exit;
        assert_eq!(exit.verdict, Verdict::TimeLimit, "{exit:?}");
        assert!((2_000..6_000).contains(&exit.wall_ms), "{exit:?}");
    });
}
