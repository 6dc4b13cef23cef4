//! Judge mode over HTTP: `tests` in `/api/v1/runs` and `/api/v1/submissions`, one
//! compilation per request (read from `/metrics`), and bad input answered with 4xx JSON.

mod common;

use common::*;
use serde_json::{json, Value};
use std::sync::OnceLock;
use std::time::Duration;

/// At most this many cases per run on the test server (the default is 100).
const MAX_TESTS: usize = 25;

/// Tests that read the compile counter take turns, so that none moves another's count.
static TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn server() -> &'static TestServer {
    static S: OnceLock<TestServer> = OnceLock::new();
    S.get_or_init(|| {
        let mut cfg = config(&format!("srv-judge-{}", std::process::id()), &["c"]);
        cfg.max_tests = MAX_TESTS;
        start(cfg)
    })
}

const SUM_C: &str = "#include <stdio.h>\nint main(void) { long a, b;\n  if (scanf(\"%ld %ld\", &a, &b) != 2) return 1;\n  printf(\"%ld\\n\", a + b); return 0; }\n";

/// Twenty cases, the one at `wrong` with an expected output the program does not print.
fn twenty_cases(wrong: usize) -> Value {
    let cases: Vec<Value> = (0..20)
        .map(|i| {
            let want = if i == wrong { 1 } else { 3 * i };
            json!({"stdin": format!("{i} {}\n", 2 * i), "expected_stdout": format!("{want}\n")})
        })
        .collect();
    json!({"language": "c", "code": SUM_C, "tests": cases})
}

fn assert_judged(result: &Value, wrong: usize) {
    assert_eq!(result["verdict"], "wrong_answer", "{result}");
    assert_eq!(result["compile"]["verdict"], "ok", "{result}");
    assert_eq!(result["stdout"], "");
    let tests = &result["tests"];
    assert_eq!(
        tests["summary"],
        json!({"passed": 19, "total": 20, "run": 20, "first_failure": wrong}),
        "{result}"
    );
    let cases = tests["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 20);
    for (i, c) in cases.iter().enumerate() {
        assert_eq!(c["index"], i);
        let want = if i == wrong {
            "wrong_answer"
        } else {
            "accepted"
        };
        assert_eq!(c["verdict"], want, "{c}");
        assert_eq!(c["stdout"], format!("{}\n", 3 * i));
        assert_eq!(c["exit_code"], 0);
        for field in ["wall_ms", "cpu_ms", "memory_kb"] {
            assert!(c[field].is_u64(), "{field} in {c}");
        }
    }
}

#[test]
fn a_run_with_twenty_cases_compiles_once() {
    let s = server();
    rt().block_on(async {
        let _turn = TURN.lock().await;
        let before = c_compiles(s).await;
        let (status, _, body) = post(&s.url("/api/v1/runs"), twenty_cases(7)).await;
        assert_eq!(status, 200, "{body}");
        assert_judged(&body, 7);
        assert_eq!(
            c_compiles(s).await,
            before + 1,
            "one compilation per request"
        );
    });
}

#[test]
fn a_submission_with_cases_is_judged_and_kept() {
    let s = server();
    rt().block_on(async {
        let _turn = TURN.lock().await;
        let before = c_compiles(s).await;
        let (status, _, body) = post(&s.url("/api/v1/submissions"), twenty_cases(11)).await;
        assert_eq!(status, 202, "{body}");
        let id = body["id"].as_str().unwrap().to_string();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
        let done = loop {
            let sub: Value = reqwest::get(s.url(&format!("/api/v1/submissions/{id}")))
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            if sub["status"] == "finished" {
                break sub;
            }
            assert_ne!(sub["status"], "failed", "{sub}");
            assert!(tokio::time::Instant::now() < deadline, "{sub}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        assert_judged(&done["result"], 11);
        assert_eq!(
            c_compiles(s).await,
            before + 1,
            "one compilation per submission"
        );
    });
}

#[test]
fn options_reach_the_judge() {
    let s = server();
    rt().block_on(async {
        let _turn = TURN.lock().await;
        let body = json!({
            "language": "c", "code": SUM_C,
            "tests": [
                {"stdin": "1 1", "expected_stdout": "2.0000001"},
                {"stdin": "x", "expected_stdout": "0"},
                {"stdin": "2 2", "expected_stdout": "4"}
            ],
            "comparison": {"mode": "numbers", "tolerance": 0.001},
            "stop_on_first_failure": true
        });
        let (status, _, r) = post(&s.url("/api/v1/runs"), body).await;
        assert_eq!(status, 200, "{r}");
        assert_eq!(r["verdict"], "runtime_error", "{r}");
        assert_eq!(
            r["tests"]["summary"],
            json!({"passed": 1, "total": 3, "run": 2, "first_failure": 1})
        );
        assert_eq!(r["tests"]["cases"][0]["verdict"], "accepted");
    });
}

#[test]
fn bad_judge_input_is_refused_with_json() {
    let s = server();
    rt().block_on(async {
        let many: Vec<Value> = (0..=MAX_TESTS).map(|_| json!({"stdin": "1 1"})).collect();
        let base = |extra: Value| {
            let mut body = json!({"language": "c", "code": SUM_C, "tests": [{"stdin": "1 1"}]});
            for (k, v) in extra.as_object().unwrap() {
                body[k] = v.clone();
            }
            body
        };
        let cases = [
            (base(json!({"tests": many})), 413, "too_many_tests"),
            (base(json!({"tests": []})), 400, "bad_request"),
            (base(json!({"stdin": "1 1"})), 400, "bad_request"),
            (
                base(json!({"comparison": {"mode": "numbers", "tolerance": -1}})),
                400,
                "bad_request",
            ),
            (
                json!({"language": "c", "code": SUM_C, "stop_on_first_failure": true}),
                400,
                "bad_request",
            ),
        ];
        for path in ["/api/v1/runs", "/api/v1/submissions"] {
            for (body, want, code) in &cases {
                let (status, _, answer) = post(&s.url(path), body.clone()).await;
                assert_eq!(status, *want, "{path}: {answer}");
                assert_eq!(answer["error"]["code"], *code, "{path}: {answer}");
                assert!(answer["error"]["message"].is_string());
            }
            // Unknown comparison modes and unknown fields of a case are not a run at all.
            for body in [
                base(json!({"comparison": {"mode": "fuzzy"}})),
                base(json!({"tests": [{"stdin": "1", "expected": "2"}]})),
            ] {
                let (status, _, answer) = post(&s.url(path), body).await;
                assert_eq!(status, 422, "{path}: {answer}");
                assert_eq!(answer["error"]["code"], "invalid_body", "{answer}");
            }
        }
        // Interactive sessions do not take tests.
        let mut ws = ws_connect(s).await;
        let mut frame = run_frame("c", SUM_C);
        frame["tests"] = json!([{"stdin": "1 1"}]);
        ws_send(&mut ws, frame).await;
        let answer = ws_next(&mut ws).await;
        assert_eq!(answer["type"], "error", "{answer}");
    });
}
