//! Shared set-up of the integration tests (real Docker, no mocks).
//!
//! Every test binary (one file of `tests/`) has one engine, started by the first test that
//! asks for it on one shared runtime, so that its pools outlive single tests. Tests are plain
//! `#[test]`s that call [`run`]; they must not depend on each other's order. The engine is shut
//! down when the binary exits, so a test run leaves no containers behind.
#![allow(dead_code)]

use bollard::query_parameters::ListContainersOptionsBuilder;
use pool::{Catalog, Engine, EngineConfig, File, LimitOverrides, RunEvent, RunRequest, RunResult};
use std::collections::HashMap;
use std::future::Future;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;
use tokio::runtime::Runtime;
use tokio::sync::OnceCell;

/// Generous bound on anything a test waits for (sanity, not performance).
pub const PATIENCE: Duration = Duration::from_secs(120);

static RUNTIME: OnceLock<Runtime> = OnceLock::new();
static ENGINE: OnceCell<Engine> = OnceCell::const_new();

/// The runtime every test of this binary runs on.
pub fn runtime() -> &'static Runtime {
    RUNTIME.get_or_init(|| {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(
                std::env::var("RUST_LOG").unwrap_or_else(|_| "warn,pool=info".to_string()),
            )
            .with_test_writer()
            .try_init();
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("tokio runtime")
    })
}

/// Runs a test body on the shared runtime, failing it if it takes unreasonably long.
pub fn run<F: Future>(f: F) -> F::Output {
    runtime().block_on(async {
        tokio::time::timeout(PATIENCE, f)
            .await
            .expect("the test did not finish within its patience")
    })
}

/// The repository's catalog.
pub fn repo_catalog() -> Catalog {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../images/languages.toml");
    let mut catalog = Catalog::load(&path).expect("images/languages.toml loads");
    override_images(&mut catalog);
    catalog
}

/// `WARMRUN_TEST_IMAGES="warmrun/python:current=mine/python:current,…"` runs the tests on
/// other builds of some images (a branch's recipe built under its own `WARMRUN_PREFIX`, so
/// as not to move the `:current` tags other work tests against).
pub fn override_images(catalog: &mut pool::Catalog) {
    let Ok(spec) = std::env::var("WARMRUN_TEST_IMAGES") else {
        return;
    };
    for pair in spec.split(',').filter(|p| !p.is_empty()) {
        let (from, to) = pair
            .split_once('=')
            .expect("WARMRUN_TEST_IMAGES: from=to,…");
        for l in catalog.languages.iter_mut().filter(|l| l.image == from) {
            l.image = to.to_string();
        }
    }
}

/// The repository's catalog cut down to `langs` (id, pool max), each with one warm container.
pub fn catalog(langs: &[(&str, usize)]) -> Catalog {
    let mut catalog = repo_catalog();
    catalog
        .languages
        .retain(|l| langs.iter().any(|(id, _)| *id == l.id.as_str()));
    for l in &mut catalog.languages {
        l.pool.min_idle = 1;
        l.pool.max = langs.iter().find(|(id, _)| *id == l.id.as_str()).unwrap().1;
    }
    assert_eq!(
        catalog.languages.len(),
        langs.len(),
        "unknown language in {langs:?}"
    );
    catalog
}

/// The engine settings of tests: small budgets, the instance named after the test binary,
/// the agent from `WARMRUN_AGENT` when set (as scripts/build-agent.sh writes it);
/// `WARMRUN_FORK_SERVER=0` runs them with the zygote instead of the Python fork server.
pub fn config(instance: &str) -> EngineConfig {
    let mut config = EngineConfig {
        instance: instance.to_string(),
        max_containers: 12,
        max_concurrent_creates: 2,
        runtime: runtime_from_env(),
        fork_server: std::env::var("WARMRUN_FORK_SERVER").as_deref() != Ok("0"),
        // The instance is unique to this process: its compile cache starts empty, and the
        // shared engine removes it at exit.
        compile_cache_dir: std::env::temp_dir()
            .join("warmrun-test-compile-cache")
            .join(instance),
        ..Default::default()
    };
    if let Some(agent) = std::env::var_os("WARMRUN_AGENT") {
        config.agent_path = agent.into();
    }
    config
}

/// The container runtime the tests use: `WARMRUN_RUNTIME=runsc` runs them under gVisor.
pub fn runtime_from_env() -> pool::Runtime {
    match std::env::var("WARMRUN_RUNTIME").as_deref() {
        Ok("runsc") => pool::Runtime::Runsc,
        _ => pool::Runtime::Runc,
    }
}

/// Starts an engine and waits until every pool has its warm container.
pub async fn start_engine(config: EngineConfig, catalog: Catalog) -> Engine {
    let engine = Engine::start(config, catalog, &prometheus::Registry::new())
        .await
        .expect("engine starts (is Docker running and the agent built?)");
    wait_ready(&engine).await;
    engine
}

/// Waits until the engine reports ready (every pool at its minimum of containers).
pub async fn wait_ready(engine: &Engine) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        match engine.readiness().await {
            Ok(()) => return,
            Err(problems) if tokio::time::Instant::now() > deadline => {
                panic!("engine not ready: {problems:?}")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

/// Polls `cond` until it holds, failing the test after [`PATIENCE`]: tests wait for the state
/// they assert instead of asserting right after an event.
pub async fn wait_until<F, Fut>(what: &str, mut cond: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !cond().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for: {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// An instance name unique to this test process, so that concurrent test runs never take
/// each other's containers for their own; a dead run's leftovers are removed by the next
/// engine start (their owning process is gone).
pub fn instance(name: &str) -> String {
    format!("test-{name}-{}", std::process::id())
}

/// This binary's shared engine (instance `test-<name>-<pid>`), started by the first caller with
/// `langs`; it is shut down when the binary exits.
pub async fn engine(name: &str, langs: &[(&str, usize)]) -> Engine {
    engine_with(name, || catalog(langs)).await
}

/// This binary's shared engine, as [`engine`], with the catalog `catalog` makes.
pub async fn engine_with(name: &str, catalog: impl FnOnce() -> Catalog) -> Engine {
    ENGINE
        .get_or_init(|| async {
            let engine = start_engine(config(&instance(name)), catalog()).await;
            // SAFETY: registers a plain function to run at process exit.
            unsafe { libc::atexit(shutdown_at_exit) };
            engine
        })
        .await
        .clone()
}

extern "C" fn shutdown_at_exit() {
    if let (Some(engine), Some(rt)) = (ENGINE.get(), RUNTIME.get()) {
        rt.block_on(async {
            let _ = tokio::time::timeout(Duration::from_secs(30), engine.shutdown()).await;
        });
        let _ = std::fs::remove_dir_all(engine.config().effective_compile_cache_dir());
    }
}

/// A request for `code` in `lang` with `stdin`, closed after it.
pub fn request(lang: &str, code: &str, stdin: &str) -> RunRequest {
    RunRequest {
        language: lang.to_string(),
        files: vec![File {
            name: String::new(),
            content: code.to_string(),
        }],
        stdin: stdin.as_bytes().to_vec(),
        close_stdin: true,
        ..Default::default()
    }
}

/// Runs `code` to completion with default limits.
pub async fn exec(engine: &Engine, lang: &str, code: &str, stdin: &str) -> RunResult {
    engine
        .execute(request(lang, code, stdin))
        .await
        .expect("the run is accepted")
}

/// Runs `code` to completion with the given limits.
pub async fn exec_limited(
    engine: &Engine,
    lang: &str,
    code: &str,
    limits: LimitOverrides,
) -> RunResult {
    let mut req = request(lang, code, "");
    req.limits = limits;
    engine.execute(req).await.expect("the run is accepted")
}

/// Output as text, for assertions and messages.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A run's outcome and output in one line, for assertion messages.
pub fn describe(r: &RunResult) -> String {
    format!(
        "{:?}\nstdout: {:?}\nstderr: {:?}\ncompile: {:?}",
        r.outcome.exit,
        text(&r.stdout),
        text(&r.stderr),
        r.compile
            .as_ref()
            .map(|c| (c.exit.verdict, text(&c.stdout), text(&c.stderr)))
    )
}

/// The next event of a live run, failing the test if none comes in time.
pub async fn next_event(events: &mut tokio::sync::mpsc::Receiver<RunEvent>) -> RunEvent {
    tokio::time::timeout(Duration::from_secs(30), events.recv())
        .await
        .expect("an event within 30 s")
        .expect("the run ended without an Exit event")
}

/// The Docker client of an engine the tests started (always on Docker).
pub fn docker(engine: &Engine) -> &bollard::Docker {
    engine.docker().expect("the engine runs on Docker")
}

/// Ids of the containers (any state) labelled with `instance`.
pub async fn containers_of(engine_or_docker: &bollard::Docker, instance: &str) -> Vec<String> {
    let filters = HashMap::from([(
        "label".to_string(),
        vec![format!("io.warmrun.instance={instance}")],
    )]);
    engine_or_docker
        .list_containers(Some(
            ListContainersOptionsBuilder::default()
                .all(true)
                .filters(&filters)
                .build(),
        ))
        .await
        .expect("docker lists containers")
        .into_iter()
        .filter_map(|c| c.id)
        .collect()
}

/// A C program that adds the two numbers it reads (judged-run and compile cache tests).
pub const SUM_C: &str = r#"#include <stdio.h>
int main(void) {
    long a, b;
    if (scanf("%ld %ld", &a, &b) != 2) return 1;
    printf("%ld\n", a + b);
    return 0;
}
"#;
