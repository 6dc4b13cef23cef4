//! Piston API v2 compatibility: our own requests, then the unmodified npm `piston-client`.

mod common;

use common::*;
use serde_json::json;
use std::path::Path;

#[test]
fn runtimes_and_execute_answer_in_pistons_shape() {
    let s = shared();
    rt().block_on(async {
        let rts: serde_json::Value = reqwest::get(s.url("/api/v2/runtimes")).await.unwrap().json().await.unwrap();
        let py = rts.as_array().unwrap().iter().find(|r| r["language"] == "python").unwrap();
        assert!(py["aliases"].as_array().unwrap().iter().any(|a| a == "py"));
        let version = py["version"].as_str().unwrap().to_string();

        let (status, _, body) = post(
            &s.url("/api/v2/execute"),
            json!({"language": "py", "version": "3.x", "files": [{"name": "x.py", "content": "import sys, time\nprint(input(), sys.argv[1:])\ntime.sleep(0.05)  # two pipes: order only holds with a gap\nprint('e', file=sys.stderr)"}], "stdin": "hi", "args": ["a"]}),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["language"], "python");
        assert_eq!(body["version"], version);
        assert_eq!(body["run"]["stdout"], "hi ['a']\n");
        assert_eq!(body["run"]["stderr"], "e\n");
        assert_eq!(body["run"]["output"], "hi ['a']\ne\n");
        assert_eq!(body["run"]["code"], 0);
        assert!(body["run"]["signal"].is_null());
        assert!(body.get("compile").is_none());

        let (_, _, b64) = post(
            &s.url("/api/v2/execute"),
            json!({"language": "bash", "version": "*", "files": [{"content": "ZWNobyBiNjQ=", "encoding": "base64"}]}),
        )
        .await;
        assert_eq!(b64["run"]["stdout"], "b64\n", "{b64}");

        let (_, _, segv) = post(
            &s.url("/api/v2/execute"),
            json!({"language": "c", "version": "*", "files": [{"content": "int main(){ int *p = 0; return *p; }"}]}),
        )
        .await;
        assert_eq!(segv["compile"]["code"], 0, "{segv}");
        assert_eq!(segv["run"]["signal"], "SIGSEGV", "{segv}");
        assert_eq!(segv["run"]["status"], "SG");

        for (body, needle) in [
            (json!({"language": "python", "version": "2.7.0", "files": [{"content": "x"}]}), "runtime is unknown"),
            (json!({"language": "nope", "version": "*", "files": [{"content": "x"}]}), "runtime is unknown"),
            (json!({"language": "python", "version": "*", "files": []}), "at least one file"),
            (json!({"language": "python", "version": "*", "files": [{"content": "x"}], "run_timeout": 99999999}), "cannot exceed"),
            (json!({"language": "python", "version": "*", "files": [{"content": "!", "encoding": "hex"}]}), "hex"),
        ] {
            let (status, _, err) = post(&s.url("/api/v2/execute"), body).await;
            assert_eq!(status, 400, "{err}");
            assert!(err["message"].as_str().unwrap().contains(needle), "{err}");
        }
    });
}

#[test]
fn the_npm_piston_client_works_unchanged() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/piston-client");
    assert!(
        dir.join("node_modules/piston-client").is_dir(),
        "run `npm ci` in {} first (scripts/test.sh does)",
        dir.display()
    );
    let s = shared();
    let out = std::process::Command::new("node")
        .arg("check.mjs")
        .current_dir(&dir)
        .env("WARMRUN_URL", format!("http://{}", s.addr))
        .output()
        .expect("node runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("7 passed, 0 failed"), "{text}");
}
