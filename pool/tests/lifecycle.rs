//! Containers come and go cleanly: one killed from outside is replaced, a crashed process's
//! containers are removed by the next start, and a shutdown leaves none behind. Each test
//! has engines of its own (own instance names), so they may run in any order.

mod common;

use common::{containers_of, describe, exec, next_event, run, text};
use pool::{Engine, PoolError, RunEvent, Verdict};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

/// Set in the environment of the helper process `crash_helper` runs as.
const HELPER_ENV: &str = "WARMRUN_TEST_CRASH_INSTANCE";

async fn python_engine(instance: &str, max: usize) -> Engine {
    common::start_engine(
        common::config(instance),
        common::catalog(&[("python", max)]),
    )
    .await
}

const HOSTNAME: &str = "import socket\nprint(socket.gethostname())\n";

/// `docker kill` on a pooled container: the pool notices, replaces it, and the next runs
/// work, on a new container.
#[test]
fn killed_container_is_replaced() {
    run(async {
        let instance = &common::instance("lifecycle-killed");
        let engine = python_engine(instance, 1).await;
        let mut host = text(&exec(&engine, "python", HOSTNAME, "").await.stdout);
        for round in 0..3 {
            let ids = containers_of(common::docker(&engine), instance).await;
            let id = ids
                .iter()
                .find(|id| id.starts_with(host.trim()))
                .unwrap_or_else(|| panic!("container {host} not among {ids:?}"));
            common::docker(&engine)
                .kill_container(id, None)
                .await
                .unwrap();
            // The pool notices the death (its agent link breaks) and removes the container;
            // until then a lease could still be handed the dying one.
            let killed = id.clone();
            common::wait_until("the killed container is removed", || async {
                !containers_of(common::docker(&engine), instance)
                    .await
                    .contains(&killed)
            })
            .await;
            let r = exec(&engine, "python", HOSTNAME, "").await;
            assert_eq!(
                r.outcome.exit.verdict,
                Verdict::Ok,
                "round {round}: {}",
                describe(&r)
            );
            let now = text(&r.stdout);
            assert_ne!(
                now, host,
                "round {round}: the killed container served again"
            );
            host = now;
        }
        engine.shutdown().await;
        assert!(containers_of(common::docker(&engine), instance)
            .await
            .is_empty());
    });
}

/// A client that goes away mid-run (drops its handle) stops the program; the container is
/// reset and serves the next run.
#[test]
fn dropped_handle_frees_the_container() {
    run(async {
        let instance = &common::instance("lifecycle-dropped");
        let engine = python_engine(instance, 1).await;
        let code = format!("{HOSTNAME}import time\ntime.sleep(60)\n");
        let mut handle = engine
            .lease_and_start(common::request("python", &code, ""), &mut |_| {})
            .await
            .unwrap();
        let mut host = String::new();
        while !host.ends_with('\n') {
            if let RunEvent::Stdout(b) = next_event(&mut handle.events).await {
                host.push_str(&text(&b));
            }
        }
        drop(handle);
        // The pool has one container: this run must get the same one, reset.
        let r = exec(&engine, "python", HOSTNAME, "").await;
        assert_eq!(r.outcome.exit.verdict, Verdict::Ok, "{}", describe(&r));
        assert_eq!(text(&r.stdout), host);
        engine.shutdown().await;
    });
}

/// Not a test of its own: the process that `restart_leaves_no_orphans` starts and SIGKILLs.
#[test]
#[ignore = "helper process of restart_leaves_no_orphans"]
fn crash_helper() {
    let Ok(instance) = std::env::var(HELPER_ENV) else {
        return;
    };
    run(async {
        let _engine = python_engine(&instance, 2).await;
        println!("READY");
        std::future::pending::<()>().await;
    });
}

/// A process that dies without shutting down (SIGKILL) leaves its containers; the next
/// start of the same instance removes them, and its own shutdown removes its own.
#[test]
fn restart_leaves_no_orphans() {
    let instance = &common::instance("lifecycle-crash");
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["crash_helper", "--exact", "--ignored", "--nocapture"])
        .env(HELPER_ENV, instance)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the helper process starts");
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let ready = stdout
        .lines()
        .map_while(Result::ok)
        .any(|l| l.trim() == "READY");
    assert!(ready, "the helper engine did not get ready");
    run(async {
        let docker = pool::connect_docker().await.unwrap();
        let left = containers_of(&docker, instance).await;
        assert!(!left.is_empty(), "the helper made containers");
        child.kill().unwrap(); // SIGKILL: no shutdown, no destructors
        child.wait().unwrap();
        let engine = python_engine(instance, 1).await;
        let now = containers_of(&docker, instance).await;
        let survivors: Vec<&String> = left.iter().filter(|id| now.contains(id)).collect();
        assert!(
            survivors.is_empty(),
            "orphans survived the restart: {survivors:?}"
        );
        let r = exec(&engine, "python", "print('after restart')", "").await;
        assert_eq!(r.outcome.exit.verdict, Verdict::Ok, "{}", describe(&r));
        engine.shutdown().await;
        let after = containers_of(&docker, instance).await;
        assert!(after.is_empty(), "left after shutdown: {after:?}");
    });
}

/// Shutdown with a run in progress: the run ends, no container of the instance remains,
/// and new runs are refused.
#[test]
fn shutdown_removes_every_container() {
    run(async {
        let instance = &common::instance("lifecycle-shutdown");
        let engine = python_engine(instance, 2).await;
        let code = "import time\nprint('running', flush=True)\ntime.sleep(60)\n";
        let mut handle = engine
            .lease_and_start(common::request("python", code, ""), &mut |_| {})
            .await
            .unwrap();
        while !matches!(next_event(&mut handle.events).await, RunEvent::Stdout(_)) {}
        assert!(!containers_of(common::docker(&engine), instance)
            .await
            .is_empty());
        engine.shutdown().await;
        let after = containers_of(common::docker(&engine), instance).await;
        assert!(after.is_empty(), "left after shutdown: {after:?}");
        // The interrupted run still ends with an Exit event.
        let exit = loop {
            if let RunEvent::Exit(o) = next_event(&mut handle.events).await {
                break o;
            }
        };
        assert_ne!(exit.exit.verdict, Verdict::Ok);
        let err = engine
            .execute(common::request("python", "print(1)", ""))
            .await
            .expect_err("refused after shutdown");
        assert!(matches!(err, PoolError::ShuttingDown), "{err}");
    });
}

/// Shutdown right after start, while the pools are still creating their containers:
/// containers whose creation was under way are removed too.
#[test]
fn shutdown_during_warm_up_leaves_nothing() {
    run(async {
        let instance = &common::instance("lifecycle-warmup");
        let docker = pool::connect_docker().await.unwrap();
        let catalog = common::catalog(&[("python", 2), ("bash", 2)]);
        let engine = Engine::start(
            common::config(instance),
            catalog,
            &prometheus::Registry::new(),
        )
        .await
        .unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        engine.shutdown().await;
        let after = containers_of(&docker, instance).await;
        assert!(after.is_empty(), "left after shutdown: {after:?}");
        // Nothing appears later either (a creation finishing after shutdown).
        tokio::time::sleep(std::time::Duration::from_secs(2)).await;
        let later = containers_of(&docker, instance).await;
        assert!(later.is_empty(), "appeared after shutdown: {later:?}");
    });
}
