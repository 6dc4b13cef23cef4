//! Snippets and run statistics: the HTTP API against a real server (SQLite store in its own
//! temporary directory, real containers), and the store itself against SQLite and a real
//! PostgreSQL (`WARMRUN_TEST_DATABASE_URL`, from `scripts/start-postgres.sh`).

mod common;

use common::*;
use serde_json::{json, Value};
use server::config::ServerConfig;
use server::error::ApiError;
use server::snippets::{NewSnippet, Snippets};
use std::path::Path;

async fn get(url: &str) -> (u16, Value) {
    let r = reqwest::get(url).await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// Saves a snippet and checks the 201 answer; returns its id.
async fn save(s: &TestServer, body: Value) -> String {
    let r = http()
        .post(s.url("/api/v1/snippets"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 201);
    let location = r.headers()["location"].to_str().unwrap().to_string();
    let created: Value = r.json().await.unwrap();
    let id = created["id"].as_str().unwrap().to_string();
    assert_eq!(id.len(), 12, "{created}");
    assert!(id.bytes().all(|b| b.is_ascii_alphanumeric()), "{id}");
    assert_eq!(created["url"], format!("/s/{id}"));
    assert_eq!(location, format!("/api/v1/snippets/{id}"));
    assert_eq!(created.as_object().unwrap().len(), 2, "{created}");
    id
}

#[test]
fn snippets_round_trip() {
    let s = shared();
    rt().block_on(async {
        let id = save(
            s,
            json!({
                "language": "py",
                "code": "print(input()[::-1])\0",
                "stdin": "abc\n",
                "title": "  Reverse ✓  ",
                "output": {"verdict": "ok", "stdout": "cba\n", "stderr": "", "exit_code": 0}
            }),
        )
        .await;
        let (status, snip) = get(&s.url(&format!("/api/v1/snippets/{id}"))).await;
        assert_eq!(status, 200, "{snip}");
        assert_eq!(snip["id"], id.as_str());
        assert_eq!(snip["url"], format!("/s/{id}"));
        assert_eq!(
            snip["language"], "python",
            "aliases are stored as the catalog id"
        );
        assert_eq!(snip["code"], "print(input()[::-1])\0");
        assert!(snip["files"].is_null());
        assert_eq!(snip["stdin"], "abc\n");
        assert_eq!(snip["title"], "Reverse ✓");
        assert_eq!(
            snip["output"],
            json!({"verdict": "ok", "stdout": "cba\n", "stderr": "", "exit_code": 0})
        );
        let created = snip["created_at"].as_str().unwrap();
        assert!(
            created.len() == 24 && created.ends_with('Z') && created.as_bytes()[10] == b'T',
            "{created}"
        );

        // Files, no optional parts.
        let files = json!([
            {"name": "main.c", "content": "#include \"lib.h\"\nint main(){return f();}"},
            {"name": "lib.h", "content": "static int f(void){return 0;}"}
        ]);
        let id = save(s, json!({"language": "c", "files": files})).await;
        let (status, snip) = get(&s.url(&format!("/api/v1/snippets/{id}"))).await;
        assert_eq!(status, 200);
        assert_eq!(snip["files"], files);
        assert!(snip["code"].is_null());
        for k in ["stdin", "title", "output"] {
            assert!(snip[k].is_null(), "{k}: {snip}");
        }
    });
}

#[test]
fn snippets_are_immutable() {
    let s = shared();
    rt().block_on(async {
        let a = save(s, json!({"language": "bash", "code": "echo one"})).await;
        let b = save(s, json!({"language": "bash", "code": "echo one"})).await;
        let c = save(s, json!({"language": "bash", "code": "echo two"})).await;
        assert!(a != b && b != c && a != c);
        let (_, first) = get(&s.url(&format!("/api/v1/snippets/{a}"))).await;
        let (_, edited) = get(&s.url(&format!("/api/v1/snippets/{c}"))).await;
        assert_eq!(first["code"], "echo one");
        assert_eq!(edited["code"], "echo two");
        // Nothing changes a saved snippet.
        for method in [
            reqwest::Method::PUT,
            reqwest::Method::PATCH,
            reqwest::Method::DELETE,
        ] {
            let r = http()
                .request(method.clone(), s.url(&format!("/api/v1/snippets/{a}")))
                .json(&json!({"language": "bash", "code": "echo changed"}))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status().as_u16(), 405, "{method}");
        }
        let (_, again) = get(&s.url(&format!("/api/v1/snippets/{a}"))).await;
        assert_eq!(again, first);
    });
}

#[test]
fn unknown_and_malformed_ids() {
    let s = shared();
    rt().block_on(async {
        let (status, body) = get(&s.url("/api/v1/snippets/AAAAAAAAAAAA")).await;
        assert_eq!(status, 404, "{body}");
        assert_eq!(body["error"]["code"], "not_found");
        for bad in [
            "abc",
            "AAAAAAAAAAAAA",
            "AAAAAAAAAAA-",
            "AAAAAAAAAA%C3%A9",
            "%00AAAAAAAAAAA",
        ] {
            let (status, body) = get(&s.url(&format!("/api/v1/snippets/{bad}"))).await;
            assert_eq!(status, 400, "{bad}: {body}");
            assert_eq!(body["error"]["code"], "bad_request", "{bad}");
        }
    });
}

#[test]
fn invalid_snippets_are_refused() {
    let s = shared();
    rt().block_on(async {
        let url = s.url("/api/v1/snippets");
        let cases = [
            (json!({"language": "cobol", "code": "x"}), 400, "unknown_language"),
            (json!({"language": "bash"}), 400, "bad_request"),
            (json!({"language": "bash", "code": "x", "files": []}), 400, "bad_request"),
            (json!({"language": "bash", "files": []}), 400, "bad_request"),
            (
                json!({"language": "bash", "files": [{"name": "/etc/x", "content": ""}]}),
                400,
                "bad_request",
            ),
            (json!({"language": "bash", "code": "x", "title": "a".repeat(201)}), 400, "bad_request"),
            (
                json!({"language": "bash", "code": "x", "output": {"verdict": "fine"}}),
                400,
                "bad_request",
            ),
            (json!({"language": "bash", "code": "x", "public": true}), 422, "invalid_body"),
            (
                json!({"language": "bash", "code": "x", "output": {"verdict": "ok", "colour": 1}}),
                422,
                "invalid_body",
            ),
            // Code over the engine's limit (512 KiB).
            (json!({"language": "bash", "code": "#".repeat(512 * 1024 + 1)}), 413, "too_large"),
            // Stdin over the engine's limit (1 MiB), still under the body limit.
            (
                json!({"language": "bash", "code": "x", "stdin": "i".repeat(1024 * 1024 + 1)}),
                413,
                "too_large",
            ),
            // Each part fits, the whole is over max_snippet_bytes (1 MiB).
            (
                json!({"language": "bash", "code": "#".repeat(500 * 1024), "stdin": "i".repeat(300 * 1024),
                       "output": {"verdict": "ok", "stdout": "o".repeat(300 * 1024)}}),
                413,
                "too_large",
            ),
            // Over the HTTP body limit (2 MiB).
            (json!({"language": "bash", "code": "x", "stdin": "i".repeat(3 << 20)}), 413, "too_large"),
        ];
        for (body, want, code) in cases {
            let shown: String = body.to_string().chars().take(80).collect();
            let (status, _, answer) = post(&url, body).await;
            assert_eq!(status, want, "{shown}: {answer}");
            assert_eq!(answer["error"]["code"], code, "{shown}: {answer}");
        }
        let r = http()
            .post(&url)
            .body("{\"language\": ")
            .header("content-type", "application/json")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 400);
    });
}

/// Runs of `language` with `verdict` in a stats answer (0 when absent).
fn runs_of(stats: &Value, language: &str, verdict: &str) -> u64 {
    stats["languages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["language"] == language)
        .flat_map(|l| l["verdicts"].as_array().unwrap().iter())
        .filter(|v| v["verdict"] == verdict)
        .map(|v| v["runs"].as_u64().unwrap())
        .sum()
}

#[test]
fn stats_count_runs_of_every_api() {
    let s = shared();
    rt().block_on(async {
        s.state.snippets.flush().await;
        let (status, before) = get(&s.url("/api/v1/stats")).await;
        assert_eq!(status, 200, "{before}");

        // One run through each API: REST, submission, WebSocket, Piston.
        let (status, _, r) = post(
            &s.url("/api/v1/runs"),
            json!({"language": "bash", "code": "echo hi"}),
        )
        .await;
        assert_eq!((status, r["verdict"].as_str()), (200, Some("ok")), "{r}");
        let (status, _, r) = post(
            &s.url("/api/v1/runs"),
            json!({"language": "sh", "code": "exit 3"}),
        )
        .await;
        assert_eq!(
            (status, r["verdict"].as_str()),
            (200, Some("runtime_error")),
            "{r}"
        );
        let (status, _, sub) = post(
            &s.url("/api/v1/submissions"),
            json!({"language": "bash", "code": "echo sub"}),
        )
        .await;
        assert_eq!(status, 202);
        let sub_url = s.url(&format!(
            "/api/v1/submissions/{}",
            sub["id"].as_str().unwrap()
        ));
        for _ in 0..300 {
            let (_, b) = get(&sub_url).await;
            if b["status"] == "finished" {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        let mut ws = ws_connect(s).await;
        ws_send(&mut ws, run_frame("bash", "echo ws")).await;
        let (frames, out, _) = ws_until_exit(&mut ws).await;
        assert_eq!(out, "ws\n", "{frames:?}");
        let (status, _, p) = post(
            &s.url("/api/v2/execute"),
            json!({"language": "bash", "version": "*", "files": [{"content": "echo piston"}]}),
        )
        .await;
        assert_eq!(status, 200, "{p}");

        s.state.snippets.flush().await;
        let (status, after) = get(&s.url("/api/v1/stats")).await;
        assert_eq!(status, 200);
        // Only this test runs programs in this binary, so the counts move by exactly these.
        assert_eq!(
            runs_of(&after, "bash", "ok"),
            runs_of(&before, "bash", "ok") + 4,
            "{after}"
        );
        assert_eq!(
            runs_of(&after, "bash", "runtime_error"),
            runs_of(&before, "bash", "runtime_error") + 1
        );
        let total = after["total_runs"].as_u64().unwrap();
        assert_eq!(total, before["total_runs"].as_u64().unwrap() + 5);
        let shares: f64 = after["verdicts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["share"].as_f64().unwrap())
            .sum();
        assert!((shares - 1.0).abs() < 0.001, "{after}");
        let bash = after["languages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["language"] == "bash")
            .unwrap();
        assert!(bash["avg_wall_ms"].as_f64().unwrap() > 0.0, "{bash}");
        assert!(after["since"].as_str().unwrap().len() == 10);
        assert!(after["days"].is_null());

        let (status, today) = get(&s.url("/api/v1/stats?days=1")).await;
        assert_eq!(status, 200);
        assert_eq!(today["days"], 1);
        assert_eq!(today["total_runs"], after["total_runs"]);
        for bad in ["days=0", "days=x", "days=36501", "window=3"] {
            let (status, body) = get(&s.url(&format!("/api/v1/stats?{bad}"))).await;
            assert_eq!(status, 400, "{bad}: {body}");
        }
    });
}

// ---- The store itself, against SQLite and a real PostgreSQL.

fn catalog() -> pool::Catalog {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    pool::Catalog::load(&root.join("images/languages.toml")).unwrap()
}

fn new_snippet(v: Value) -> NewSnippet {
    serde_json::from_value(v).unwrap()
}

fn stats_runs(stats: &server::snippets::Stats, language: &str, verdict: &str) -> u64 {
    stats
        .languages
        .iter()
        .filter(|l| l.language == language)
        .flat_map(|l| l.verdicts.iter())
        .filter(|v| v.verdict == verdict)
        .map(|v| v.runs)
        .sum()
}

/// Save, load, immutability, unknown ids and statistics on one store.
async fn exercise_store(store: &Snippets) {
    let cat = catalog();
    let a = store
        .save(
            new_snippet(json!({"language": "python3", "code": "print('é\0')", "stdin": "x",
                "title": "t", "output": {"verdict": "runtime_error", "stderr": "boom", "exit_code": 1}})),
            &cat,
            1 << 20,
        )
        .await
        .unwrap();
    let b = store
        .save(
            new_snippet(
                json!({"language": "python", "files": [{"name": "", "content": "print(1)"}]}),
            ),
            &cat,
            1 << 20,
        )
        .await
        .unwrap();
    assert_ne!(a.id, b.id);
    let got = store.load(&a.id).await.unwrap();
    assert_eq!(got.language, "python");
    assert_eq!(got.code.as_deref(), Some("print('é\0')"));
    assert_eq!(got.stdin.as_deref(), Some("x"));
    assert_eq!(got.title.as_deref(), Some("t"));
    let out = got.output.unwrap();
    assert_eq!(
        (out.verdict.as_str(), out.stderr.as_str(), out.exit_code),
        ("runtime_error", "boom", Some(1))
    );
    let got = store.load(&b.id).await.unwrap();
    assert_eq!(got.files.unwrap()[0].content, "print(1)");
    assert!(got.code.is_none() && got.stdin.is_none() && got.output.is_none());
    // The store's errors become HTTP errors in one place (server::error).
    let status = |e: server::snippets::SnippetError| ApiError::from(e).status.as_u16();
    assert_eq!(status(store.load("zzzzzzzzzzzz").await.unwrap_err()), 404);
    assert_eq!(status(store.load("zz").await.unwrap_err()), 400);
    assert!(store.get("zzzzzzzzzzzz").await.unwrap().is_none());

    // Statistics, under a language name no other test uses.
    let lang = format!("test-{}", server::snippets::new_id());
    let before = store.stats(None).await.unwrap();
    assert_eq!(stats_runs(&before, &lang, "ok"), 0);
    for wall in [10, 20, 30] {
        store.record(&lang, pool::Verdict::Ok, wall);
    }
    store.record(&lang, pool::Verdict::TimeLimit, 1000);
    store.flush().await;
    // A second batch adds to the same rows.
    store.record(&lang, pool::Verdict::Ok, 40);
    store.flush().await;
    let after = store.stats(Some(1)).await.unwrap();
    let l = after.languages.iter().find(|l| l.language == lang).unwrap();
    assert_eq!(l.runs, 5);
    assert_eq!(l.avg_wall_ms, 220.0);
    assert_eq!(l.verdicts[0].verdict, "ok");
    assert_eq!((l.verdicts[0].runs, l.verdicts[0].share), (4, 0.8));
    assert_eq!(
        (l.verdicts[1].verdict.as_str(), l.verdicts[1].share),
        ("time_limit", 0.2)
    );
    let all = store.stats(None).await.unwrap();
    assert_eq!(all.total_runs, before.total_runs + 5);
}

fn store_config(database_url: Option<String>, data_dir: &Path) -> ServerConfig {
    ServerConfig {
        database_url,
        data_dir: data_dir.to_path_buf(),
        ..ServerConfig::default()
    }
}

#[test]
fn sqlite_store_is_created_and_migrated() {
    let dir = std::env::temp_dir().join(format!("warmrun-store-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    rt().block_on(async {
        // The default: {data_dir}/warmrun.db, directory created on first start.
        let data = dir.join("nested/data");
        let store = Snippets::open(&store_config(None, &data)).await.unwrap();
        assert!(data.join(server::snippets::SQLITE_FILE).exists());
        exercise_store(&store).await;
        store.close().await;
        // Reopening keeps the data and does not migrate again.
        let store = Snippets::open(&store_config(None, &data)).await.unwrap();
        assert!(store.stats(None).await.unwrap().total_runs >= 5);
        store.close().await;
        // An explicit sqlite: URL.
        let url = format!("sqlite://{}/explicit.db?mode=rwc", dir.display());
        let store = Snippets::open(&store_config(Some(url), &data))
            .await
            .unwrap();
        exercise_store(&store).await;
        store.close().await;
        // Unsupported schemes are refused with a clear message.
        let err = Snippets::open(&store_config(Some("mysql://x/y".into()), &data))
            .await
            .err()
            .unwrap();
        assert!(err.to_string().contains("database_url"), "{err}");
    });
    let _ = std::fs::remove_dir_all(&dir);
}

/// The PostgreSQL URL the tests use; scripts/test.sh starts a throwaway cluster for it.
fn postgres_url() -> String {
    match std::env::var("WARMRUN_TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => url,
        _ => panic!(
            "WARMRUN_TEST_DATABASE_URL is not set: the PostgreSQL tests need a real server. \
             Start a throwaway one with\n  \
             export WARMRUN_TEST_DATABASE_URL=$(bash scripts/start-postgres.sh --owner $$)\n\
             (scripts/test.sh does this)"
        ),
    }
}

#[test]
fn postgres_store() {
    let url = postgres_url();
    rt().block_on(async {
        let nowhere = Path::new("/nonexistent/not-used-with-postgres");
        let store = Snippets::open(&store_config(Some(url.clone()), nowhere))
            .await
            .unwrap();
        assert!(
            store.describe.starts_with("postgres "),
            "{}",
            store.describe
        );
        assert!(!store.describe.contains('@'));
        exercise_store(&store).await;
        store.close().await;
        // Migrations already applied: opening again is fine.
        let store = Snippets::open(&store_config(Some(url), nowhere))
            .await
            .unwrap();
        exercise_store(&store).await;
        store.close().await;
    });
}

#[test]
fn postgres_server() {
    let url = postgres_url();
    let mut cfg = config("srv-snippets-pg", &["bash"]);
    cfg.database_url = Some(url);
    let s = start(cfg);
    rt().block_on(async {
        assert!(s.state.snippets.describe.starts_with("postgres "));
        let id = save(
            &s,
            json!({"language": "bash", "code": "echo pg", "title": "on postgres"}),
        )
        .await;
        let (status, snip) = get(&s.url(&format!("/api/v1/snippets/{id}"))).await;
        assert_eq!(status, 200, "{snip}");
        assert_eq!(
            (snip["code"].as_str(), snip["title"].as_str()),
            (Some("echo pg"), Some("on postgres"))
        );
        let (status, missing) = get(&s.url("/api/v1/snippets/000000000000")).await;
        assert_eq!(status, 404, "{missing}");

        s.state.snippets.flush().await;
        let (_, before) = get(&s.url("/api/v1/stats")).await;
        let (status, _, r) = post(
            &s.url("/api/v1/runs"),
            json!({"language": "bash", "code": "echo pg"}),
        )
        .await;
        assert_eq!((status, r["stdout"].as_str()), (200, Some("pg\n")), "{r}");
        s.state.snippets.flush().await;
        let (status, after) = get(&s.url("/api/v1/stats")).await;
        assert_eq!(status, 200);
        // The store test shares this database but counts other language names.
        assert_eq!(
            runs_of(&after, "bash", "ok"),
            runs_of(&before, "bash", "ok") + 1,
            "{after}"
        );
    });
}
