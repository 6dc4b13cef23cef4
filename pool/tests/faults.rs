//! Faults from outside the engine: a container killed by someone else while it runs a
//! program. (The Docker daemon restart is in server/tests/faults.rs, run by
//! scripts/fault-tests.sh, since it stops the daemon for everyone.)

mod common;

use common::{containers_of, describe, exec, next_event, run, text};
use pool::{Engine, RunEvent, Verdict};
use std::time::{Duration, Instant};

const HOSTNAME_THEN_SLEEP: &str =
    "import socket, time\nprint(socket.gethostname(), flush=True)\ntime.sleep(60)\n";

async fn python_engine(instance: &str) -> Engine {
    common::start_engine(common::config(instance), common::catalog(&[("python", 1)])).await
}

/// `docker kill` on the container of a running program: the run ends at once with
/// `internal_error` (not the program's fault), the pool replaces the container, and the next
/// run works on the new one; the engine is ready again.
#[test]
fn container_killed_mid_run() {
    run(async {
        let instance = &common::instance("faults-kill");
        let engine = python_engine(instance).await;
        for round in 0..2 {
            let mut handle = engine
                .lease_and_start(
                    common::request("python", HOSTNAME_THEN_SLEEP, ""),
                    &mut |_| {},
                )
                .await
                .unwrap();
            let mut host = String::new();
            while !host.ends_with('\n') {
                if let RunEvent::Stdout(b) = next_event(&mut handle.events).await {
                    host.push_str(&text(&b));
                }
            }
            let host = host.trim().to_string();
            let ids = containers_of(common::docker(&engine), instance).await;
            let id = ids
                .iter()
                .find(|id| id.starts_with(&host))
                .unwrap_or_else(|| panic!("container {host} not among {ids:?}"));
            let killed = Instant::now();
            common::docker(&engine)
                .kill_container(id, None)
                .await
                .unwrap();
            let outcome = loop {
                if let RunEvent::Exit(o) = next_event(&mut handle.events).await {
                    break o;
                }
            };
            assert_eq!(
                outcome.exit.verdict,
                Verdict::InternalError,
                "round {round}: {outcome:?}"
            );
            assert!(
                killed.elapsed() < Duration::from_secs(10),
                "round {round}: the run ended {:?} after the kill",
                killed.elapsed()
            );
            let r = exec(
                &engine,
                "python",
                "import socket\nprint(socket.gethostname())",
                "",
            )
            .await;
            assert_eq!(
                r.outcome.exit.verdict,
                Verdict::Ok,
                "round {round}: {}",
                describe(&r)
            );
            assert_ne!(
                text(&r.stdout).trim(),
                host,
                "round {round}: the killed container served"
            );
            common::wait_ready(&engine).await;
        }
        engine.shutdown().await;
        let left = containers_of(common::docker(&engine), instance).await;
        assert!(left.is_empty(), "left after shutdown: {left:?}");
    });
}

/// A container killed while idle in the pool is noticed, removed and replaced before anyone
/// leases it; no exited container of ours lingers in Docker.
#[test]
fn idle_container_killed() {
    run(async {
        let instance = &common::instance("faults-idle");
        let engine = python_engine(instance).await;
        let before = containers_of(common::docker(&engine), instance).await;
        assert_eq!(before.len(), 1, "{before:?}");
        common::docker(&engine)
            .kill_container(&before[0], None)
            .await
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let now = containers_of(common::docker(&engine), instance).await;
            if now.len() == 1 && now[0] != before[0] && engine.readiness().await.is_ok() {
                break;
            }
            assert!(Instant::now() < deadline, "not replaced: {now:?}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let r = exec(&engine, "python", "print('fine')", "").await;
        assert_eq!(r.outcome.exit.verdict, Verdict::Ok, "{}", describe(&r));
        engine.shutdown().await;
    });
}

/// An agent binary of another protocol version (here a script that sends the hello of
/// version 99, as a newer agent would): its container fails at once, and the language
/// reports both versions and how to rebuild the agent instead of "undecodable agent frame".
#[test]
fn an_agent_of_another_protocol_version_is_named() {
    run(async {
        let instance = &common::instance("faults-protocol");
        let dir = std::env::temp_dir().join(format!("warmrun-stale-agent-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let script = dir.join("agent");
        // One frame: length 3, then Ready's variant 0, protocol 99, sandbox uid 1.
        std::fs::write(
            &script,
            "#!/bin/sh\nprintf '\\003\\000\\000\\000\\000\\143\\001'\nsleep 30\n",
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        let mut config = common::config(instance);
        config.agent_path = script;
        config.create_timeout_ms = 60_000;
        let started = Instant::now();
        let engine = Engine::start(
            config,
            common::catalog(&[("python", 1)]),
            &prometheus::Registry::new(),
        )
        .await
        .unwrap();
        let reason = loop {
            if let Some(r) = engine.status()[0].unavailable.clone() {
                break r;
            }
            assert!(started.elapsed() < Duration::from_secs(30), "no error");
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        // Well before the creation timeout (60 s).
        assert!(started.elapsed() < Duration::from_secs(30));
        for part in [
            "protocol version 99",
            &format!("version {}", agent::PROTOCOL_VERSION),
            "bash scripts/build-agent.sh",
        ] {
            assert!(reason.contains(part), "{part:?} not in {reason:?}");
        }
        engine.shutdown().await;
        let _ = std::fs::remove_dir_all(&dir);
        let left = containers_of(common::docker(&engine), instance).await;
        assert!(left.is_empty(), "left after shutdown: {left:?}");
    });
}
