//! Queue capacity and rate limits, each on a server of its own with tight settings.

mod common;

use common::*;
use serde_json::json;

#[test]
fn a_full_queue_answers_503_and_queued_sessions_see_their_position() {
    let mut cfg = config("srv-queue", &["bash"]);
    cfg.engine.queue_capacity = 1;
    cfg.engine.max_containers = 1;
    let s = start(cfg);
    rt().block_on(async {
        // Occupy the only container.
        let mut a = ws_connect(&s).await;
        ws_send(&mut a, run_frame("bash", "sleep 30")).await;
        ws_until_started(&mut a).await;
        // The next one queues at position 1.
        let mut b = ws_connect(&s).await;
        ws_send(&mut b, run_frame("bash", "echo b")).await;
        let q = ws_next(&mut b).await;
        assert_eq!(q, json!({"type": "queued", "position": 1}));
        // The queue is full now: HTTP gets 503 with Retry-After, a socket an error frame.
        let (status, headers, body) = post(
            &s.url("/api/v1/runs"),
            json!({"language": "bash", "code": "echo c"}),
        )
        .await;
        assert_eq!(status, 503, "{body}");
        assert_eq!(body["error"]["code"], "queue_full");
        assert!(headers.contains_key("retry-after"));
        let mut c = ws_connect(&s).await;
        ws_send(&mut c, run_frame("bash", "echo c")).await;
        assert_eq!(ws_next(&mut c).await["code"], "queue_full");
        // Freeing the container lets the queued session run.
        ws_send(&mut a, json!({"type": "kill"})).await;
        let (_, out, _) = ws_until_exit(&mut b).await;
        assert_eq!(out, "b\n");
    });
}

#[test]
fn rate_limits_answer_429_with_retry_after() {
    let mut cfg = config("srv-rate", &["bash"]);
    cfg.rate_limit.per_ip_per_s = 1;
    cfg.rate_limit.per_ip_burst = 2;
    cfg.rate_limit.keys.insert(
        "k1".into(),
        server::config::KeyQuota {
            per_s: 100,
            burst: 100,
        },
    );
    let s = start(cfg);
    rt().block_on(async {
        let mut statuses = Vec::new();
        let mut retry_after = None;
        for _ in 0..4 {
            let (status, headers, _) = post(
                &s.url("/api/v1/runs"),
                json!({"language": "bash", "code": "true"}),
            )
            .await;
            if status == 429 {
                retry_after = headers.get("retry-after").cloned();
            }
            statuses.push(status);
        }
        assert_eq!(&statuses[..2], &[200, 200], "{statuses:?}");
        assert!(statuses[2..].contains(&429), "{statuses:?}");
        assert!(retry_after.is_some());
        // A configured API key has its own, larger budget.
        let r = http()
            .post(s.url("/api/v1/runs"))
            .header("x-api-key", "k1")
            .json(&json!({"language": "bash", "code": "true"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let m = reqwest::get(s.url("/metrics"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(m.lines().any(
            |l| l.starts_with("warmrun_rate_limited_total{scope=\"ip\"}") && !l.ends_with(" 0")
        ));
    });
}
