//! The result cache, end to end on a real server with real containers: identical requests
//! are answered from the stored result (`cached: true`), anything that differs runs, runs
//! that hit a limit are never stored, and a client can opt out or (where allowed) in.

mod common;

use common::{config, post, rt, start, TestServer};
use serde_json::{json, Value};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Python cached for every request; any language when a request asks.
fn server() -> &'static TestServer {
    static S: OnceLock<TestServer> = OnceLock::new();
    S.get_or_init(|| {
        let mut cfg = config("srv-result-cache", &["python", "c"]);
        cfg.result_cache.languages = vec!["python".into()];
        cfg.result_cache.on_request = true;
        start(cfg)
    })
}

async fn run(s: &TestServer, body: Value) -> Value {
    let (status, _, result) = post(&s.url("/api/v1/runs"), body).await;
    assert_eq!(status, 200, "{result}");
    result
}

/// Repeats `body` until an answer comes from the cache (the store is written just after
/// the first answer, so the second request may come before it), failing after 30 s.
async fn until_cached(s: &TestServer, body: &Value) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let r = run(s, body.clone()).await;
        if r["cached"] == json!(true) {
            return r;
        }
        assert!(
            Instant::now() < deadline,
            "never answered from the cache: {r}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn cache_metric(s: &TestServer, outcome: &str) -> u64 {
    let text = reqwest::get(s.url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let line = format!("warmrun_result_cache_total{{outcome=\"{outcome}\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&line))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {line} in /metrics"))
}

const RANDOM: &str = "import random, sys\nprint(random.random(), sys.stdin.read())\n";

#[test]
fn an_identical_run_is_answered_from_the_store() {
    let s = server();
    rt().block_on(async {
        let body = json!({"language": "python", "code": RANDOM, "stdin": "a"});
        let first = run(s, body.clone()).await;
        assert_eq!(first["verdict"], "ok", "{first}");
        assert!(first.get("cached").is_none(), "{first}");
        let hits = cache_metric(s, "hit").await;
        let again = until_cached(s, &body).await;
        // The random number proves nothing ran: a run would print another one.
        assert_eq!(again["stdout"], first["stdout"]);
        assert_eq!(again["verdict"], "ok");
        assert!(cache_metric(s, "hit").await > hits);

        // Other input, other arguments or other limits: a run of its own.
        for changed in [
            json!({"language": "python", "code": RANDOM, "stdin": "b"}),
            json!({"language": "python", "code": RANDOM, "stdin": "a", "args": ["x"]}),
            json!({"language": "python", "code": RANDOM, "stdin": "a", "limits": {"wall_ms": 4000}}),
        ] {
            let r = run(s, changed.clone()).await;
            assert!(r.get("cached").is_none(), "{changed} → {r}");
            assert_ne!(r["stdout"], first["stdout"], "{changed}");
        }

        // `cache: false` always runs.
        let mut opt_out = body.clone();
        opt_out["cache"] = json!(false);
        let r = run(s, opt_out).await;
        assert!(r.get("cached").is_none(), "{r}");
        assert_ne!(r["stdout"], first["stdout"]);
    });
}

#[test]
fn runtime_and_compile_errors_are_stored_but_limits_are_not() {
    let s = server();
    rt().block_on(async {
        let failing = json!({"language": "python", "code": "import random\nraise SystemExit(str(random.random()))\n"});
        let first = run(s, failing.clone()).await;
        assert_eq!(first["verdict"], "runtime_error", "{first}");
        let again = until_cached(s, &failing).await;
        assert_eq!(again["stderr"], first["stderr"]);

        // A time limit depends on the machine's load: never stored.
        let slow = json!({
            "language": "python",
            "code": "import time\nwhile True: time.sleep(0.05)\n",
            "limits": {"wall_ms": 500}
        });
        for _ in 0..3 {
            let r = run(s, slow.clone()).await;
            assert_eq!(r["verdict"], "time_limit", "{r}");
            assert!(r.get("cached").is_none(), "{r}");
        }

        // C is not listed: cached only when the request asks.
        let c = json!({"language": "c", "code": "int main(void) { return syntax error; }"});
        let r = run(s, c.clone()).await;
        assert_eq!(r["verdict"], "compile_error", "{r}");
        let r = run(s, c.clone()).await;
        assert!(r.get("cached").is_none(), "{r}");
        let mut asked = c.clone();
        asked["cache"] = json!(true);
        run(s, asked.clone()).await;
        let again = until_cached(s, &asked).await;
        assert_eq!(again["verdict"], "compile_error");
    });
}

#[test]
fn a_bad_request_is_refused_as_without_the_cache() {
    let s = server();
    rt().block_on(async {
        let (status, _, body) = post(
            &s.url("/api/v1/runs"),
            json!({"language": "python", "code": "print(1)", "cache": "yes"}),
        )
        .await;
        assert_eq!(status, 422, "{body}");
        assert_eq!(body["error"]["code"], "invalid_body", "{body}");
        let (status, _, body) = post(
            &s.url("/api/v1/runs"),
            json!({"language": "nope", "code": "print(1)", "cache": true}),
        )
        .await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(body["error"]["code"], "unknown_language", "{body}");
    });
}
