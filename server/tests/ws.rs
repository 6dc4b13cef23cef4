//! Interactive sessions over WebSocket against real containers.

mod common;

use common::*;
use serde_json::json;
use std::time::Duration;

#[test]
fn a_session_answers_a_prompt() {
    let s = shared();
    rt().block_on(async {
        let mut ws = ws_connect(s).await;
        ws_send(
            &mut ws,
            run_frame("python", "name = input('Name? ')\nprint(f'Hello, {name}!')"),
        )
        .await;
        let mut seen = String::new();
        loop {
            let f = ws_next(&mut ws).await;
            match f["type"].as_str().unwrap() {
                "queued" | "started" | "waiting_for_input" => {}
                "stdout" => {
                    seen += f["data"].as_str().unwrap();
                    if seen.contains("Name? ") {
                        break;
                    }
                }
                other => panic!("unexpected {other}: {f}"),
            }
        }
        ws_send(&mut ws, json!({"type": "stdin", "data": "Ada\n"})).await;
        let (frames, out, _) = ws_until_exit(&mut ws).await;
        assert_eq!(out, "Hello, Ada!\n");
        let exit = frames.last().unwrap();
        assert_eq!(exit["type"], "exit");
        assert_eq!(exit["verdict"], "ok");
    });
}

/// Frames up to (and including) the first `waiting_for_input`, with the stdout before it.
async fn until_waiting(ws: &mut Ws) -> (Vec<serde_json::Value>, String) {
    let mut frames = Vec::new();
    let mut out = String::new();
    loop {
        let f = ws_next(ws).await;
        match f["type"].as_str().unwrap() {
            "queued" | "started" | "compile" => {}
            "stdout" => out += f["data"].as_str().unwrap(),
            "waiting_for_input" => {
                frames.push(f);
                return (frames, out);
            }
            other => panic!("unexpected {other} before waiting_for_input: {f} {frames:?}"),
        }
        frames.push(f);
    }
}

/// A program blocked on its empty stdin is announced with `waiting_for_input` (after its
/// prompt, once per wait), for Python's input(), Bash's read and C's getchar; a program that
/// sleeps never is. A wait past `limits.idle_ms` ends with `idle_limit`.
#[test]
fn waiting_for_input_is_announced_once_per_wait() {
    let s = shared();
    rt().block_on(async {
        let mut ws = ws_connect(s).await;
        let code = "a = input('a? ')\nb = input('b? ')\nprint(a + b)";
        ws_send(&mut ws, run_frame("python", code)).await;
        let (_, out) = until_waiting(&mut ws).await;
        assert_eq!(out, "a? ", "the prompt comes before the signal");
        // Thinking for a while announces nothing more.
        tokio::time::sleep(Duration::from_millis(1500)).await;
        ws_send(&mut ws, json!({"type": "stdin", "data": "x\n"})).await;
        let (frames, out) = until_waiting(&mut ws).await;
        assert_eq!(out, "b? ", "one signal per wait: {frames:?}");
        ws_send(&mut ws, json!({"type": "stdin", "data": "y\n"})).await;
        let (frames, out, _) = ws_until_exit(&mut ws).await;
        assert_eq!(out, "xy\n");
        assert!(
            !frames.iter().any(|f| f["type"] == "waiting_for_input"),
            "{frames:?}"
        );
        assert_eq!(frames.last().unwrap()["verdict"], "ok");

        for (lang, code, answer, expect) in [
            ("bash", "read -r name; echo \"hi $name\"", "Ada\n", "hi Ada\n"),
            (
                "c",
                "#include <stdio.h>\nint main(void) { int c = getchar(); printf(\"got %c\\n\", c); return 0; }",
                "Z\n",
                "got Z\n",
            ),
        ] {
            ws_send(&mut ws, run_frame(lang, code)).await;
            until_waiting(&mut ws).await;
            ws_send(&mut ws, json!({"type": "stdin", "data": answer})).await;
            let (frames, out, _) = ws_until_exit(&mut ws).await;
            assert_eq!(out, expect, "{lang}: {frames:?}");
            assert_eq!(frames.last().unwrap()["verdict"], "ok", "{lang}: {frames:?}");
        }

        ws_send(&mut ws, run_frame("bash", "sleep 2; echo done")).await;
        let (frames, out, _) = ws_until_exit(&mut ws).await;
        assert_eq!(out, "done\n");
        assert!(
            !frames.iter().any(|f| f["type"] == "waiting_for_input"),
            "sleeping is not waiting: {frames:?}"
        );

        ws_send(
            &mut ws,
            json!({"type": "run", "language": "python", "code": "input()", "limits": {"idle_ms": 2000}}),
        )
        .await;
        until_waiting(&mut ws).await;
        let (frames, _, _) = ws_until_exit(&mut ws).await;
        let exit = frames.last().unwrap();
        assert_eq!(exit["verdict"], "idle_limit", "{frames:?}");
    });
}

#[test]
fn two_runs_follow_each_other_on_one_socket() {
    let s = shared();
    rt().block_on(async {
        let mut ws = ws_connect(s).await;
        for i in 0..2 {
            ws_send(
                &mut ws,
                run_frame("bash", &format!("echo run {i}; echo oops >&2; exit {i}")),
            )
            .await;
            let (frames, out, err) = ws_until_exit(&mut ws).await;
            assert_eq!(out, format!("run {i}\n"));
            assert_eq!(err, "oops\n");
            let exit = frames.last().unwrap();
            assert_eq!(exit["exit_code"], i);
            assert_eq!(exit["verdict"], if i == 0 { "ok" } else { "runtime_error" });
        }
    });
}

#[test]
fn eof_kill_and_busy() {
    let s = shared();
    rt().block_on(async {
        let mut ws = ws_connect(s).await;
        ws_send(&mut ws, run_frame("bash", "cat; echo after-eof")).await;
        ws_until_started(&mut ws).await;
        ws_send(&mut ws, run_frame("bash", "echo second")).await;
        // `cat` waits for input at once: that frame may come first.
        let mut busy = ws_next(&mut ws).await;
        while busy["type"] == "waiting_for_input" {
            busy = ws_next(&mut ws).await;
        }
        assert_eq!(busy["code"], "busy");
        ws_send(&mut ws, json!({"type": "stdin", "data": "echo-me\n"})).await;
        ws_send(&mut ws, json!({"type": "eof"})).await;
        let (_, out, _) = ws_until_exit(&mut ws).await;
        assert_eq!(out, "echo-me\nafter-eof\n");
        ws_send(&mut ws, run_frame("bash", "while :; do :; done")).await;
        ws_until_started(&mut ws).await;
        ws_send(&mut ws, json!({"type": "kill"})).await;
        let (frames, _, _) = ws_until_exit(&mut ws).await;
        assert_eq!(frames.last().unwrap()["verdict"], "killed");
    });
}

#[test]
fn tty_runs_see_a_terminal() {
    let s = shared();
    rt().block_on(async {
        let mut ws = ws_connect(s).await;
        ws_send(
            &mut ws,
            json!({"type": "run", "language": "bash", "code": "test -t 0 && echo tty; stty size", "tty": true, "cols": 100, "rows": 30}),
        )
        .await;
        let (frames, out, _) = ws_until_exit(&mut ws).await;
        assert!(out.contains("tty"), "{frames:?}");
        assert!(out.contains("30 100"), "{out:?}");
    });
}

#[test]
fn closing_the_socket_mid_run_returns_a_clean_container() {
    let s = shared();
    rt().block_on(async {
        let mut ws = ws_connect(s).await;
        ws_send(&mut ws, run_frame("bash", "echo started; touch /tmp/left-behind; sleep 60")).await;
        loop {
            let f = ws_next(&mut ws).await;
            if f["type"] == "stdout" {
                break;
            }
        }
        drop(ws);
        // The container is reset and back: runs keep working and find nothing left.
        let mut clean = false;
        for _ in 0..50 {
            let (status, _, body) = post(
                &s.url("/api/v1/runs"),
                json!({"language": "bash", "code": "ls /tmp; cat /proc/[0-9]*/comm 2>/dev/null | grep -c sleep"}),
            )
            .await;
            assert_eq!(status, 200);
            assert!(!body["stdout"].as_str().unwrap().contains("left-behind"), "{body}");
            if body["stdout"].as_str().unwrap().trim() == "0" {
                clean = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(clean);
        // The last run's container is reset and returned after its exit frame was sent:
        // wait for the pool to show it back rather than expecting it at once.
        let deadline = std::time::Instant::now() + Duration::from_secs(15);
        loop {
            let status = s.state.engine.status();
            let bash = status.iter().find(|p| p.language == "bash").unwrap().clone();
            if bash.leased == 0 {
                break;
            }
            assert!(std::time::Instant::now() < deadline, "still leased: {bash:?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    });
}
