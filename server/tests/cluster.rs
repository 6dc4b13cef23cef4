//! Several engine nodes (issue 17), with real servers, real containers and a real
//! PostgreSQL (`WARMRUN_TEST_DATABASE_URL`, from `scripts/start-postgres.sh`): the node
//! header, submissions shared and claimed across nodes, a node killed mid-run, draining,
//! and readiness under saturation.

mod common;

use common::*;
use futures_util::StreamExt;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::process::Child;
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;

/// The PostgreSQL server the tests use; scripts/test.sh starts a throwaway one.
fn postgres_url() -> String {
    match std::env::var("WARMRUN_TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => url,
        _ => panic!(
            "WARMRUN_TEST_DATABASE_URL is not set: the cluster tests need a real PostgreSQL. \
             Start a throwaway one with\n  \
             export WARMRUN_TEST_DATABASE_URL=$(bash scripts/start-postgres.sh --owner $$)"
        ),
    }
}

/// A new empty database on the test server, so that each test's nodes only see their own
/// submissions and heartbeats.
async fn fresh_database(name: &str) -> String {
    use sqlx::Connection;
    let url = postgres_url();
    let db = format!("warmrun_{name}_{}", std::process::id());
    let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
    sqlx::query(&format!("DROP DATABASE IF EXISTS {db}"))
        .execute(&mut conn)
        .await
        .unwrap();
    sqlx::query(&format!("CREATE DATABASE {db}"))
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    let (server, _) = url.rsplit_once('/').unwrap();
    format!("{server}/{db}")
}

/// A test server's settings as a node of a cluster on `database_url`.
fn node_config(
    node: &str,
    langs: &[&str],
    database_url: Option<&str>,
) -> server::config::ServerConfig {
    let mut cfg = config(&format!("srv-cluster-{node}"), langs);
    cfg.node_id = node.to_string();
    cfg.database_url = database_url.map(str::to_string);
    cfg.heartbeat_ms = 500;
    cfg.node_dead_after_ms = 3_000;
    cfg
}

async fn get_json(url: &str) -> (u16, reqwest::header::HeaderMap, Value) {
    let r = http().get(url).send().await.unwrap();
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    (status, headers, r.json().await.unwrap_or(Value::Null))
}

fn node_of(headers: &reqwest::header::HeaderMap) -> Option<&str> {
    headers.get("x-warmrun-node").and_then(|v| v.to_str().ok())
}

/// Polls a submission on `s` until it is finished or failed (up to `within`).
async fn wait_done(s: &TestServer, id: &str, within: Duration) -> Value {
    let started = Instant::now();
    loop {
        let (status, _, body) = get_json(&s.url(&format!("/api/v1/submissions/{id}"))).await;
        assert_eq!(status, 200, "{body}");
        if matches!(body["status"].as_str(), Some("finished") | Some("failed")) {
            return body;
        }
        assert!(
            started.elapsed() < within,
            "submission {id} not done within {within:?}: {body}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[test]
fn every_response_names_the_node() {
    let s = start(node_config("hdr-node", &["bash"], None));
    rt().block_on(async {
        let (status, headers, ready) = get_json(&s.url("/readyz")).await;
        assert_eq!(status, 200, "{ready}");
        assert_eq!(node_of(&headers), Some("hdr-node"));
        assert_eq!(ready["node"], "hdr-node");
        assert_eq!(ready["draining"], false);
        assert_eq!(ready["ready"], true);
        assert!(ready["pools"].is_array(), "{ready}");

        let (status, headers, _) = get_json(&s.url("/no/such/route")).await;
        assert_eq!(status, 404);
        assert_eq!(node_of(&headers), Some("hdr-node"));
        let bad = http().delete(s.url("/api/v1/runs")).send().await.unwrap();
        assert_eq!(bad.status(), 405);
        assert_eq!(node_of(bad.headers()), Some("hdr-node"));
        let (status, headers, _) = post(
            &s.url("/api/v1/runs"),
            json!({"language": "bash", "code": "echo hi"}),
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(node_of(&headers), Some("hdr-node"));

        let (mut ws, resp) = tokio_tungstenite::connect_async(format!("ws://{}/api/v1/ws", s.addr))
            .await
            .unwrap();
        assert_eq!(resp.status(), 101);
        assert_eq!(
            resp.headers()
                .get("x-warmrun-node")
                .and_then(|v| v.to_str().ok()),
            Some("hdr-node")
        );
        ws_send(&mut ws, run_frame("bash", "echo ws")).await;
        let (_, out, _) = ws_until_exit(&mut ws).await;
        assert_eq!(out, "ws\n");

        // A single node on SQLite lists itself.
        let (status, _, nodes) = get_json(&s.url("/api/v1/nodes")).await;
        assert_eq!(status, 200, "{nodes}");
        assert_eq!(nodes["nodes"][0]["id"], "hdr-node", "{nodes}");
    });
}

/// Two nodes on one PostgreSQL: a submission posted to one is read from the other, and 40
/// posted to one are run by both.
#[test]
fn submissions_are_shared_and_claimed_by_every_node() {
    let url = rt().block_on(fresh_database("shared"));
    let mut a = node_config("node-a", &["bash"], Some(&url));
    let mut b = node_config("node-b", &["bash"], Some(&url));
    a.submission_workers = Some(2);
    b.submission_workers = Some(2);
    let a = start(a);
    let b = start(b);
    rt().block_on(async {
        let (status, _, nodes) = get_json(&b.url("/api/v1/nodes")).await;
        assert_eq!(status, 200);
        let ids: Vec<&str> = nodes["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, ["node-a", "node-b"], "{nodes}");

        let (status, headers, created) = post(
            &a.url("/api/v1/submissions"),
            json!({"language": "bash", "code": "echo shared"}),
        )
        .await;
        assert_eq!(status, 202, "{created}");
        assert_eq!(node_of(&headers), Some("node-a"));
        assert_eq!(created["status"], "queued");
        let id = created["id"].as_str().unwrap().to_string();
        let done = wait_done(&b, &id, Duration::from_secs(30)).await;
        assert_eq!(done["status"], "finished", "{done}");
        assert_eq!(done["result"]["stdout"], "shared\n", "{done}");
        assert_eq!(done["id"], id.as_str());
        // Unknown and malformed ids, on the node that did not take the POST.
        let (status, _, _) =
            get_json(&b.url("/api/v1/submissions/00000000-0000-4000-8000-000000000000")).await;
        assert_eq!(status, 404);
        let (status, _, _) = get_json(&b.url("/api/v1/submissions/nope")).await;
        assert_eq!(status, 400);

        let mut ids = Vec::new();
        for i in 0..40 {
            let (status, _, created) = post(
                &a.url("/api/v1/submissions"),
                json!({"language": "bash", "code": format!("sleep 0.3; echo {i}")}),
            )
            .await;
            assert_eq!(status, 202, "{created}");
            ids.push(created["id"].as_str().unwrap().to_string());
        }
        let mut by_node: BTreeMap<String, usize> = BTreeMap::new();
        for (i, id) in ids.iter().enumerate() {
            let done = wait_done(&b, id, Duration::from_secs(120)).await;
            assert_eq!(done["status"], "finished", "{done}");
            assert_eq!(done["result"]["stdout"], format!("{i}\n"), "{done}");
            *by_node
                .entry(done["node"].as_str().unwrap().to_string())
                .or_default() += 1;
        }
        eprintln!("40 submissions posted to node-a ran on: {by_node:?}");
        assert_eq!(by_node.len(), 2, "both nodes ran some: {by_node:?}");
        assert!(by_node.values().all(|&n| n >= 5), "{by_node:?}");
    });
}

#[test]
fn judge0_submissions_are_shared_across_nodes() {
    let url = rt().block_on(fresh_database("judge0"));
    // Names of their own: tests run in parallel, and a name is a catalog file and labels.
    let a = start(node_config("judge0-a", &["bash"], Some(&url)));
    let b = start(node_config("judge0-b", &["bash"], Some(&url)));
    rt().block_on(async {
        let (status, _, created) = post(
            &a.url("/judge0/submissions"),
            json!({"source_code": "echo queued", "language_id": 46}),
        )
        .await;
        assert_eq!(status, 201, "{created}");
        let queued = created["token"].as_str().unwrap().to_string();
        let (status, _, waited) = post(
            &b.url("/judge0/submissions?wait=true"),
            json!({"source_code": "echo waited", "language_id": 46}),
        )
        .await;
        assert_eq!(status, 201, "{waited}");
        assert_eq!(waited["stdout"], "waited\n", "{waited}");
        let waited = waited["token"].as_str().unwrap().to_string();
        // Each node answers for both, whichever ran them.
        let batch =
            format!("/judge0/submissions/batch?tokens={queued},{waited}&fields=stdout,status_id");
        let started = Instant::now();
        for s in [&b, &a] {
            loop {
                let (status, _, body) = get_json(&s.url(&batch)).await;
                assert_eq!(status, 200, "{body}");
                let subs = body["submissions"].as_array().unwrap();
                if subs.iter().all(|s| s["status_id"].as_u64() > Some(2)) {
                    assert_eq!(subs[0]["stdout"], "queued\n", "{body}");
                    assert_eq!(subs[1]["stdout"], "waited\n", "{body}");
                    break;
                }
                assert!(started.elapsed() < Duration::from_secs(30), "{body}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        let (status, _, workers) = get_json(&a.url("/judge0/workers")).await;
        assert_eq!(status, 200, "{workers}");
        let r = http()
            .delete(a.url(&format!("/judge0/submissions/{waited}")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let (status, _, _) = get_json(&b.url(&format!("/judge0/submissions/{waited}"))).await;
        assert_eq!(status, 404);
    });
}

/// The real binary as a node of the cluster on `database_url`.
fn spawn_node(node: &str, instance: &str, port: u16, database_url: &str) -> Child {
    let mut cmd = server_command(instance, &["python"], port);
    cmd.env("WARMRUN_NODE_ID", node)
        .env("DATABASE_URL", database_url)
        .env("WARMRUN_HEARTBEAT_MS", "500")
        .env("WARMRUN_NODE_DEAD_AFTER_MS", "3000");
    spawn_logged(cmd, node)
}

/// Removes the containers `instance` left (a SIGKILLed node cleans nothing up).
async fn remove_containers(instance: &str) {
    use bollard::query_parameters::{ListContainersOptionsBuilder, RemoveContainerOptionsBuilder};
    let docker = pool::connect_docker().await.unwrap();
    let filters = HashMap::from([(
        "label".to_string(),
        vec![format!("io.warmrun.instance={instance}")],
    )]);
    let list = docker
        .list_containers(Some(
            ListContainersOptionsBuilder::default()
                .all(true)
                .filters(&filters)
                .build(),
        ))
        .await
        .unwrap();
    for c in list {
        if let Some(id) = c.id {
            let _ = docker
                .remove_container(
                    &id,
                    Some(RemoveContainerOptionsBuilder::default().force(true).build()),
                )
                .await;
        }
    }
}

/// A node killed (SIGKILL) while running a submission: a surviving node fails it with
/// `node_lost` once the dead node's heartbeat is stale, instead of leaving it `running`.
#[test]
fn a_submission_whose_node_dies_mid_run_fails_with_node_lost() {
    let url = rt().block_on(fresh_database("lost"));
    let instance = format!("srv-cluster-victim-{}", std::process::id());
    let port = free_port();
    let mut victim = spawn_node("victim", &instance, port, &url);
    let victim_url = format!("http://127.0.0.1:{port}");
    let id = rt().block_on(async {
        let started = Instant::now();
        loop {
            if let Ok(r) = http().get(format!("{victim_url}/readyz")).send().await {
                if r.status() == 200 {
                    break;
                }
            }
            assert!(started.elapsed() < Duration::from_secs(120), "victim never ready");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let (status, _, created) = post(
            &format!("{victim_url}/api/v1/submissions"),
            json!({"language": "python", "code": "import time\nprint('started', flush=True)\ntime.sleep(60)"}),
        )
        .await;
        assert_eq!(status, 202, "{created}");
        let id = created["id"].as_str().unwrap().to_string();
        // Running on the victim (claimed there: nothing else is up yet).
        let started = Instant::now();
        loop {
            let (_, _, body) =
                get_json(&format!("{victim_url}/api/v1/submissions/{id}")).await;
            if body["status"] == "running" {
                assert_eq!(body["node"], "victim", "{body}");
                break;
            }
            assert_eq!(body["status"], "queued", "{body}");
            assert!(started.elapsed() < Duration::from_secs(30), "{body}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        id
    });
    let survivor = start(node_config("survivor", &["python"], Some(&url)));
    victim.kill().unwrap(); // SIGKILL: no drain, no clean-up, heartbeats stop
    victim.wait().unwrap();
    let killed = Instant::now();
    rt().block_on(async {
        let done = wait_done(&survivor, &id, Duration::from_secs(20)).await;
        let took = killed.elapsed();
        eprintln!("node_lost declared {took:?} after the kill (dead after 3 s)");
        assert_eq!(done["status"], "failed", "{done}");
        assert_eq!(done["error"]["code"], "node_lost", "{done}");
        assert_eq!(
            done["error"]["message"],
            "node victim stopped while running this submission"
        );
        assert!(
            took >= Duration::from_millis(2_000),
            "not before the node is stale: {took:?}"
        );
        // The survivor still runs new submissions.
        let (status, _, created) = post(
            &survivor.url("/api/v1/submissions"),
            json!({"language": "python", "code": "print('still here')"}),
        )
        .await;
        assert_eq!(status, 202);
        let done = wait_done(
            &survivor,
            created["id"].as_str().unwrap(),
            Duration::from_secs(30),
        )
        .await;
        assert_eq!(done["result"]["stdout"], "still here\n", "{done}");
        assert_eq!(done["node"], "survivor");
        let (_, _, nodes) = get_json(&survivor.url("/api/v1/nodes")).await;
        let ids: Vec<&str> = nodes["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, ["survivor"], "the dead node is not listed: {nodes}");
        remove_containers(&instance).await;
    });
}

/// SIGTERM-like drain: `/readyz` says 503 + draining at once, an idle session is told at
/// once, a session in the middle of a run gets its output and exit frame and only then
/// `shutting_down`, and the server ends leaving no container.
#[test]
fn draining_lets_a_running_session_finish() {
    let mut cfg = node_config("drainer", &["python"], None);
    cfg.drain_delay_ms = 500;
    cfg.shutdown_grace_ms = 20_000;
    let instance = cfg.engine.instance.clone();
    let (s, serving) = start_serving(cfg);
    rt().block_on(async {
        let mut busy = ws_connect(&s).await;
        let mut idle = ws_connect(&s).await;
        ws_send(
            &mut busy,
            run_frame(
                "python",
                "import time\ntime.sleep(2)\nprint('finished', flush=True)",
            ),
        )
        .await;
        ws_until_started(&mut busy).await;

        s.state.begin_drain();
        let (status, headers, ready) = get_json(&s.url("/readyz")).await;
        assert_eq!(status, 503, "{ready}");
        assert_eq!(ready["draining"], true, "{ready}");
        assert_eq!(ready["ready"], false);
        assert_eq!(ready["node"], "drainer");
        assert_eq!(node_of(&headers), Some("drainer"));

        let f = ws_next(&mut idle).await;
        assert_eq!(
            (f["type"].as_str(), f["code"].as_str()),
            (Some("error"), Some("shutting_down")),
            "{f}"
        );

        let (frames, out, _) = ws_until_exit(&mut busy).await;
        assert_eq!(out, "finished\n", "{frames:?}");
        let exit = frames.last().unwrap();
        assert_eq!(exit["type"], "exit", "{frames:?}");
        assert_eq!(exit["verdict"], "ok", "{exit}");
        let f = ws_next(&mut busy).await;
        assert_eq!(
            (f["type"].as_str(), f["code"].as_str()),
            (Some("error"), Some("shutting_down")),
            "{f}"
        );
        let end = tokio::time::timeout(Duration::from_secs(5), busy.next())
            .await
            .expect("the socket closes");
        assert!(
            matches!(end, None | Some(Ok(Message::Close(_))) | Some(Err(_))),
            "{end:?}"
        );

        let served = tokio::time::timeout(Duration::from_secs(30), serving)
            .await
            .expect("the server ends after the drain");
        served.unwrap().unwrap();
        assert!(
            http().get(s.url("/readyz")).send().await.is_err(),
            "no longer accepting connections"
        );
        let docker = pool::connect_docker().await.unwrap();
        let filters = HashMap::from([(
            "label".to_string(),
            vec![format!("io.warmrun.instance={instance}")],
        )]);
        let left = docker
            .list_containers(Some(
                bollard::query_parameters::ListContainersOptionsBuilder::default()
                    .all(true)
                    .filters(&filters)
                    .build(),
            ))
            .await
            .unwrap();
        assert!(
            left.is_empty(),
            "containers left after the drain: {}",
            left.len()
        );
    });
}

/// `/readyz` turns 503 while more runs wait for a container than `ready_max_queue`, and
/// back to 200 once the queue drains.
#[test]
fn readiness_follows_saturation() {
    let mut cfg = node_config("saturated", &["bash"], None);
    cfg.engine.max_containers = 1;
    cfg.ready_max_queue = 1;
    let s = start(cfg);
    rt().block_on(async {
        let runs: Vec<_> = (0..4)
            .map(|_| {
                let url = s.url("/api/v1/runs");
                tokio::spawn(async move {
                    post(
                        &url,
                        json!({"language": "bash", "code": "sleep 1.5; echo ok"}),
                    )
                    .await
                })
            })
            .collect();
        let started = Instant::now();
        let saturated = loop {
            let (status, _, ready) = get_json(&s.url("/readyz")).await;
            if status == 503 {
                break ready;
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "never saturated: {ready}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        let problems = saturated["problems"].to_string();
        assert!(problems.contains("saturated"), "{saturated}");
        assert!(problems.contains("ready_max_queue"), "{saturated}");
        assert_eq!(saturated["draining"], false);
        for r in runs {
            let (status, _, body) = r.await.unwrap();
            assert_eq!(status, 200, "{body}");
        }
        let started = Instant::now();
        loop {
            let (status, _, ready) = get_json(&s.url("/readyz")).await;
            if status == 200 {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "never ready again: {ready}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
}
