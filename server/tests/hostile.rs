//! Hostile programs through the HTTP API, against real containers: they get their verdicts,
//! the well-behaved requests sent meanwhile get theirs, and the server stays ready.

mod common;

use common::*;
use futures_util::StreamExt;
use serde_json::json;
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;

async fn run(body: serde_json::Value) -> (u16, serde_json::Value) {
    let (status, _, body) = post(&shared().url("/api/v1/runs"), body).await;
    (status, body)
}

/// A fork bomb, a memory bomb, an output flood and a sleeper, all at once, with ten hello
/// worlds among them: each gets what it deserves, and /readyz is 200 afterwards.
#[test]
fn hostile_runs_beside_normal_ones() {
    shared();
    rt().block_on(async {
        let hostile = [
            (
                json!({"language": "bash", "code": "bomb() { bomb | bomb & }; bomb; sleep 60",
                       "limits": {"wall_ms": 3000, "cpu_ms": 2000}}),
                &["cpu_limit", "time_limit", "memory_limit"][..],
            ),
            (
                json!({"language": "python", "code": "a = []\nwhile True:\n    a.append(bytearray(1 << 20))",
                       "limits": {"memory_mb": 64}}),
                &["memory_limit"][..],
            ),
            (
                json!({"language": "c", "code": "#include <stdio.h>\nint main(void){for(;;)puts(\"flood\");}",
                       "limits": {"output_kb": 64}}),
                &["output_limit"][..],
            ),
            (
                json!({"language": "python", "code": "import time\ntime.sleep(600)",
                       "limits": {"wall_ms": 2000}}),
                &["time_limit"][..],
            ),
        ];
        let mut tasks = Vec::new();
        for (body, allowed) in hostile {
            tasks.push(tokio::spawn(async move {
                let (status, r) = run(body).await;
                assert_eq!(status, 200, "{r}");
                let v = r["verdict"].as_str().unwrap_or_default().to_string();
                assert!(allowed.contains(&v.as_str()), "{v} not in {allowed:?}: {r}");
            }));
        }
        for i in 0..10 {
            tasks.push(tokio::spawn(async move {
                let (status, r) = run(json!({"language": "bash", "code": format!("echo hello {i}")})).await;
                assert_eq!(status, 200, "{r}");
                assert_eq!(r["verdict"], "ok", "{r}");
                assert_eq!(r["stdout"], format!("hello {i}\n"));
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        let started = Instant::now();
        loop {
            let r = http().get(shared().url("/readyz")).send().await.unwrap();
            if r.status() == 200 {
                break;
            }
            let body = r.text().await.unwrap_or_default();
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "not ready again: {body}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    });
}

/// An output flood to a WebSocket client that does not read for a while: the run still ends
/// at the output limit (the server does not buffer without bound), and the client then gets
/// at most the limit and the exit frame.
#[test]
fn flood_to_a_client_that_does_not_read() {
    shared();
    rt().block_on(async {
        let mut ws = ws_connect(shared()).await;
        ws_send(
            &mut ws,
            json!({"type": "run", "language": "python",
                   "code": "import sys\nwhile True:\n    sys.stdout.write('y' * 4096)\n",
                   "limits": {"output_kb": 512}}),
        )
        .await;
        tokio::time::sleep(Duration::from_secs(3)).await;
        let mut bytes = 0usize;
        let exit = tokio::time::timeout(Duration::from_secs(30), async {
            while let Some(msg) = ws.next().await {
                let Ok(Message::Text(t)) = msg else { continue };
                let f: serde_json::Value = serde_json::from_str(&t).unwrap();
                match f["type"].as_str() {
                    Some("stdout") | Some("stderr") => bytes += f["data"].as_str().unwrap().len(),
                    Some("exit") | Some("error") => return f,
                    _ => {}
                }
            }
            panic!("socket closed without an exit frame");
        })
        .await
        .expect("the exit frame arrives");
        assert_eq!(exit["verdict"], "output_limit", "{exit}");
        assert!(bytes <= 512 * 1024, "{bytes} bytes");
    });
}

/// More arguments than the API takes are refused before any container is used.
#[test]
fn too_many_arguments_are_refused() {
    shared();
    rt().block_on(async {
        let args: Vec<String> = (0..65).map(|i| i.to_string()).collect();
        let (status, r) = run(json!({"language": "bash", "code": "echo $#", "args": args})).await;
        assert_eq!(status, 400, "{r}");
        let big = vec!["x".repeat(17 * 1024)];
        let (status, r) = run(json!({"language": "bash", "code": "echo $#", "args": big})).await;
        assert_eq!(status, 400, "{r}");
    });
}
