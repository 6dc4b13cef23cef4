//! The pools' queueing and sizing rules and the ownership of containers, on the in-memory
//! runtime of `fake.rs`: milliseconds each, no Docker. (pool/tests/ proves the same engine on
//! real Docker.)

use crate::backend::{Backend, ContainerState};
use crate::catalog::{Catalog, Language, LanguageId, Limits, PoolSize};
use crate::config::EngineConfig;
use crate::engine::Engine;
use crate::error::PoolError;
use crate::fake::FakeBackend;
use crate::lease::{retire_after, Lease, LeaseKind};
use crate::ownership::{Identity, LocalProcessLiveness, Owner, OwnerLiveness};
use crate::run::{File, RunRequest};
use crate::PoolStatus;
use agent::Verdict;
use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn language(id: &str, min_idle: usize, max: usize) -> Language {
    Language {
        id: LanguageId(id.into()),
        name: id.into(),
        version: "1".into(),
        image: format!("fake/{id}"),
        file: "main.txt".into(),
        compile: vec![],
        compile_cache: false,
        run: vec!["run".into(), "main.txt".into()],
        env: Default::default(),
        aliases: vec![],
        version_of: None,
        zygote: None,
        format: vec![],
        format_in: None,
        examples: vec![],
        legacy_example: String::new(),
        limits: Limits {
            wall_ms: 5_000,
            cpu_ms: 5_000,
            memory_mb: 64,
            output_kb: 64,
            compile_wall_ms: 5_000,
            idle_ms: 300_000,
        },
        pool: PoolSize { min_idle, max },
    }
}

fn config() -> EngineConfig {
    EngineConfig {
        instance: "unit".into(),
        max_containers: 16,
        lease_timeout_ms: 5_000,
        create_timeout_ms: 2_000,
        reset_timeout_ms: 2_000,
        // The fake agent compiles nothing; the cache has its own tests (compile_cache.rs).
        compile_cache_mib: 0,
        ..Default::default()
    }
}

async fn start_with(
    backend: &Arc<FakeBackend>,
    langs: Vec<Language>,
    config: EngineConfig,
    liveness: Arc<dyn OwnerLiveness>,
) -> Engine {
    let backend: Arc<dyn Backend> = backend.clone();
    Engine::start_on(
        backend,
        None,
        config,
        Catalog { languages: langs },
        &prometheus::Registry::new(),
        liveness,
    )
    .await
    .expect("the engine starts on the fake runtime")
}

async fn start(langs: Vec<Language>, config: EngineConfig) -> (Engine, Arc<FakeBackend>) {
    let backend = Arc::new(FakeBackend::default());
    let engine = start_with(&backend, langs, config, Arc::new(LocalProcessLiveness)).await;
    (engine, backend)
}

/// Waits for a state, failing the test after 5 s.
async fn until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

fn status(engine: &Engine, lang: &str) -> PoolStatus {
    engine
        .status()
        .into_iter()
        .find(|s| s.language == lang)
        .unwrap()
}

fn id(lang: &str) -> LanguageId {
    LanguageId(lang.into())
}

async fn lease(engine: &Engine, lang: &str) -> Result<Lease, PoolError> {
    engine.lease(&id(lang), &mut |_| {}).await
}

fn request(lang: &str, program: &str) -> RunRequest {
    RunRequest {
        language: lang.into(),
        files: vec![File {
            name: String::new(),
            content: program.into(),
        }],
        close_stdin: true,
        ..Default::default()
    }
}

#[tokio::test]
async fn a_run_goes_through_and_its_container_comes_back() {
    let (engine, _) = start(vec![language("a", 1, 1)], config()).await;
    let r = engine.execute(request("a", "hello")).await.unwrap();
    assert_eq!(r.outcome.exit.verdict, Verdict::Ok);
    assert_eq!(r.stdout, b"hello");
    // Released after the Exit event: wait for it rather than assert at once.
    until("the container is back", || {
        let s = status(&engine, "a");
        s.idle == 1 && s.leased == 0 && s.resetting == 0
    })
    .await;
    engine.shutdown().await;
}

#[tokio::test]
async fn a_run_whose_memory_limit_cannot_be_set_in_place_gets_a_fresh_container() {
    let (engine, backend) = start(vec![language("a", 1, 1)], config()).await;
    until("warm", || status(&engine, "a").idle == 1).await;
    backend.memory_updates_fail.store(true, Ordering::SeqCst);
    let created = backend.created.load(Ordering::SeqCst);
    let mut req = request("a", "hello");
    req.limits.memory_mb = Some(32);
    let r = engine.execute(req).await.unwrap();
    assert_eq!(r.outcome.exit.verdict, Verdict::Ok);
    assert_eq!(r.stdout, b"hello");
    assert_eq!(backend.created.load(Ordering::SeqCst), created + 1);
    // The replacement keeps the pool within its max of one.
    until("the container is back", || {
        let s = status(&engine, "a");
        s.idle == 1 && s.leased == 0 && s.resetting == 0
    })
    .await;
    engine.shutdown().await;
}

#[tokio::test]
async fn queue_positions_are_fifo_and_move_up() {
    let (engine, _) = start(vec![language("a", 1, 1)], config()).await;
    until("warm", || status(&engine, "a").idle == 1).await;
    let held = lease(&engine, "a").await.unwrap();
    let positions: Arc<Mutex<Vec<Vec<usize>>>> = Arc::default();
    let granted: Arc<Mutex<Vec<usize>>> = Arc::default();
    let mut waiters = Vec::new();
    for i in 0..3 {
        positions.lock().unwrap().push(Vec::new());
        let (e, positions, granted) = (engine.clone(), positions.clone(), granted.clone());
        waiters.push(tokio::spawn(async move {
            let seen = positions.clone();
            let lease = e
                .lease(&id("a"), &mut move |p| seen.lock().unwrap()[i].push(p))
                .await
                .unwrap();
            granted.lock().unwrap().push(i);
            tokio::time::sleep(Duration::from_millis(5)).await;
            lease.release().await;
        }));
        until("queued", || status(&engine, "a").queued == i + 1).await;
    }
    let first: Vec<usize> = positions.lock().unwrap().iter().map(|p| p[0]).collect();
    assert_eq!(first, [1, 2, 3]);
    held.release().await;
    for w in waiters {
        w.await.unwrap();
    }
    assert_eq!(
        *granted.lock().unwrap(),
        [0, 1, 2],
        "served in arrival order"
    );
    // The last one moved up one place at a time.
    assert_eq!(positions.lock().unwrap()[2], [3, 2, 1]);
    engine.shutdown().await;
}

#[tokio::test]
async fn refill_keeps_min_idle_plus_waiting_within_max() {
    let (engine, backend) = start(vec![language("a", 2, 3)], config()).await;
    until("min_idle", || status(&engine, "a").idle == 2).await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(
        backend.created.load(Ordering::SeqCst),
        2,
        "no more than min_idle"
    );
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(lease(&engine, "a").await.unwrap());
    }
    let waiter = {
        let engine = engine.clone();
        tokio::spawn(async move { lease(&engine, "a").await.map(drop) })
    };
    until("a waiting lease", || status(&engine, "a").queued == 1).await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    let s = status(&engine, "a");
    assert_eq!((s.leased, s.idle, s.starting), (3, 0, 0), "{s:?}");
    assert_eq!(backend.peak_of("a"), 3, "never above the language's max");
    held.pop();
    waiter
        .await
        .unwrap()
        .expect("the returned container goes to the waiter");
    engine.shutdown().await;
}

#[tokio::test]
async fn the_global_budget_caps_every_language_together() {
    let mut cfg = config();
    cfg.max_containers = 3;
    let (engine, backend) = start(vec![language("a", 2, 4), language("b", 2, 4)], cfg).await;
    until("the budget is used", || {
        engine.status().iter().map(|s| s.idle).sum::<usize>() == 3
    })
    .await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(backend.peak.load(Ordering::SeqCst), 3);
    assert_eq!(backend.ids().len(), 3);
    engine.shutdown().await;
}

#[tokio::test]
async fn a_full_budget_evicts_idle_containers_of_other_languages_for_a_waiting_lease() {
    let mut cfg = config();
    cfg.max_containers = 2;
    let (engine, backend) = start(vec![language("a", 2, 2), language("b", 0, 1)], cfg).await;
    until("a fills the budget", || status(&engine, "a").idle == 2).await;
    let b = lease(&engine, "b").await.expect("b gets a container");
    let a = status(&engine, "a");
    assert_eq!(a.idle, 1, "{a:?}");
    assert_eq!(backend.peak.load(Ordering::SeqCst), 2, "within the budget");
    let evicted = engine
        .metrics()
        .destroyed
        .with_label_values(&["a", "evicted"])
        .get();
    assert_eq!(evicted, 1);
    drop(b);
    engine.shutdown().await;
}

#[tokio::test]
async fn containers_retire_within_the_last_quarter_of_max_uses() {
    let mut cfg = config();
    cfg.max_uses = 4;
    let (engine, _) = start(vec![language("a", 1, 1)], cfg).await;
    let mut served: Vec<(String, u32)> = Vec::new();
    for _ in 0..14 {
        let mut l = lease(&engine, "a").await.unwrap();
        let c = l.container();
        match served.last_mut() {
            Some((id, n)) if *id == c.id => *n += 1,
            _ => served.push((c.id.clone(), 1)),
        }
        let uid = c.sandbox_uid;
        l.release().await;
        if let Some((_, n)) = served.last() {
            assert!(*n <= retire_after(4, uid));
        }
    }
    // Every container but the last served its full share: 3 or 4 runs.
    assert!(served.len() >= 4, "{served:?}");
    for (_, n) in &served[..served.len() - 1] {
        assert!((3..=4).contains(n), "{served:?}");
    }
    engine.shutdown().await;
}

#[tokio::test]
async fn a_successor_is_warm_before_a_container_retires() {
    let mut cfg = config();
    cfg.max_uses = 50;
    let (engine, backend) = start(vec![language("a", 1, 2)], cfg).await;
    // The pool at its maximum: one container held throughout, one serving every run.
    until("warm", || status(&engine, "a").idle == 1).await;
    let held = lease(&engine, "a").await.unwrap();
    until("warm", || status(&engine, "a").idle == 1).await;
    // From now on a start takes 150 ms: a lease that waited for one would show it.
    backend.create_delay_ms.store(150, Ordering::SeqCst);
    let mut served: Vec<(String, u32)> = Vec::new();
    let mut waits = Vec::new();
    for _ in 0..100 {
        let mut l = lease(&engine, "a").await.unwrap();
        if l.kind != LeaseKind::Warm {
            waits.push((l.kind, l.waited));
        }
        let c = l.container();
        match served.iter_mut().find(|(id, _)| *id == c.id) {
            Some((_, n)) => *n += 1,
            None => served.push((c.id.clone(), 1)),
        }
        l.release().await;
        until("reset", || status(&engine, "a").resetting == 0).await;
        let s = status(&engine, "a");
        assert!(
            s.idle + s.leased + s.starting <= 3,
            "past the maximum and a successor: {s:?}"
        );
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    // Retirements happened, none past max_uses, and none made a lease wait for a start.
    assert!(served.len() >= 3, "{served:?}");
    assert!(served.iter().all(|(_, n)| *n <= 50), "{served:?}");
    assert!(waits.is_empty(), "leases waited for a start: {waits:?}");
    drop(held);
    engine.shutdown().await;
}

#[tokio::test]
async fn single_use_containers_are_never_served_twice() {
    let mut cfg = config();
    cfg.max_uses = 1;
    let (engine, backend) = start(vec![language("a", 1, 1)], cfg).await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        let mut l = lease(&engine, "a").await.unwrap();
        ids.push(l.container().id.clone());
        l.release().await;
    }
    ids.dedup();
    assert_eq!(ids.len(), 3);
    until("replaced", || backend.created.load(Ordering::SeqCst) == 4).await;
    engine.shutdown().await;
}

#[tokio::test]
async fn a_lease_times_out_when_nothing_frees_up() {
    let mut cfg = config();
    cfg.lease_timeout_ms = 100;
    let (engine, _) = start(vec![language("a", 1, 1)], cfg).await;
    let _held = lease(&engine, "a").await.unwrap();
    let asked = Instant::now();
    let err = lease(&engine, "a").await.map(drop).unwrap_err();
    assert!(matches!(err, PoolError::LeaseTimeout(_)), "{err}");
    let waited = asked.elapsed();
    assert!(waited >= Duration::from_millis(100), "{waited:?}");
    assert!(waited < Duration::from_secs(2), "{waited:?}");
    assert_eq!(
        status(&engine, "a").queued,
        0,
        "the timed-out lease left the queue"
    );
    engine.shutdown().await;
}

#[tokio::test]
async fn a_full_queue_refuses_at_once() {
    let mut cfg = config();
    cfg.queue_capacity = 1;
    let (engine, _) = start(vec![language("a", 1, 1)], cfg).await;
    let _held = lease(&engine, "a").await.unwrap();
    let waiter = {
        let engine = engine.clone();
        tokio::spawn(async move { lease(&engine, "a").await.map(drop) })
    };
    until("one waits", || status(&engine, "a").queued == 1).await;
    let asked = Instant::now();
    let err = lease(&engine, "a").await.map(drop).unwrap_err();
    assert!(matches!(err, PoolError::QueueFull(_)), "{err}");
    assert!(asked.elapsed() < Duration::from_millis(500));
    let rejected = engine
        .metrics()
        .queue_rejections
        .with_label_values(&["a"])
        .get();
    assert_eq!(rejected, 1);
    waiter.abort();
    engine.shutdown().await;
}

#[tokio::test]
async fn an_agent_of_another_protocol_version_fails_its_container_at_once() {
    let backend = Arc::new(FakeBackend::default());
    *backend.agent_protocol.lock().unwrap() = Some(agent::PROTOCOL_VERSION + 1);
    let mut cfg = config();
    cfg.create_timeout_ms = 30_000;
    let started = Instant::now();
    let engine = start_with(
        &backend,
        vec![language("a", 1, 1)],
        cfg,
        Arc::new(LocalProcessLiveness),
    )
    .await;
    until("the language is unavailable", || {
        status(&engine, "a").unavailable.is_some()
    })
    .await;
    // At once: not after the creation timeout (30 s here).
    assert!(started.elapsed() < Duration::from_secs(5));
    let reason = status(&engine, "a").unavailable.unwrap();
    let agent_version = format!("protocol version {}", agent::PROTOCOL_VERSION + 1);
    let engine_version = format!("version {}", agent::PROTOCOL_VERSION);
    for part in [
        &agent_version,
        &engine_version,
        "bash scripts/build-agent.sh",
    ] {
        assert!(reason.contains(part), "{part:?} not in {reason:?}");
    }
    let err = lease(&engine, "a").await.map(drop).unwrap_err();
    assert!(
        matches!(&err, PoolError::LanguageUnavailable(_, r) if r.contains(&agent_version)),
        "{err}"
    );
    until("the container is gone", || backend.ids().is_empty()).await;
    engine.shutdown().await;
}

#[tokio::test]
async fn shutdown_removes_every_container_and_refuses_leases() {
    let (engine, backend) = start(vec![language("a", 2, 2), language("b", 1, 1)], config()).await;
    until("warm", || all_warm(&engine)).await;
    engine.shutdown().await;
    assert!(backend.ids().is_empty(), "{:?}", backend.ids());
    let err = lease(&engine, "a").await.map(drop).unwrap_err();
    assert!(matches!(err, PoolError::ShuttingDown), "{err}");
}

/// Answers from a table that the test changes; unknown nodes are "don't know".
#[derive(Default)]
struct Oracle(Mutex<HashMap<String, bool>>);

#[async_trait]
impl OwnerLiveness for Oracle {
    async fn alive(&self, owner: &Owner) -> Option<bool> {
        self.0.lock().unwrap().get(&owner.node).copied()
    }
}

fn labels_of(node: &str, boot: &str) -> HashMap<String, String> {
    let mut owner = Identity::new(node, node);
    owner.boot = boot.into();
    owner.labels("a")
}

#[tokio::test]
async fn a_start_removes_its_predecessors_containers_and_dead_engines_ones() {
    let backend = Arc::new(FakeBackend::default());
    backend.seed(
        "old",
        labels_of("unit", "earlier-boot"),
        ContainerState::Running,
    );
    backend.seed("live", labels_of("b", "b1"), ContainerState::Running);
    backend.seed("dead", labels_of("c", "c1"), ContainerState::Running);
    backend.seed("unknown", labels_of("d", "d1"), ContainerState::Exited);
    let oracle = Arc::new(Oracle::default());
    oracle
        .0
        .lock()
        .unwrap()
        .extend([("b".to_string(), true), ("c".into(), false)]);
    let engine = start_with(&backend, vec![language("a", 1, 1)], config(), oracle).await;
    let ids = backend.ids();
    assert!(!ids.contains(&"old".to_string()), "{ids:?}");
    assert!(!ids.contains(&"dead".to_string()), "{ids:?}");
    assert!(ids.contains(&"live".to_string()) && ids.contains(&"unknown".to_string()));
    engine.shutdown().await;
    // Shutdown takes this engine's own only.
    assert_eq!(backend.ids(), ["live", "unknown"]);
}

#[tokio::test]
async fn the_janitor_removes_the_containers_of_an_engine_that_died() {
    let backend = Arc::new(FakeBackend::default());
    backend.seed("b-1", labels_of("b", "b1"), ContainerState::Running);
    backend.seed("c-1", labels_of("c", "c1"), ContainerState::Running);
    backend.seed("c-2", labels_of("c", "c1"), ContainerState::Running);
    let oracle = Arc::new(Oracle::default());
    oracle
        .0
        .lock()
        .unwrap()
        .extend([("b".to_string(), true), ("c".into(), true)]);
    let mut cfg = config();
    cfg.janitor_interval_ms = 10;
    let engine = start_with(&backend, vec![language("a", 1, 1)], cfg, oracle.clone()).await;
    until("warm", || status(&engine, "a").idle == 1).await;
    // Several rounds while every owner lives: nothing of theirs goes.
    tokio::time::sleep(Duration::from_millis(60)).await;
    assert_eq!(backend.ids().len(), 4, "{:?}", backend.ids());
    oracle.0.lock().unwrap().insert("c".into(), false);
    until("c's containers are gone", || {
        !backend.ids().iter().any(|id| id.starts_with("c-"))
    })
    .await;
    let ids = backend.ids();
    assert!(ids.contains(&"b-1".to_string()), "{ids:?}");
    assert_eq!(status(&engine, "a").idle, 1, "its own container stays");
    engine.shutdown().await;
}

#[tokio::test]
async fn a_container_killed_while_idle_is_replaced() {
    let (engine, backend) = start(vec![language("a", 1, 1)], config()).await;
    until("warm", || status(&engine, "a").idle == 1).await;
    let first = backend.ids()[0].clone();
    backend.kill(&first);
    until("replaced", || {
        let ids = backend.ids();
        ids.len() == 1 && ids[0] != first && status(&engine, "a").idle == 1
    })
    .await;
    let r = engine.execute(request("a", "after")).await.unwrap();
    assert_eq!(r.outcome.exit.verdict, Verdict::Ok);
    engine.shutdown().await;
}

/// Readiness without awaiting, for `until`.
fn all_warm(engine: &Engine) -> bool {
    engine
        .status()
        .iter()
        .all(|s| s.unavailable.is_none() && s.idle + s.leased + s.resetting >= s.min_idle)
}

/// Judge mode on the fake runtime (whose program prints its own text, and whose later
/// cases echo their input): one lease, every case judged in order, the container back.
#[tokio::test]
async fn a_judged_run_judges_every_case_on_one_lease() {
    use warmrun_api::TestCase;
    let (engine, _) = start(vec![language("a", 1, 1)], config()).await;
    let case = |stdin: &str, want: &str| TestCase {
        stdin: stdin.into(),
        expected_stdout: Some(want.into()),
        args: None,
    };
    let cases = vec![
        case("", "7"),
        case("7\n", "7"),
        case("8", "7"),
        case("7", "7"),
    ];
    let judged = |stop| {
        let mut req = request("a", "7");
        req.tests = Some(crate::TestSuite {
            cases: cases.clone(),
            comparison: Default::default(),
            stop_on_first_failure: stop,
        });
        req
    };
    let r = engine.judge(judged(false), &mut |_| {}).await.unwrap();
    let verdicts: Vec<_> = r.cases.iter().map(|c| c.verdict).collect();
    use Verdict::{Accepted, WrongAnswer};
    assert_eq!(verdicts, [Accepted, Accepted, WrongAnswer, Accepted]);
    assert_eq!((r.passed(), r.first_failure(), r.total), (3, Some(2), 4));
    assert_eq!(r.outcome.exit.verdict, WrongAnswer);
    assert_eq!(r.cases[2].stdout, b"8");
    let r = engine.judge(judged(true), &mut |_| {}).await.unwrap();
    assert_eq!(r.cases.len(), 3, "stops after the first failure");
    // A live start refuses tests: they are judged to completion only.
    assert!(engine
        .lease_and_start(judged(false), &mut |_| {})
        .await
        .is_err());
    until("the container is back", || {
        let s = status(&engine, "a");
        s.idle == 1 && s.leased == 0 && s.resetting == 0
    })
    .await;
    engine.shutdown().await;
}

#[tokio::test]
async fn a_fingerprint_changes_with_everything_that_decides_the_result() {
    let (engine, _) = start(vec![language("py", 0, 2)], config()).await;
    let base = request("py", "print(1)");
    let print = engine.fingerprint(&base).unwrap();
    assert_eq!(print, engine.fingerprint(&base.clone()).unwrap());
    assert_eq!(print.as_str().len(), 64);
    let mut changed = Vec::new();
    let mut r = base.clone();
    r.files[0].content = "print(2)".into();
    changed.push(r);
    let mut r = base.clone();
    r.stdin = b"x".to_vec();
    changed.push(r);
    let mut r = base.clone();
    r.args = vec!["a".into()];
    changed.push(r);
    let mut r = base.clone();
    r.limits.wall_ms = Some(1_000);
    changed.push(r);
    let mut r = base.clone();
    r.close_stdin = !r.close_stdin;
    changed.push(r);
    for r in &changed {
        assert_ne!(engine.fingerprint(r).unwrap(), print, "{r:?}");
    }
    // The same checks as a run: a request the engine refuses has no fingerprint.
    assert!(matches!(
        engine.fingerprint(&request("nope", "x")),
        Err(PoolError::UnknownLanguage(_))
    ));
}

/// Waits for a state, failing the test after `secs` seconds.
async fn until_within(secs: u64, what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

fn autosizing(window_ms: u64, shrink_ms: u64) -> EngineConfig {
    EngineConfig {
        autosize: true,
        autosize_window_ms: window_ms,
        autosize_shrink_ms: shrink_ms,
        ..config()
    }
}

#[tokio::test]
async fn an_autosized_pool_grows_ahead_of_a_burst_and_returns_to_its_floor() {
    // A floor of 0: without autosizing such a pool only ever creates for waiting leases.
    let (engine, backend) = start(vec![language("a", 0, 6)], autosizing(300, 50)).await;
    assert_eq!(status(&engine, "a").warm_target, 0);
    // Three held at once: the target rises past them (a spare), and the pool creates it
    // while all three are still held.
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(lease(&engine, "a").await.unwrap());
    }
    until("the target rises", || status(&engine, "a").warm_target >= 4).await;
    until("a spare is warm while all are held", || {
        let s = status(&engine, "a");
        s.leased == 3 && s.idle >= 1
    })
    .await;
    let misses = engine
        .metrics()
        .leases
        .with_label_values(&["a", "cold"])
        .get();
    let warm_before = engine
        .metrics()
        .leases
        .with_label_values(&["a", "warm"])
        .get();
    // The fourth lease finds it warm.
    held.push(lease(&engine, "a").await.unwrap());
    assert_eq!(held.last().unwrap().kind, LeaseKind::Warm);
    assert_eq!(
        engine
            .metrics()
            .leases
            .with_label_values(&["a", "warm"])
            .get(),
        warm_before + 1
    );
    assert!(backend.peak_of("a") <= 6, "within the language's max");
    drop(held);
    // Traffic stops: the target walks down to the floor and idle containers are trimmed.
    until_within(10, "back to the floor", || {
        let s = status(&engine, "a");
        s.warm_target == 0 && s.idle == 0 && s.leased == 0 && s.resetting == 0
    })
    .await;
    let trimmed = engine
        .metrics()
        .destroyed
        .with_label_values(&["a", "trimmed"])
        .get();
    assert!(trimmed >= 4, "trimmed {trimmed}, misses {misses}");
    engine.shutdown().await;
}

#[tokio::test]
async fn without_autosize_the_pool_keeps_min_idle_and_trims_nothing() {
    let cfg = EngineConfig {
        autosize: false,
        ..autosizing(100, 10)
    };
    let (engine, _) = start(vec![language("a", 1, 6)], cfg).await;
    until("the floor", || status(&engine, "a").idle == 1).await;
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(lease(&engine, "a").await.unwrap());
    }
    until("one idle again", || status(&engine, "a").idle == 1).await;
    drop(held);
    until("all back", || status(&engine, "a").idle == 4).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let s = status(&engine, "a");
    assert_eq!((s.idle, s.warm_target), (4, 1), "{s:?}");
    engine.shutdown().await;
}
