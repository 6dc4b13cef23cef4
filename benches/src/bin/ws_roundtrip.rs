//! WebSocket round trips through a real warmrun-server and real containers.
//!
//!   cargo run --release -p benches --bin ws_roundtrip [-- ITERATIONS]   (default 200)
//!
//! Starts its own release `warmrun-server` (needs `cargo build --release -p server`,
//! Docker, the images and the agent), opens one socket and measures, sequentially:
//! - `run` sent → `exit` received for bash `true` (the engine's own overhead: lease,
//!   agent, process start, exit report; the reset happens after the exit frame),
//! - the same for python `print(1)` (adds the interpreter's start),
//! - a stdin echo round trip on a running `cat` (`stdin` frame → `stdout` frame),
//! - and, for comparison, POST /api/v1/runs of bash `true` (a new TCP connection each).
//!   Prints p50/p90/p99/mean of each and their ratios.

#[path = "../ops_common.rs"]
mod ops_common;

use ops_common::*;
use serde_json::json;
use std::time::Instant;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let iters: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(200);
    raise_nofile(4096);
    let server = Server::start("benchws", "[rate_limit]\nper_ip_per_s = 0\n", None);
    let mut ws = ws_connect(&server.ws_url()).await;

    async fn timed_run(ws: &mut Ws, language: &str, code: &str) -> (f64, serde_json::Value) {
        let t = Instant::now();
        ws_send(
            ws,
            json!({"type": "run", "language": language, "code": code}),
        )
        .await;
        let exit = ws_until_exit(ws).await;
        (ms(t.elapsed()), exit)
    }

    // Warm up both languages' containers and the socket.
    for _ in 0..20 {
        timed_run(&mut ws, "bash", "true").await;
        timed_run(&mut ws, "python", "print(1)").await;
    }

    let mut runs = Vec::new();
    let mut wall = Vec::new();
    let mut leases = std::collections::BTreeMap::<String, usize>::new();
    for _ in 0..iters {
        let (t, exit) = timed_run(&mut ws, "bash", "true").await;
        assert_eq!(exit["verdict"], "ok", "{exit}");
        runs.push(t);
        wall.push(exit["wall_ms"].as_f64().unwrap_or(0.0));
        *leases
            .entry(exit["lease"].as_str().unwrap_or("?").into())
            .or_default() += 1;
    }
    let bash = stats(&mut runs);
    let bash_wall = stats(&mut wall);

    let mut runs = Vec::new();
    let mut wall = Vec::new();
    for _ in 0..iters {
        let (t, exit) = timed_run(&mut ws, "python", "print(1)").await;
        assert_eq!(exit["verdict"], "ok", "{exit}");
        runs.push(t);
        wall.push(exit["wall_ms"].as_f64().unwrap_or(0.0));
    }
    let py = stats(&mut runs);
    let py_wall = stats(&mut wall);

    // Stdin echo on a running cat.
    ws_send(
        &mut ws,
        json!({"type": "run", "language": "bash", "code": "exec cat"}),
    )
    .await;
    loop {
        if ws_next(&mut ws).await["type"] == "started" {
            break;
        }
    }
    let mut echo = Vec::new();
    for i in 0..iters + 20 {
        let line = format!("ping {i}\n");
        let t = Instant::now();
        ws_send(&mut ws, json!({"type": "stdin", "data": line})).await;
        let mut got = String::new();
        while !got.contains(&line) {
            let f = ws_next(&mut ws).await;
            match f["type"].as_str() {
                Some("stdout") => got.push_str(f["data"].as_str().unwrap_or("")),
                Some("exit") | Some("error") => panic!("cat ended: {f}"),
                _ => {}
            }
        }
        if i >= 20 {
            echo.push(ms(t.elapsed()));
        }
    }
    ws_send(&mut ws, json!({"type": "eof"})).await;
    let exit = ws_until_exit(&mut ws).await;
    assert_eq!(exit["verdict"], "ok", "{exit}");
    let echo = stats(&mut echo);

    // REST for comparison (blocking client, one connection per request).
    let port = server.port;
    let rest = tokio::task::spawn_blocking(move || {
        let body = r#"{"language":"bash","code":"true"}"#;
        let mut v = Vec::new();
        for i in 0..iters + 20 {
            let t = Instant::now();
            let (status, text) = post_json(port, "/api/v1/runs", body).expect("POST");
            assert_eq!(status, 200, "{text}");
            if i >= 20 {
                v.push(ms(t.elapsed()));
            }
        }
        v
    })
    .await
    .expect("rest");
    let rest = stats(&mut rest.clone());

    println!(
        "WebSocket round trips, one socket, sequential (warmrun-server pid {}):",
        server.pid()
    );
    println!("  ws run bash `true`        {bash}");
    println!("     program wall (agent)   {bash_wall}   leases {leases:?}");
    println!("  ws run python print(1)    {py}");
    println!("     program wall (agent)   {py_wall}");
    println!("  ws stdin echo (cat)       {echo}");
    println!("  REST run bash `true`      {rest}");
    println!("ratios (p50):");
    println!(
        "  engine overhead of a run beyond the program (bash true: run − program wall): {:.2} ms",
        bash.p50 - bash_wall.p50
    );
    println!(
        "  python / bash run            {:.2}x  ({:+.2} ms: the interpreter's start)",
        py.p50 / bash.p50,
        py.p50 - bash.p50
    );
    println!(
        "  bash run / stdin echo        {:.2}x  (a run costs {:.2} ms more than a bare round trip)",
        bash.p50 / echo.p50,
        bash.p50 - echo.p50
    );
    println!("  REST / WS (bash true)        {:.2}x", rest.p50 / bash.p50);
    drop(ws);
    drop(server);
}
