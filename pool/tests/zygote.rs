//! The prestarted Python interpreter (zygote): a matching run uses it and behaves exactly as
//! `python3 main.py` would; a run that does not match starts a fresh interpreter; nothing a
//! run does to its interpreter reaches the next run.

mod common;

use common::{describe, exec, exec_limited, run, text};
use pool::{Engine, File, LimitOverrides, Verdict};
use std::time::Duration;

async fn engine() -> Engine {
    // One container, so consecutive runs share it and each finds the zygote its reset made.
    common::engine("zygote", &[("python", 1)]).await
}

/// The tests take turns, so that each one's pauses leave the zygote time to start.
static TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Prints how much older the interpreter is than the program file, in seconds: clearly
/// positive when the interpreter was started before the run wrote the file. The interpreter
/// is this process (zygote, plain start) or the fork server it was forked from: the oldest
/// `python3` process up the line.
const AGE_GAP: &str = r#"
import os, time
ticks = os.sysconf("SC_CLK_TCK")
def stat(pid):
    return open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
pid = os.getpid()
start = int(stat(pid)[19]) / ticks
while True:
    pid = int(stat(pid)[1])
    if pid <= 1 or not open(f"/proc/{pid}/comm").read().startswith("python"):
        break
    start = min(start, int(stat(pid)[19]) / ticks)
uptime = float(open("/proc/uptime").read().split()[0])
process_age = uptime - start
file_age = time.time() - os.path.getmtime(__file__)
print(round(process_age - file_age, 3))
"#;

async fn age_gap(engine: &Engine, limits: Option<LimitOverrides>) -> f64 {
    // Leave the reset's zygote time to start.
    tokio::time::sleep(Duration::from_millis(700)).await;
    let r = match limits {
        Some(l) => exec_limited(engine, "python", AGE_GAP, l).await,
        None => exec(engine, "python", AGE_GAP, "").await,
    };
    assert_eq!(r.outcome.exit.verdict, Verdict::Ok, "{}", describe(&r));
    text(&r.stdout).trim().parse().unwrap()
}

#[test]
fn default_runs_use_the_prestarted_interpreter_and_others_do_not() {
    run(async {
        let _turn = TURN.lock().await;
        let engine = engine().await;
        let gap = age_gap(&engine, None).await;
        assert!(
            gap > 0.3,
            "a default run should find a waiting interpreter (gap {gap})"
        );
        let limits = LimitOverrides {
            wall_ms: Some(7000),
            ..Default::default()
        };
        let gap = age_gap(&engine, Some(limits)).await;
        assert!(
            gap < 0.3,
            "a run with other limits starts its own interpreter (gap {gap})"
        );
        // And the zygote is back for the next default run.
        let gap = age_gap(&engine, None).await;
        assert!(gap > 0.3, "gap {gap}");
    });
}

#[test]
fn programs_see_what_plain_python_gives_them() {
    run(async {
        let _turn = TURN.lock().await;
        let engine = engine().await;
        let code = r#"
import sys, os
print(__name__, __file__, sys.argv, sys.path[0], os.getcwd())
print(input())
import helper
print(helper.VALUE)
raise ValueError("boom")
"#;
        let mut req = common::request("python", code, "typed\n");
        req.args = vec!["a".into(), "b c".into()];
        req.files.push(File {
            name: "helper.py".into(),
            content: "VALUE = 42\n".into(),
        });
        let r = engine.execute(req).await.unwrap();
        assert_eq!(
            r.outcome.exit.verdict,
            Verdict::RuntimeError,
            "{}",
            describe(&r)
        );
        assert_eq!(r.outcome.exit.exit_code, Some(1));
        assert_eq!(
            text(&r.stdout),
            "__main__ /workspace/main.py ['main.py', 'a', 'b c'] /workspace /workspace\ntyped\n42\n"
        );
        assert_eq!(
            text(&r.stderr),
            "Traceback (most recent call last):\n  File \"/workspace/main.py\", line 7, in <module>\n    raise ValueError(\"boom\")\nValueError: boom\n"
        );
        let r = exec(&engine, "python", "import sys\nsys.exit(3)", "").await;
        assert_eq!(r.outcome.exit.exit_code, Some(3), "{}", describe(&r));
        let r = exec(&engine, "python", "print('unclosed", "").await;
        assert_eq!(r.outcome.exit.exit_code, Some(1));
        assert!(text(&r.stderr).contains("SyntaxError"), "{}", describe(&r));
        assert!(!text(&r.stderr).contains("zygote"), "{}", describe(&r));
    });
}

#[test]
fn one_runs_interpreter_state_does_not_reach_the_next() {
    run(async {
        let _turn = TURN.lock().await;
        let engine = engine().await;
        let r = exec(
            &engine,
            "python",
            "import builtins, sys, threading, time\nbuiltins.LEAK = 1\nsys.modules['leak'] = 1\nthreading.Thread(target=time.sleep, args=(60,), daemon=True).start()\nprint('left')",
            "",
        )
        .await;
        assert_eq!(text(&r.stdout), "left\n");
        tokio::time::sleep(Duration::from_millis(500)).await;
        let r = exec(
            &engine,
            "python",
            "import builtins, sys, threading\nprint(hasattr(builtins, 'LEAK'), 'leak' in sys.modules, threading.active_count())",
            "",
        )
        .await;
        assert_eq!(text(&r.stdout), "False False 1\n", "{}", describe(&r));
    });
}

/// How a program ends (files it left open, destructors, atexit callbacks, threads still
/// running, `sys.exit` with a message, a closed stdout) is the same through the fork server,
/// which ends its child without freeing the interpreter, as in a fresh `python3 main.py`.
#[test]
fn programs_end_as_plain_python_ends_them() {
    // (program, stdout, stderr, exit code)
    const CASES: &[(&str, &str, &str, i32)] = &[
        (
            "out = open(1, 'w', closefd=False)\nout.write('left in the buffer\\n')\n",
            "left in the buffer\n",
            "",
            0,
        ),
        (
            "class Noisy:\n    def __del__(self):\n        print('destroyed')\nkept = Noisy()\nprint('end')\n",
            "end\ndestroyed\n",
            "",
            0,
        ),
        (
            "import atexit\natexit.register(print, 'at exit')\nprint('end')\n",
            "end\nat exit\n",
            "",
            0,
        ),
        (
            "import threading, time\ndef late():\n    time.sleep(0.3)\n    print('late')\nthreading.Thread(target=late).start()\nprint('main done')\n",
            "main done\nlate\n",
            "",
            0,
        ),
        // (A file left unflushed while a daemon thread runs is lost by `python3` and
        // flushed by the fork server: Python promises neither, so it is not compared.)
        ("import sys\nsys.exit('bad input')\n", "", "bad input\n", 1),
        ("import sys\nprint('x')\nsys.stdout.close()\n", "x\n", "", 0),
        (
            "import sys\nclass Later:\n    def __init__(self):\n        self.parts = []\n    def write(self, s):\n        self.parts.append(s)\n    def flush(self):\n        sys.__stdout__.write(''.join(self.parts))\n        sys.__stdout__.flush()\n        self.parts = []\nsys.stdout = Later()\nprint('kept until exit')\n",
            "kept until exit\n",
            "",
            0,
        ),
        ("import sys\nsys.exit(256 + 7)\n", "", "", 7),
    ];
    run(async {
        let _turn = TURN.lock().await;
        let engine = engine().await;
        // The fork server is there (and stays: resets do not end it).
        let gap = age_gap(&engine, None).await;
        assert!(gap > 0.3, "no fork server waiting (gap {gap})");
        let plain = LimitOverrides {
            wall_ms: Some(7000),
            ..Default::default()
        };
        for (code, stdout, stderr, status) in CASES {
            let forked = exec(&engine, "python", code, "").await;
            let fresh = exec_limited(&engine, "python", code, plain).await;
            for (way, r) in [("fork server", &forked), ("fresh python3", &fresh)] {
                let what = format!("{way} ran\n{code}\n{}", describe(r));
                assert_eq!(text(&r.stdout), *stdout, "{what}");
                assert_eq!(text(&r.stderr), *stderr, "{what}");
                assert_eq!(r.outcome.exit.exit_code, Some(*status), "{what}");
            }
        }
    });
}
