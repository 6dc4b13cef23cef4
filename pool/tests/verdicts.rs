//! Every verdict tells the truth: each is provoked by a program that earns it, and the
//! container that served a misbehaving program keeps working.

mod common;

use common::{describe, exec, exec_limited, next_event, run, text};
use pool::{Engine, LimitOverrides, RunControl, RunEvent, Verdict};

const LANGS: &[(&str, usize)] = &[("python", 2), ("c", 1), ("rust", 1)];

async fn engine() -> Engine {
    common::engine("verdicts", LANGS).await
}

#[test]
fn ok_exit_zero() {
    run(async {
        let r = exec(&engine().await, "python", "print('fine')", "").await;
        assert_eq!(r.outcome.exit.verdict, Verdict::Ok, "{}", describe(&r));
        assert_eq!(r.outcome.exit.exit_code, Some(0));
        assert!(!r.outcome.exit.truncated);
    });
}

/// A busy loop exhausts its CPU time long before its (much larger) wall time.
#[test]
fn busy_loop_is_cpu_limit() {
    run(async {
        let limits = LimitOverrides {
            cpu_ms: Some(1000),
            wall_ms: Some(30_000),
            ..Default::default()
        };
        let r = exec_limited(&engine().await, "python", "while True:\n    pass\n", limits).await;
        let exit = &r.outcome.exit;
        assert_eq!(exit.verdict, Verdict::CpuLimit, "{}", describe(&r));
        assert!(exit.cpu_ms >= 900, "cpu {} ms", exit.cpu_ms);
        assert!(exit.wall_ms < 30_000, "stopped well before the wall limit");
    });
}

/// A sleeping program uses no CPU and is stopped at its wall time.
#[test]
fn sleep_is_time_limit() {
    run(async {
        let limits = LimitOverrides {
            wall_ms: Some(1000),
            ..Default::default()
        };
        let code = "import time\nprint('sleeping', flush=True)\ntime.sleep(60)\n";
        let r = exec_limited(&engine().await, "python", code, limits).await;
        let exit = &r.outcome.exit;
        assert_eq!(exit.verdict, Verdict::TimeLimit, "{}", describe(&r));
        assert!(exit.wall_ms >= 1000, "wall {} ms", exit.wall_ms);
        assert_eq!(
            text(&r.stdout),
            "sleeping\n",
            "output before the limit is kept"
        );
    });
}

/// Touching more memory than the container's cgroup allows gets the program OOM-killed;
/// the verdict comes from the kernel's oom_kill counter.
#[test]
fn memory_hog_is_memory_limit() {
    run(async {
        let limits = LimitOverrides {
            memory_mb: Some(64),
            ..Default::default()
        };
        let code = "chunks = []\nwhile True:\n    chunks.append(b'x' * (1 << 20))\n";
        let engine = engine().await;
        let r = exec_limited(&engine, "python", code, limits).await;
        let exit = &r.outcome.exit;
        assert_eq!(exit.verdict, Verdict::MemoryLimit, "{}", describe(&r));
        assert_eq!(exit.signal, Some(9), "the OOM killer sends SIGKILL");
        // The container got its default memory back and works.
        let r = exec(
            &engine,
            "python",
            "x = b'y' * (100 << 20)\nprint(len(x))",
            "",
        )
        .await;
        assert_eq!(r.outcome.exit.verdict, Verdict::Ok, "{}", describe(&r));
    });
}

/// Output past the limit is cut (streaming included) and the program stopped.
#[test]
fn output_flood_is_output_limit() {
    run(async {
        let limits = LimitOverrides {
            output_kb: Some(64),
            ..Default::default()
        };
        let code =
            "import sys\nline = 'x' * 1000 + '\\n'\nwhile True:\n    sys.stdout.write(line)\n";
        let r = exec_limited(&engine().await, "python", code, limits).await;
        let exit = &r.outcome.exit;
        assert_eq!(exit.verdict, Verdict::OutputLimit, "{:?}", exit);
        assert!(exit.truncated);
        let total = r.stdout.len() + r.stderr.len();
        assert_eq!(total, 64 * 1024, "output is capped at the limit exactly");
        assert!(r.stdout.iter().all(|&b| b == b'x' || b == b'\n'));
    });
}

/// Stderr counts towards the same cap.
#[test]
fn stderr_flood_is_output_limit() {
    run(async {
        let limits = LimitOverrides {
            output_kb: Some(16),
            ..Default::default()
        };
        let code = "import sys\nwhile True:\n    sys.stderr.write('e' * 100)\n";
        let r = exec_limited(&engine().await, "python", code, limits).await;
        assert_eq!(r.outcome.exit.verdict, Verdict::OutputLimit);
        assert!(r.outcome.exit.truncated);
        assert!(r.stdout.len() + r.stderr.len() <= 16 * 1024);
    });
}

/// A fork bomb hits the process limits and ends on a limit verdict; the same container
/// (same hostname) is reset and serves the next run.
///
/// Under gVisor (`WARMRUN_RUNTIME=runsc`) the sandbox kernel needs host memory and tasks per
/// guest process, so a fork bomb may take the whole sandbox down (OOM-killed, or its kernel
/// failing to start threads) rather than hit the guest's process limit: the run then ends
/// `internal_error` (the sandbox failed, not the program's verdict) or `memory_limit`, and the
/// pool replaces the container. What must hold either way: the run ends with a verdict of
/// that set in bounded time, a Python run beside it is unaffected, and the next C run works.
#[test]
fn fork_bomb_is_contained() {
    run(async {
        let engine = engine().await;
        let runsc = common::runtime_from_env() == pool::Runtime::Runsc;
        let bomb = r#"
#include <stdio.h>
#include <unistd.h>
int main(void) {
    char host[64] = "";
    gethostname(host, sizeof host);
    printf("%s\n", host);
    fflush(stdout);
    for (;;) fork();
}
"#;
        let limits = LimitOverrides {
            cpu_ms: Some(2000),
            wall_ms: Some(5000),
            ..Default::default()
        };
        let bystander = {
            let engine = engine.clone();
            tokio::spawn(async move { exec(&engine, "python", "print('beside')", "").await })
        };
        let started = std::time::Instant::now();
        let r = exec_limited(&engine, "c", bomb, limits).await;
        let exit = &r.outcome.exit;
        let mut allowed = vec![Verdict::CpuLimit, Verdict::TimeLimit, Verdict::MemoryLimit];
        if runsc {
            allowed.push(Verdict::InternalError);
        }
        assert!(allowed.contains(&exit.verdict), "{}", describe(&r));
        // Sanity bound: the wall limit plus the engine's own guard against a silent sandbox.
        assert!(
            started.elapsed() < std::time::Duration::from_secs(60),
            "{:?}: {}",
            started.elapsed(),
            describe(&r)
        );
        let beside = bystander.await.unwrap();
        assert_eq!(
            beside.outcome.exit.verdict,
            Verdict::Ok,
            "{}",
            describe(&beside)
        );
        assert_eq!(text(&beside.stdout), "beside\n");
        let host = text(&r.stdout)
            .lines()
            .next()
            .unwrap_or_default()
            .to_string();
        if !runsc {
            assert!(!host.is_empty(), "{}", describe(&r));
        }
        let after = r#"
#include <stdio.h>
#include <unistd.h>
int main(void) { char h[64] = ""; gethostname(h, sizeof h); printf("%s\n", h); return 0; }
"#;
        let r = exec(&engine, "c", after, "").await;
        assert_eq!(r.outcome.exit.verdict, Verdict::Ok, "{}", describe(&r));
        if !runsc {
            assert_eq!(
                text(&r.stdout).trim(),
                host,
                "the C pool (max 1) kept its container"
            );
        }
    });
}

/// A background process that keeps the program's stdout open does not keep the run going
/// after the program exits.
#[test]
fn background_process_does_not_hold_the_run() {
    run(async {
        let code = "import subprocess\nsubprocess.Popen(['sleep', '100'])\nprint('done')\n";
        let r = exec(&engine().await, "python", code, "").await;
        assert_eq!(r.outcome.exit.verdict, Verdict::Ok, "{}", describe(&r));
        assert_eq!(text(&r.stdout), "done\n");
        // Sanity bound only: the run ends when the program does, not after the sleep.
        assert!(r.outcome.exit.wall_ms < 20_000, "{:?}", r.outcome.exit);
    });
}

/// A main thread that exits while another thread runs on leaves a zombie group leader
/// with a live thread: the run still ends at its wall limit and the container serves again.
#[test]
fn exited_main_thread_with_live_thread_is_stopped() {
    run(async {
        let engine = engine().await;
        let code = r#"
import ctypes, threading, time
threading.Thread(target=lambda: time.sleep(600)).start()
print("main thread leaves", flush=True)
ctypes.CDLL(None).pthread_exit(None)
"#;
        let limits = LimitOverrides {
            wall_ms: Some(1500),
            ..Default::default()
        };
        let r = exec_limited(&engine, "python", code, limits).await;
        assert_eq!(
            r.outcome.exit.verdict,
            Verdict::TimeLimit,
            "{}",
            describe(&r)
        );
        let r = exec(&engine, "python", "print('next')", "").await;
        assert_eq!(r.outcome.exit.verdict, Verdict::Ok, "{}", describe(&r));
    });
}

#[test]
fn exit_3_is_runtime_error() {
    run(async {
        let code = "import sys\nprint('bye')\nsys.exit(3)\n";
        let r = exec(&engine().await, "python", code, "").await;
        let exit = &r.outcome.exit;
        assert_eq!(exit.verdict, Verdict::RuntimeError, "{}", describe(&r));
        assert_eq!(exit.exit_code, Some(3));
        assert_eq!(exit.signal, None);
        assert_eq!(text(&r.stdout), "bye\n");
    });
}

#[test]
fn uncaught_exception_is_runtime_error() {
    run(async {
        let r = exec(&engine().await, "python", "raise ValueError('boom')", "").await;
        assert_eq!(r.outcome.exit.verdict, Verdict::RuntimeError);
        assert_eq!(r.outcome.exit.exit_code, Some(1));
        assert!(
            text(&r.stderr).contains("ValueError: boom"),
            "{}",
            describe(&r)
        );
    });
}

#[test]
fn segfault_is_runtime_error_with_signal_11() {
    run(async {
        let code = "int main(void) { volatile int *p = 0; *p = 1; return 0; }\n";
        let r = exec(&engine().await, "c", code, "").await;
        let exit = &r.outcome.exit;
        assert_eq!(exit.verdict, Verdict::RuntimeError, "{}", describe(&r));
        assert_eq!(exit.signal, Some(11));
        assert_eq!(exit.exit_code, None);
    });
}

#[test]
fn c_compile_error() {
    run(async {
        let code = "int main(void) { return undeclared_thing; }\n";
        let r = exec(&engine().await, "c", code, "").await;
        assert_eq!(
            r.outcome.exit.verdict,
            Verdict::CompileError,
            "{}",
            describe(&r)
        );
        let compile = r.compile.as_ref().expect("a compile report");
        assert_eq!(compile.exit.verdict, Verdict::RuntimeError);
        assert_ne!(compile.exit.exit_code, Some(0));
        let msg = text(&compile.stderr);
        assert!(msg.contains("main.c:1"), "{msg}");
        assert!(
            msg.contains("undeclared_thing") && msg.contains("error"),
            "{msg}"
        );
        assert!(r.stdout.is_empty(), "the program did not run");
    });
}

#[test]
fn rust_compile_error() {
    run(async {
        let code = "fn main() {\n    let x: u32 = \"text\";\n}\n";
        let r = exec(&engine().await, "rust", code, "").await;
        assert_eq!(
            r.outcome.exit.verdict,
            Verdict::CompileError,
            "{}",
            describe(&r)
        );
        let msg = text(&r.compile.as_ref().expect("a compile report").stderr);
        assert!(msg.contains("error[E0308]: mismatched types"), "{msg}");
        assert!(msg.contains("main.rs:2"), "{msg}");
    });
}

/// A run stopped through its controls ends as killed, and the container serves again.
#[test]
fn kill_control_is_killed() {
    run(async {
        let engine = engine().await;
        let code = "import time\nprint('started', flush=True)\ntime.sleep(60)\n";
        let mut handle = engine
            .lease_and_start(common::request("python", code, ""), &mut |_| {})
            .await
            .unwrap();
        let mut out = String::new();
        let outcome = loop {
            match next_event(&mut handle.events).await {
                RunEvent::Stdout(b) => {
                    out.push_str(&text(&b));
                    if out == "started\n" {
                        handle.controls.send(RunControl::Kill).unwrap();
                    }
                }
                RunEvent::Exit(o) => break o,
                _ => {}
            }
        };
        assert_eq!(outcome.exit.verdict, Verdict::Killed, "{outcome:?}");
        assert_eq!(outcome.exit.signal, Some(9));
        assert!(outcome.exit.wall_ms < 30_000);
        let r = exec(&engine, "python", "print('again')", "").await;
        assert_eq!(r.outcome.exit.verdict, Verdict::Ok, "{}", describe(&r));
    });
}

/// Limits above the engine's maxima are refused before any container is leased.
#[test]
fn limits_out_of_range_are_refused() {
    run(async {
        let engine = engine().await;
        let mut req = common::request("python", "print(1)", "");
        req.limits.wall_ms = Some(10_000_000);
        let err = engine.execute(req).await.expect_err("refused");
        assert!(err.to_string().contains("wall_ms"), "{err}");
    });
}
