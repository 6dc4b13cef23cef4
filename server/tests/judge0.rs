//! The Judge0 CE-compatible API under /judge0: raw HTTP against a real server with real
//! containers, then the unmodified official Python SDK (`judge0` from PyPI).

mod common;

use common::*;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

async fn get_json(url: &str) -> (u16, Value) {
    let r = reqwest::get(url).await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// POSTs a submission with `wait=true` and all fields.
async fn run_waiting(s: &TestServer, body: Value) -> Value {
    let (status, _, sub) = post(&s.url("/judge0/submissions?wait=true&fields=*"), body).await;
    assert_eq!(status, 201, "{sub}");
    sub
}

/// Polls a token until its status is past Processing.
async fn poll(s: &TestServer, token: &str, query: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (status, sub) = get_json(&s.url(&format!("/judge0/submissions/{token}?{query}"))).await;
        assert_eq!(status, 200, "{sub}");
        if sub["status"]["id"].as_u64().unwrap() > 2 {
            return sub;
        }
        assert!(
            Instant::now() < deadline,
            "submission never finished: {sub}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[test]
fn info_routes_answer_in_judge0s_shapes() {
    let s = shared();
    rt().block_on(async {
        let (status, langs) = get_json(&s.url("/judge0/languages")).await;
        assert_eq!(status, 200);
        let ids: Vec<u64> = langs
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["id"].as_u64().unwrap())
            .collect();
        // The shared server has python, bash and c; others are not listed.
        for id in [71, 46, 50] {
            assert!(ids.contains(&id), "{langs}");
        }
        assert!(!ids.contains(&62), "{langs}");
        let py = langs
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["id"] == 71)
            .unwrap();
        assert!(py["name"].as_str().unwrap().starts_with("Python ("), "{py}");

        let (_, all) = get_json(&s.url("/judge0/languages/all")).await;
        assert!(
            all.as_array()
                .unwrap()
                .iter()
                .all(|l| l["is_archived"] == false),
            "{all}"
        );

        let (status, c) = get_json(&s.url("/judge0/languages/50")).await;
        assert_eq!(status, 200);
        assert_eq!(c["source_file"], "main.c");
        assert!(c["compile_cmd"].as_str().unwrap().starts_with("gcc"), "{c}");
        let (_, py) = get_json(&s.url("/judge0/languages/71")).await;
        assert!(py["compile_cmd"].is_null(), "{py}");
        for bad in ["999", "x"] {
            let (status, err) = get_json(&s.url(&format!("/judge0/languages/{bad}"))).await;
            assert_eq!(status, 404);
            assert!(err["error"].is_string(), "{err}");
        }

        let (_, statuses) = get_json(&s.url("/judge0/statuses")).await;
        let statuses = statuses.as_array().unwrap();
        assert_eq!(statuses.len(), 14);
        assert_eq!(statuses[0], json!({"id": 1, "description": "In Queue"}));
        assert_eq!(
            statuses[6],
            json!({"id": 7, "description": "Runtime Error (SIGSEGV)"})
        );
        assert_eq!(
            statuses[13],
            json!({"id": 14, "description": "Exec Format Error"})
        );

        let (_, about) = get_json(&s.url("/judge0/about")).await;
        assert_eq!(about["version"], "1.13.1");
        let (_, config) = get_json(&s.url("/judge0/config_info")).await;
        assert_eq!(config["max_submission_batch_size"], 20);
        assert_eq!(config["enable_wait_result"], true);
        assert!(
            config["max_cpu_time_limit"].as_f64().unwrap() > 0.0,
            "{config}"
        );
        let (status, workers) = get_json(&s.url("/judge0/workers")).await;
        assert_eq!(status, 200);
        assert_eq!(workers[0]["queue"], "1.13.1", "{workers}");
        assert!(workers[0]["available"].as_u64().unwrap() >= 1);
    });
}

#[test]
fn statuses_come_from_real_runs() {
    let s = shared();
    rt().block_on(async {
        let ok = run_waiting(
            s,
            json!({"source_code": "print(input() * 2)", "language_id": 71, "stdin": "ab", "expected_output": "abab  \n\n"}),
        )
        .await;
        assert_eq!(ok["status"], json!({"id": 3, "description": "Accepted"}), "{ok}");
        assert_eq!(ok["stdout"], "abab\n");
        assert_eq!(ok["exit_code"], 0);
        assert!(ok["stderr"].is_null() && ok["compile_output"].is_null() && ok["message"].is_null(), "{ok}");
        assert!(ok["time"].as_str().unwrap().parse::<f64>().is_ok(), "{ok}");
        assert!(ok["wall_time"].as_str().unwrap().parse::<f64>().unwrap() > 0.0, "{ok}");
        assert!(ok["memory"].as_u64().unwrap() > 0, "{ok}");
        assert_eq!(ok["language"]["id"], 71);
        assert_eq!(ok["stdin"], "ab");
        assert!(ok["created_at"].as_str().unwrap().ends_with('Z'), "{ok}");
        assert!(ok["finished_at"].is_string(), "{ok}");
        assert_eq!(ok["token"].as_str().unwrap().len(), 36);

        let wrong = run_waiting(
            s,
            json!({"source_code": "print(1)", "language_id": 71, "expected_output": "2"}),
        )
        .await;
        assert_eq!(wrong["status"]["id"], 4, "{wrong}");
        assert_eq!(wrong["status"]["description"], "Wrong Answer");

        let tle = run_waiting(
            s,
            json!({"source_code": "while True: pass", "language_id": 71, "cpu_time_limit": 0.5, "wall_time_limit": 2}),
        )
        .await;
        assert_eq!(tle["status"]["id"], 5, "{tle}");
        assert_eq!(tle["cpu_time_limit"], "0.5", "{tle}");

        let ce = run_waiting(s, json!({"source_code": "int main( {", "language_id": 50})).await;
        assert_eq!(ce["status"]["id"], 6, "{ce}");
        assert!(ce["compile_output"].as_str().unwrap().contains("error"), "{ce}");
        assert!(ce["time"].is_null() && ce["stdout"].is_null(), "{ce}");

        let segv = run_waiting(
            s,
            json!({"source_code": "int main(void){ volatile int *p = 0; return *p; }", "language_id": 50}),
        )
        .await;
        assert_eq!(segv["status"]["id"], 7, "{segv}");
        assert_eq!(segv["exit_signal"], 11, "{segv}");

        let fpe = run_waiting(
            s,
            json!({"source_code": "int main(void){ volatile int a = 7, z = 0; return a / z; }", "language_id": 50}),
        )
        .await;
        assert_eq!(fpe["status"]["id"], 9, "{fpe}");

        let abrt = run_waiting(
            s,
            json!({"source_code": "#include <stdlib.h>\nint main(void){ abort(); }", "language_id": 50}),
        )
        .await;
        assert_eq!(abrt["status"]["id"], 10, "{abrt}");

        let nzec = run_waiting(
            s,
            json!({"source_code": "import sys\nprint('x', file=sys.stderr)\nsys.exit(2)", "language_id": 71}),
        )
        .await;
        assert_eq!(nzec["status"], json!({"id": 11, "description": "Runtime Error (NZEC)"}), "{nzec}");
        assert_eq!(nzec["exit_code"], 2);
        assert_eq!(nzec["stderr"], "x\n");
        assert_eq!(nzec["message"], "Exited with error status 2");

        // redirect_stderr_to_stdout and command_line_arguments.
        let both = run_waiting(
            s,
            json!({"source_code": "echo \"$1|$2\"; echo e >&2", "language_id": 46,
                   "command_line_arguments": "'a b' c", "redirect_stderr_to_stdout": true}),
        )
        .await;
        assert_eq!(both["stdout"], "a b|c\ne\n", "{both}");
        assert!(both["stderr"].is_null(), "{both}");
    });
}

#[test]
fn base64_goes_both_ways() {
    let s = shared();
    rt().block_on(async {
        use base64::Engine as _;
        let b64 = |t: &str| base64::engine::general_purpose::STANDARD.encode(t);
        let long = "x".repeat(100);
        let (status, _, sub) = post(
            &s.url("/judge0/submissions?wait=true&base64_encoded=true&fields=stdout,stdin,source_code,status,message"),
            json!({"source_code": b64("import sys\nprint(input())\nsys.exit(1)"), "language_id": 71, "stdin": b64(&long)}),
        )
        .await;
        assert_eq!(status, 201, "{sub}");
        let unb64 = |v: &Value| {
            let text: String = v.as_str().unwrap().chars().filter(|c| *c != '\n').collect();
            String::from_utf8(base64::engine::general_purpose::STANDARD.decode(text).unwrap()).unwrap()
        };
        // Judge0 (Ruby's encode64) breaks lines every 60 characters.
        assert!(sub["stdout"].as_str().unwrap().contains('\n'), "{sub}");
        assert_eq!(unb64(&sub["stdout"]), format!("{long}\n"));
        assert_eq!(unb64(&sub["stdin"]), long);
        assert_eq!(unb64(&sub["message"]), "Exited with error status 1");
        assert_eq!(sub.as_object().unwrap().len(), 5, "only the fields asked for: {sub}");

        let (status, _, err) = post(
            &s.url("/judge0/submissions?base64_encoded=true"),
            json!({"source_code": "not base64!", "language_id": 71}),
        )
        .await;
        assert_eq!(status, 422, "{err}");
        assert!(err["source_code"][0].as_str().unwrap().contains("base64"), "{err}");
    });
}

#[test]
fn queued_submissions_are_polled_and_deleted() {
    let s = shared();
    rt().block_on(async {
        let (status, _, created) = post(
            &s.url("/judge0/submissions"),
            json!({"source_code": "echo later", "language_id": 46}),
        )
        .await;
        assert_eq!(status, 201, "{created}");
        assert_eq!(
            created.as_object().unwrap().len(),
            1,
            "only the token: {created}"
        );
        let token = created["token"].as_str().unwrap().to_string();
        let done = poll(s, &token, "").await;
        assert_eq!(done["status"]["id"], 3, "{done}");
        assert_eq!(done["stdout"], "later\n");
        // Default fields only.
        assert!(
            done.get("source_code").is_none() && done.get("token").is_some(),
            "{done}"
        );
        // The same row through our own API: one shared store.
        let (_, ours) = get_json(&s.url(&format!("/api/v1/submissions/{token}"))).await;
        assert_eq!(ours["status"], "finished", "{ours}");

        let (status, err) =
            get_json(&s.url(&format!("/judge0/submissions/{token}?fields=stdout,bogus"))).await;
        assert_eq!(status, 400);
        assert_eq!(err["error"], "invalid fields: [bogus]");

        let r = http()
            .delete(s.url(&format!("/judge0/submissions/{token}?fields=stdout")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let deleted: Value = r.json().await.unwrap();
        assert_eq!(
            deleted["stdout"], "bGF0ZXIK\n",
            "base64 is forced on delete: {deleted}"
        );
        let (status, _) = get_json(&s.url(&format!("/judge0/submissions/{token}"))).await;
        assert_eq!(status, 404);
        let (status, err) = get_json(&s.url("/judge0/submissions/not-a-token")).await;
        assert_eq!(status, 404, "{err}");
    });
}

#[test]
fn batches_create_and_read_several() {
    let s = shared();
    rt().block_on(async {
        let (status, _, created) = post(
            &s.url("/judge0/submissions/batch"),
            json!({"submissions": [
                {"source_code": "echo one", "language_id": 46},
                {"source_code": "print('two')", "language_id": 71},
                {"source_code": "x", "language_id": 9999},
            ]}),
        )
        .await;
        assert_eq!(status, 201, "{created}");
        let created = created.as_array().unwrap();
        assert!(
            created[2]["language_id"][0]
                .as_str()
                .unwrap()
                .contains("doesn't exist"),
            "{created:?}"
        );
        let tokens: Vec<&str> = created[..2]
            .iter()
            .map(|c| c["token"].as_str().unwrap())
            .collect();
        let unknown = "00000000-0000-4000-8000-000000000000";
        let url = s.url(&format!(
            "/judge0/submissions/batch?tokens={},{},{unknown}&fields=stdout,status_id",
            tokens[0], tokens[1]
        ));
        let deadline = Instant::now() + Duration::from_secs(60);
        let subs = loop {
            let (status, body) = get_json(&url).await;
            assert_eq!(status, 200, "{body}");
            let subs = body["submissions"].as_array().unwrap().clone();
            if subs[..2]
                .iter()
                .all(|s| s["status_id"].as_u64().unwrap() > 2)
            {
                break subs;
            }
            assert!(Instant::now() < deadline, "{body}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        assert_eq!(subs[0]["stdout"], "one\n");
        assert_eq!(subs[1]["stdout"], "two\n");
        assert!(subs[2].is_null());

        let many: Vec<Value> = (0..21)
            .map(|_| json!({"source_code": "true", "language_id": 46}))
            .collect();
        let (status, _, err) = post(
            &s.url("/judge0/submissions/batch"),
            json!({"submissions": many}),
        )
        .await;
        assert_eq!(status, 400);
        assert!(
            err["error"]
                .as_str()
                .unwrap()
                .contains("less than or equal to 20"),
            "{err}"
        );
        let (status, _, err) = post(
            &s.url("/judge0/submissions/batch"),
            json!({"submissions": []}),
        )
        .await;
        assert_eq!(status, 400, "{err}");
        let (status, err) = get_json(&s.url("/judge0/submissions/batch?tokens=")).await;
        assert_eq!(status, 400, "{err}");
        let (status, _, err) = post(
            &s.url("/judge0/submissions/batch"),
            json!({"submissions": [{"language_id": 46}]}),
        )
        .await;
        assert_eq!(status, 422, "{err}");
    });
}

#[test]
fn compiler_options_reach_the_compiler() {
    let s = shared();
    rt().block_on(async {
        let program = "#include <stdio.h>\nint main(void) { printf(\"%d %s\\n\", ANSWER, WHO); }\n";
        let sub = run_waiting(
            s,
            json!({"source_code": program, "language_id": 50,
                   "compiler_options": "-DANSWER=42 '-DWHO=\"judge zero\"'"}),
        )
        .await;
        assert_eq!(sub["status"]["id"], 3, "{sub}");
        assert_eq!(sub["stdout"], "42 judge zero\n", "{sub}");
        assert_eq!(
            sub["compiler_options"],
            "-DANSWER=42 '-DWHO=\"judge zero\"'"
        );
        // An option that makes the compiler fail is the program's compilation error.
        let sub = run_waiting(
            s,
            json!({"source_code": "int main(void) { int unused; return 0; }",
                   "language_id": 50, "compiler_options": "-Wall -Werror"}),
        )
        .await;
        assert_eq!(sub["status"]["id"], 6, "{sub}");
        assert!(
            sub["compile_output"].as_str().unwrap().contains("unused"),
            "{sub}"
        );
        // Our own API takes them as a list; a language without a compiler refuses them.
        let (status, _, result) = post(
            &s.url("/api/v1/runs"),
            json!({"language": "c", "code": program,
                   "compile_options": ["-DANSWER=7", "-DWHO=\"us\""]}),
        )
        .await;
        assert_eq!(status, 200, "{result}");
        assert_eq!(result["stdout"], "7 us\n", "{result}");
        let (status, _, err) = post(
            &s.url("/api/v1/runs"),
            json!({"language": "python", "code": "print(1)", "compile_options": ["-O"]}),
        )
        .await;
        assert_eq!(status, 400, "{err}");
        assert!(
            err["error"]["message"]
                .as_str()
                .unwrap()
                .contains("compile_options"),
            "{err}"
        );
    });
}

#[test]
fn several_runs_compile_once_and_average() {
    // A server of its own: the shared one compiles C for other tests at the same time, and
    // the compile counter below is per language.
    let server = start(config("srv-judge0-runs", &["c"]));
    let s = &server;
    rt().block_on(async {
        let program = "#include <stdio.h>\nint main(void) { int a, b; scanf(\"%d %d\", &a, &b); printf(\"%d\\n\", a + b); }\n";
        let before = c_compiles(s).await;
        let sub = run_waiting(
            s,
            json!({"source_code": program, "language_id": 50, "stdin": "2 3",
                   "expected_output": "5", "number_of_runs": 5}),
        )
        .await;
        assert_eq!(sub["status"]["id"], 3, "{sub}");
        assert_eq!(sub["stdout"], "5\n", "{sub}");
        assert_eq!(sub["number_of_runs"], 5, "{sub}");
        assert_eq!(sub["stdin"], "2 3", "{sub}");
        assert!(sub["time"].as_str().unwrap().parse::<f64>().is_ok(), "{sub}");
        assert!(sub["memory"].as_u64().unwrap() > 0, "{sub}");
        let deadline = Instant::now() + Duration::from_secs(10);
        while c_compiles(s).await < before + 1 {
            assert!(Instant::now() < deadline, "the compile metric never moved");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(c_compiles(s).await, before + 1, "five runs, one compilation");
        // A wrong answer stops the runs and reads as Judge0's Wrong Answer.
        let sub = run_waiting(
            s,
            json!({"source_code": program, "language_id": 50, "stdin": "2 3",
                   "expected_output": "6", "number_of_runs": 3}),
        )
        .await;
        assert_eq!(sub["status"]["id"], 4, "{sub}");
        let (status, _, err) = post(
            &s.url("/judge0/submissions"),
            json!({"source_code": program, "language_id": 50, "number_of_runs": 21}),
        )
        .await;
        assert_eq!(status, 422, "{err}");
        assert!(err["number_of_runs"][0].as_str().unwrap().contains("20"), "{err}");
    });
}

#[test]
fn a_batch_of_fifty_runs_to_the_end() {
    let mut cfg = config("srv-judge0-batch", &["python"]);
    cfg.judge0_max_batch = 50;
    let s = start(cfg);
    rt().block_on(async {
        let subs: Vec<Value> = (0..50)
            .map(|i| json!({"source_code": format!("print({i} * 2)"), "language_id": 71}))
            .collect();
        let (status, _, created) = post(
            &s.url("/judge0/submissions/batch"),
            json!({"submissions": subs}),
        )
        .await;
        assert_eq!(status, 201, "{created}");
        let tokens: Vec<String> = created
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["token"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(tokens.len(), 50);
        let url = s.url(&format!(
            "/judge0/submissions/batch?tokens={}&fields=stdout,status_id",
            tokens.join(",")
        ));
        let deadline = Instant::now() + Duration::from_secs(120);
        let subs = loop {
            let (status, body) = get_json(&url).await;
            assert_eq!(status, 200, "{body}");
            let subs = body["submissions"].as_array().unwrap().clone();
            if subs.iter().all(|s| s["status_id"].as_u64().unwrap() > 2) {
                break subs;
            }
            assert!(Instant::now() < deadline, "{body}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        for (i, sub) in subs.iter().enumerate() {
            assert_eq!(sub["status_id"], 3, "{i}: {sub}");
            assert_eq!(sub["stdout"], format!("{}\n", i * 2), "{i}: {sub}");
        }
        let (_, info) = get_json(&s.url("/judge0/config_info")).await;
        assert_eq!(info["max_submission_batch_size"], 50);
        let many: Vec<Value> = (0..51)
            .map(|_| json!({"source_code": "print(1)", "language_id": 71}))
            .collect();
        let (status, _, err) = post(
            &s.url("/judge0/submissions/batch"),
            json!({"submissions": many}),
        )
        .await;
        assert_eq!(status, 400, "{err}");
        assert!(err["error"].as_str().unwrap().contains("50"), "{err}");
    });
}

#[test]
fn bad_input_gets_judge0_shaped_errors() {
    let s = shared();
    rt().block_on(async {
        for (body, field, needle) in [
            (json!({"source_code": "x", "language_id": 1234}), "language_id", "doesn't exist"),
            (json!({"language_id": 71}), "source_code", "can't be blank"),
            (json!({"source_code": "", "language_id": 71}), "source_code", "can't be blank"),
            (json!({"source_code": "x"}), "language_id", "can't be blank"),
            (json!({"source_code": "x", "language_id": "abc"}), "language_id", "not a number"),
            (json!({"source_code": "x", "language_id": 50, "compiler_options": "-O".repeat(300)}), "compiler_options", "too long"),
            (json!({"source_code": "x", "language_id": 50, "number_of_runs": 0}), "number_of_runs", "greater than"),
            (json!({"source_code": "x", "language_id": 71, "memory_limit": 10}), "memory_limit", "greater than"),
            (json!({"source_code": "x", "language_id": 71, "enable_network": true}), "enable_network", "not allowed"),
            (json!({"source_code": ["x"], "language_id": 71}), "source_code", "string"),
        ] {
            let (status, _, err) = post(&s.url("/judge0/submissions?wait=true"), body.clone()).await;
            assert_eq!(status, 422, "{body} -> {err}");
            assert!(err[field][0].as_str().unwrap().contains(needle), "{body} -> {err}");
        }
        // Limits above ours are lowered to ours, not refused.
        let big = run_waiting(
            s,
            json!({"source_code": "echo ok", "language_id": 46, "cpu_time_limit": 9999, "wall_time_limit": 9999, "memory_limit": 99999999}),
        )
        .await;
        assert_eq!(big["status"]["id"], 3, "{big}");
        let max = &s.state.engine.config().max_limits;
        assert_eq!(big["memory_limit"], max.memory_mb * 1024, "{big}");

        let r = http()
            .post(s.url("/judge0/submissions"))
            .header("content-type", "application/json")
            .body("{not json")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400);
        let err: Value = r.json().await.unwrap();
        assert!(err["error"].is_string(), "{err}");
        let (status, _, err) = post(&s.url("/judge0/submissions"), json!([1, 2])).await;
        assert_eq!(status, 400, "{err}");
        assert!(err["error"].is_string(), "{err}");
    });
}

#[test]
fn x_auth_token_counts_as_an_api_key() {
    let mut cfg = config("srv-judge0-keys", &["bash"]);
    cfg.rate_limit.keys.insert(
        "k1".into(),
        server::config::KeyQuota {
            per_s: 100,
            burst: 100,
        },
    );
    let s = start(cfg);
    rt().block_on(async {
        let send = |token: &'static str| {
            http()
                .post(s.url("/judge0/submissions?wait=true"))
                .header("x-auth-token", token)
                .json(&json!({"source_code": "echo hi", "language_id": 46}))
                .send()
        };
        let ok = send("k1").await.unwrap();
        assert_eq!(ok.status(), 201);
        let bad = send("nope").await.unwrap();
        assert_eq!(bad.status(), 401);
        let err: Value = bad.json().await.unwrap();
        assert!(
            err["error"].as_str().unwrap().contains("X-Auth-Token"),
            "{err}"
        );
    });
}

/// A zip of `entries` (name, content), base64 as Judge0 wants `additional_files`.
fn zip_base64(entries: &[(&str, &str)]) -> String {
    use std::io::Write;
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default();
    for (name, content) in entries {
        w.start_file(*name, options).unwrap();
        w.write_all(content.as_bytes()).unwrap();
    }
    let bytes = w.finish().unwrap().into_inner();
    server::api::judge0::model::encode_base64(&bytes)
}

#[test]
fn additional_files_sit_beside_the_program() {
    let s = shared();
    rt().block_on(async {
        let files = zip_base64(&[
            ("helper.py", "def greet(name):\n    return 'hello ' + name\n"),
            ("data/words.txt", "warm\nrun\n"),
        ]);
        let code = "import helper\nwords = open('data/words.txt').read().split()\nprint(helper.greet(' '.join(words)))\n";
        let done = run_waiting(
            s,
            json!({"source_code": code, "language_id": 71, "additional_files": files}),
        )
        .await;
        assert_eq!(done["status"]["id"], 3, "{done}");
        assert_eq!(done["stdout"], "hello warm run\n", "{done}");
        assert_eq!(done["source_code"], code, "the program, not its files: {done}");

        for (files, needle) in [
            (zip_base64(&[("../evil", "x")]), ".."),
            (zip_base64(&[("/etc/evil", "x")]), "absolute"),
            (zip_base64(&[("main.py", "x")]), "program's own"),
            ("%%% not base64".to_string(), "base64"),
            (zip_base64(&[("a.txt", "x")])[..20].to_string(), "zip"),
        ] {
            let body = json!({"source_code": "print(1)", "language_id": 71, "additional_files": files});
            let (status, _, err) = post(&s.url("/judge0/submissions"), body).await;
            assert_eq!(status, 422, "{needle}: {err}");
            let message = err["additional_files"][0].as_str().unwrap_or_default();
            assert!(message.contains(needle), "{needle}: {err}");
        }
        let (_, config) = get_json(&s.url("/judge0/config_info")).await;
        assert_eq!(config["enable_additional_files"], true, "{config}");
        assert_eq!(config["enable_callbacks"], false, "no hosts allowed here: {config}");
        // No callback host is configured on the shared server.
        let body = json!({"source_code": "print(1)", "language_id": 71, "callback_url": "http://127.0.0.1:9/x"});
        let (status, _, err) = post(&s.url("/judge0/submissions"), body).await;
        assert_eq!(status, 422, "{err}");
        assert!(err["callback_url"][0].as_str().unwrap().contains("not allowed"), "{err}");
    });
}

/// A server on 127.0.0.1 that takes PUTs: the first answered 503 (to make the sender
/// retry), the next ones 200; every body received goes to the channel.
async fn callback_receiver() -> (
    std::net::SocketAddr,
    tokio::sync::mpsc::UnboundedReceiver<Value>,
) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let seen = Arc::new(AtomicUsize::new(0));
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::put(move |body: axum::Json<Value>| {
            let tx = tx.clone();
            let seen = seen.clone();
            async move {
                let _ = tx.send(body.0);
                if seen.fetch_add(1, Ordering::SeqCst) == 0 {
                    axum::http::StatusCode::SERVICE_UNAVAILABLE
                } else {
                    axum::http::StatusCode::OK
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (addr, rx)
}

async fn next_callback(rx: &mut tokio::sync::mpsc::UnboundedReceiver<Value>) -> Value {
    tokio::time::timeout(Duration::from_secs(60), rx.recv())
        .await
        .expect("a callback within 60 s")
        .unwrap()
}

#[test]
fn callbacks_put_the_finished_submission() {
    let mut cfg = config("srv-judge0-callbacks", &["bash"]);
    cfg.judge0_callback_hosts = vec!["127.0.0.1".into()];
    let s = start(cfg);
    rt().block_on(async {
        let (addr, mut received) = callback_receiver().await;
        let url = format!("http://{addr}/hook");
        let (status, _, created) = post(
            &s.url("/judge0/submissions?base64_encoded=true"),
            json!({"source_code": "ZWNobyBjYWxsZWQ=", "language_id": 46, "callback_url": url}),
        )
        .await;
        assert_eq!(status, 201, "{created}");
        let token = created["token"].as_str().unwrap().to_string();
        // Answered 503 first: the same body comes again.
        let first = next_callback(&mut received).await;
        let second = next_callback(&mut received).await;
        assert_eq!(first, second);
        assert_eq!(second["token"], token.as_str(), "{second}");
        assert_eq!(
            second["status"],
            json!({"id": 3, "description": "Accepted"}),
            "{second}"
        );
        assert_eq!(
            second["stdout"], "Y2FsbGVkCg==\n",
            "base64 as posted: {second}"
        );
        let (_, shown) =
            get_json(&s.url(&format!("/judge0/submissions/{token}?fields=callback_url"))).await;
        assert_eq!(shown["callback_url"], url.as_str());

        let (_, config) = get_json(&s.url("/judge0/config_info")).await;
        assert_eq!(config["enable_callbacks"], true, "{config}");
        for bad in [
            "http://example.com/hook",
            "ftp://127.0.0.1/hook",
            "not a url",
        ] {
            let body = json!({"source_code": "echo x", "language_id": 46, "callback_url": bad});
            let (status, _, err) = post(&s.url("/judge0/submissions?wait=true"), body).await;
            assert_eq!(status, 422, "{bad}: {err}");
            assert!(err["callback_url"][0].is_string(), "{bad}: {err}");
        }
    });
}

fn venv() -> PathBuf {
    PathBuf::from(
        std::env::var("WARMRUN_JUDGE0_VENV")
            .unwrap_or_else(|_| "/var/cache/warmrun-build/venv-judge0".into()),
    )
}

#[test]
fn the_official_python_sdk_works_unchanged() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/judge0-client");
    let python = venv().join("bin/python");
    assert!(
        python.is_file(),
        "no Judge0 SDK venv at {}: run `bash {}` first (scripts/test.sh does)",
        venv().display(),
        dir.join("setup.sh").display()
    );
    let s = shared();
    let out = std::process::Command::new(&python)
        .arg("check.py")
        .current_dir(&dir)
        .env("WARMRUN_URL", format!("http://{}", s.addr))
        .output()
        .expect("python runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("13 passed, 0 failed"), "{text}");
}
