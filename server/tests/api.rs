//! The REST API against a real server and real containers.

mod common;

use common::*;
use serde_json::json;
use std::time::Duration;

#[test]
fn languages_list_the_catalog() {
    let s = shared();
    rt().block_on(async {
        let langs: serde_json::Value = reqwest::get(s.url("/api/v1/languages"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let ids: Vec<&str> = langs
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, ["python", "c", "bash"]);
        assert!(langs[0]["example"].as_str().unwrap().contains("input"));
        // The Examples menu: named programs per language, hello (the start program) first.
        for lang in langs.as_array().unwrap() {
            let examples = lang["examples"].as_array().unwrap();
            assert!(examples.len() >= 4, "{lang}");
            let ids: std::collections::HashSet<&str> =
                examples.iter().map(|e| e["id"].as_str().unwrap()).collect();
            assert_eq!(ids.len(), examples.len(), "unique ids: {lang}");
            assert!(!ids.contains(""), "{lang}");
            assert!(ids.contains("error"), "{lang}");
            assert_eq!(examples[0]["id"], "hello");
            assert_eq!(examples[0]["code"], lang["example"]);
            for e in examples {
                assert!(!e["name"].as_str().unwrap().is_empty(), "{e}");
                assert!(!e["code"].as_str().unwrap().is_empty(), "{e}");
            }
        }
    });
}

#[test]
fn run_answers_once_with_the_result() {
    let s = shared();
    rt().block_on(async {
        let (status, _, body) = post(
            &s.url("/api/v1/runs"),
            json!({"language": "python", "code": "print(input()[::-1])", "stdin": "abc\n"}),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["verdict"], "ok");
        assert_eq!(body["stdout"], "cba\n");
        assert_eq!(body["exit_code"], 0);
        assert!(body["compile"].is_null());
    });
}

#[test]
fn compiled_runs_report_their_compile_step() {
    let s = shared();
    rt().block_on(async {
        let (status, _, body) = post(
            &s.url("/api/v1/runs"),
            json!({"language": "c", "code": "int main(){ return 2 }"}),
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(body["verdict"], "compile_error");
        assert_eq!(body["compile"]["verdict"], "runtime_error");
        assert!(body["compile"]["stderr"].as_str().unwrap().contains("error"));
        let (_, _, ok) = post(
            &s.url("/api/v1/runs"),
            json!({"language": "c", "files": [{"name": "main.c", "content": "#include <stdio.h>\nint main(){puts(\"hi\");return 0;}"}]}),
        )
        .await;
        assert_eq!(ok["verdict"], "ok", "{ok}");
        assert_eq!(ok["stdout"], "hi\n");
        assert_eq!(ok["compile"]["verdict"], "ok");
    });
}

#[test]
fn submissions_are_polled_until_finished() {
    let s = shared();
    rt().block_on(async {
        let (status, _, body) = post(
            &s.url("/api/v1/submissions"),
            json!({"language": "bash", "code": "sleep 0.3; echo done"}),
        )
        .await;
        assert_eq!(status, 202);
        let id = body["id"].as_str().unwrap().to_string();
        let mut last = serde_json::Value::Null;
        for _ in 0..100 {
            last = reqwest::get(s.url(&format!("/api/v1/submissions/{id}")))
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            if last["status"] == "finished" {
                break;
            }
            assert!(["queued", "running"].contains(&last["status"].as_str().unwrap()));
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(last["status"], "finished", "{last}");
        assert_eq!(last["result"]["stdout"], "done\n");
        let missing =
            reqwest::get(s.url("/api/v1/submissions/00000000-0000-4000-8000-000000000000"))
                .await
                .unwrap();
        assert_eq!(missing.status(), 404);
        let bad = reqwest::get(s.url("/api/v1/submissions/nope"))
            .await
            .unwrap();
        assert_eq!(bad.status(), 400);
    });
}

#[test]
fn health_ready_openapi_and_metrics() {
    let s = shared();
    rt().block_on(async {
        assert_eq!(reqwest::get(s.url("/healthz")).await.unwrap().status(), 200);
        assert_eq!(reqwest::get(s.url("/readyz")).await.unwrap().status(), 200);
        let spec: serde_json::Value = reqwest::get(s.url("/api/v1/openapi.json"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(spec["openapi"], "3.0.3");
        // Every GET path the spec lists answers (no 404).
        for (path, item) in spec["paths"].as_object().unwrap() {
            if item.get("get").is_some() && !path.contains('{') && !path.ends_with("/ws") {
                let r = reqwest::get(s.url(path)).await.unwrap();
                assert_ne!(r.status(), 404, "{path}");
            }
        }
    });
}

fn metric(text: &str, name: &str, labels: &[&str]) -> f64 {
    text.lines()
        .filter(|l| l.starts_with(name) && labels.iter().all(|lab| l.contains(lab)))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[test]
fn metrics_move_when_runs_happen() {
    let s = shared();
    rt().block_on(async {
        let before = reqwest::get(s.url("/metrics"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let runs_before = metric(
            &before,
            "warmrun_runs_total",
            &["language=\"bash\"", "verdict=\"ok\""],
        );
        let (status, _, _) = post(
            &s.url("/api/v1/runs"),
            json!({"language": "bash", "code": "echo hi"}),
        )
        .await;
        assert_eq!(status, 200);
        let after = reqwest::get(s.url("/metrics"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let runs_after = metric(
            &after,
            "warmrun_runs_total",
            &["language=\"bash\"", "verdict=\"ok\""],
        );
        assert_eq!(runs_after, runs_before + 1.0);
        for name in [
            "warmrun_run_seconds_bucket",
            "warmrun_lease_seconds_bucket",
            "warmrun_pool_containers",
            "warmrun_queue_depth",
            "warmrun_http_requests_total",
            "warmrun_containers_created_total",
            "warmrun_ws_sessions",
        ] {
            assert!(after.contains(name), "{name} missing from /metrics");
        }
        assert!(
            metric(
                &after,
                "warmrun_http_requests_total",
                &["route=\"/api/v1/runs\"", "status=\"200\""]
            ) >= 1.0
        );
    });
}
