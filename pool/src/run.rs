//! Runs: what a client asks for, the live events it gets back, and the task that drives a
//! leased container through one run and hands it back for reset.

use crate::catalog::{Language, LanguageId, LimitOverrides, Limits};
use crate::compile_cache::CompilePlan;
use crate::config::{EngineConfig, Runtime};
use crate::error::PoolError;
use crate::judge::{first_case, PreparedSuite, TestSuite};
use crate::lease::{Lease, LeaseKind};
use crate::state::Shared;
use agent::{
    ArtifactLimits, CompileReport, Event, ExitReport, PrestartSpec, Request, RunLimits, RunSpec,
    SourceFile, TtySize,
};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tracing::warn;

pub use agent::Verdict;

/// What a client may send at most: the API's promises, enforced here for every caller.
pub use warmrun_api::{MAX_CODE_BYTES, MAX_FILES, MAX_STDIN_BYTES};

/// A file of the user's program (the API's shape: `{name, content}`).
pub use warmrun_api::File;

/// What a client asks to run.
#[derive(Debug, Clone, Default)]
pub struct RunRequest {
    /// Language id or alias.
    pub language: String,
    /// The language's version (`3.11`, `3.11.2`); `None`: the newest the catalog has.
    pub version: Option<String>,
    /// The program's files; the first is the main file and takes the language's file name
    /// when no file already has it.
    pub files: Vec<File>,
    /// Input given before the program starts.
    pub stdin: Vec<u8>,
    /// Close stdin after `stdin` (batch runs); interactive runs keep it open.
    pub close_stdin: bool,
    /// Extra command-line arguments for the program.
    pub args: Vec<String>,
    /// Extra compiler options, put before the main file in the compile command.
    pub compile_options: Vec<String>,
    /// Run on a terminal of this size.
    pub tty: Option<TtySize>,
    /// Limits the client asks for, within the engine's maxima.
    pub limits: LimitOverrides,
    /// Judge mode ([`crate::Engine::judge`]): one compile, then each case with its own
    /// stdin (instead of `stdin`) and arguments (instead of `args`, if it has any).
    pub tests: Option<TestSuite>,
}

/// A live event of a run.
#[derive(Debug, Clone, PartialEq)]
pub enum RunEvent {
    /// The compile step finished.
    Compiled(CompileReport),
    /// The program started.
    Started,
    /// The program is blocked reading its empty stdin (interactive runs; once per wait, again
    /// after it got input and blocked again). Not sent under gVisor, which cannot tell.
    WaitingForInput,
    Stdout(Vec<u8>),
    Stderr(Vec<u8>),
    /// The run is over.
    Exit(RunOutcome),
}

/// The end of a run with everything measured about it.
#[derive(Debug, Clone, PartialEq)]
pub struct RunOutcome {
    pub exit: ExitReport,
    /// How the container was obtained.
    pub lease: LeaseKind,
    /// Time spent waiting for the container.
    pub lease_ms: u64,
    /// From the request to the exit, lease included.
    pub total_ms: u64,
    /// Files the program left in `/workspace/output` (not for judged runs).
    pub artifacts: Artifacts,
}

/// The files a run left in its output directory ([`agent::OUTPUT_DIR`]), within the
/// engine's `artifacts_max_files` and `artifacts_max_bytes`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Artifacts {
    /// In name order.
    pub files: Vec<Artifact>,
    /// The directory held more than the bounds allow; `files` are the first that fit.
    pub truncated: bool,
}

/// One file of a run's output directory.
#[derive(Debug, Clone, PartialEq)]
pub struct Artifact {
    /// Its name in the output directory (no directory part).
    pub name: String,
    pub data: Vec<u8>,
}

impl Artifacts {
    /// Takes one more file the agent sent, keeping the bounds even if the agent did not.
    fn take(&mut self, name: String, data: Vec<u8>, limits: ArtifactLimits) {
        let bytes: u64 = self.files.iter().map(|f| f.data.len() as u64).sum();
        if self.truncated
            || self.files.len() >= limits.files as usize
            || bytes + data.len() as u64 > limits.bytes
        {
            self.truncated = true;
            return;
        }
        self.files.push(Artifact { name, data });
    }
}

/// Steering a live run.
#[derive(Debug, Clone, PartialEq)]
pub enum RunControl {
    Stdin(Vec<u8>),
    Eof,
    Kill,
    Resize(TtySize),
}

/// The client's end of a live run: events come out, controls go in. Dropping it kills the
/// run; the container is reset and returned either way.
pub struct RunHandle {
    pub events: mpsc::Receiver<RunEvent>,
    pub controls: mpsc::UnboundedSender<RunControl>,
}

/// A finished run with its output collected (for request/response APIs).
#[derive(Debug, Clone, PartialEq)]
pub struct RunResult {
    pub outcome: RunOutcome,
    pub compile: Option<CompileReport>,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

/// A request checked against the catalog and limits, ready for the agent.
pub(crate) struct Prepared {
    pub(crate) language: LanguageId,
    pub(crate) spec: RunSpec,
    pub(crate) limits: Limits,
    /// Judge mode: the cases (the spec carries the first one's input and arguments).
    pub(crate) suite: Option<PreparedSuite>,
}

/// Checks a request against its language and the engine's limits.
pub(crate) fn prepare(
    lang: &Language,
    config: &EngineConfig,
    req: RunRequest,
) -> Result<Prepared, PoolError> {
    // The API's own rules (count, names, each name once): one definition for every caller.
    warmrun_api::check_files(&req.files).map_err(|e| PoolError::InvalidRequest(e.0))?;
    let total: usize = req.files.iter().map(|f| f.content.len()).sum();
    if total > MAX_CODE_BYTES {
        return Err(PoolError::InvalidRequest(format!(
            "code is {total} bytes; at most {MAX_CODE_BYTES} are allowed"
        )));
    }
    if req.stdin.len() > MAX_STDIN_BYTES {
        return Err(PoolError::InvalidRequest(format!(
            "stdin is {} bytes; at most {MAX_STDIN_BYTES} are allowed",
            req.stdin.len()
        )));
    }
    let mut files: Vec<SourceFile> = Vec::with_capacity(req.files.len());
    for (i, f) in req.files.into_iter().enumerate() {
        files.push(SourceFile {
            name: if i == 0 && f.name.is_empty() {
                lang.file.clone()
            } else {
                f.name
            },
            content: f.content.into_bytes(),
        });
    }
    if !files.iter().any(|f| f.name == lang.file) {
        files[0].name = lang.file.clone();
    }
    let limits = lang
        .limits
        .with_overrides(&req.limits, &config.max_limits)?;
    let mut run = lang.run.clone();
    let suite = match req.tests {
        None => {
            run.extend(req.args);
            None
        }
        Some(suite) => {
            check_suite(&suite, &req.stdin, req.tty.is_some())?;
            Some(PreparedSuite {
                suite,
                run: lang.run.clone(),
                args: req.args,
            })
        }
    };
    let (stdin, close_stdin) = match &suite {
        None => (req.stdin, req.close_stdin),
        Some(suite) => {
            let (argv, stdin) = first_case(suite);
            run = argv;
            (stdin, true)
        }
    };
    let compile = compile_command(lang, req.compile_options)?;
    let spec = RunSpec {
        files,
        compile,
        run,
        env: language_env(lang),
        stdin,
        close_stdin,
        tty: req.tty,
        limits: run_limits(&limits, config),
        cases: suite.is_some(),
        // A judged run's verdict is its output; files it writes are not kept.
        artifacts: if suite.is_some() {
            ArtifactLimits::NONE
        } else {
            artifact_limits(config)
        },
        compiled: Vec::new(),
        capture_compiled_bytes: 0,
    };
    Ok(Prepared {
        language: lang.id.clone(),
        spec,
        limits,
        suite,
    })
}

/// The language's compile command with the client's options before the main file (where
/// compilers take options: `go build` refuses them after its files), or at the end of a
/// command that does not name the file.
fn compile_command(lang: &Language, options: Vec<String>) -> Result<Vec<String>, PoolError> {
    if options.is_empty() {
        return Ok(lang.compile.clone());
    }
    if lang.compile.is_empty() {
        return Err(PoolError::InvalidRequest(format!(
            "{} has no compile step: compile_options are for compiled languages",
            lang.id
        )));
    }
    let mut argv = lang.compile.clone();
    let at = argv
        .iter()
        .position(|a| *a == lang.file)
        .unwrap_or(argv.len());
    argv.splice(at..at, options);
    Ok(argv)
}

/// The engine's rules for a suite (the server also bounds how many cases it takes).
fn check_suite(suite: &TestSuite, stdin: &[u8], tty: bool) -> Result<(), PoolError> {
    let bad = |m: String| Err(PoolError::InvalidRequest(m));
    if suite.cases.is_empty() {
        return bad("tests must not be empty".into());
    }
    if tty || !stdin.is_empty() {
        return bad("tests cannot be combined with stdin or a terminal".into());
    }
    if let Some(i) = suite
        .cases
        .iter()
        .position(|c| c.stdin.len() > MAX_STDIN_BYTES)
    {
        return bad(format!("tests[{i}].stdin is over {MAX_STDIN_BYTES} bytes"));
    }
    if let warmrun_api::Comparison::Numbers { tolerance } = suite.comparison {
        if !tolerance.is_finite() || tolerance < 0.0 {
            return bad("comparison tolerance must be a finite number >= 0".into());
        }
    }
    Ok(())
}

impl RunHandle {
    /// Waits for the end of the run, collecting its output.
    pub async fn collect(mut self) -> RunResult {
        let mut result = RunResult {
            outcome: failed(Instant::now()),
            compile: None,
            stdout: Vec::new(),
            stderr: Vec::new(),
        };
        while let Some(ev) = self.events.recv().await {
            match ev {
                RunEvent::Stdout(b) => result.stdout.extend_from_slice(&b),
                RunEvent::Stderr(b) => result.stderr.extend_from_slice(&b),
                RunEvent::Compiled(c) => result.compile = Some(c),
                RunEvent::Exit(o) => {
                    result.outcome = o;
                    break;
                }
                RunEvent::Started | RunEvent::WaitingForInput => {}
            }
        }
        result
    }
}

/// A span per run with a process-unique id, so a run's log lines can be told apart.
pub(crate) fn run_span(language: &LanguageId) -> tracing::Span {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    let id = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    tracing::info_span!("run", id, language = %language)
}

/// The environment a language's steps get besides the agent's basics.
fn language_env(lang: &Language) -> Vec<(String, String)> {
    lang.env
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// The limits the agent enforces for a run with these (resolved) limits.
fn run_limits(limits: &Limits, cfg: &EngineConfig) -> RunLimits {
    RunLimits {
        wall_ms: limits.wall_ms,
        cpu_ms: limits.cpu_ms,
        output_bytes: limits.output_kb * 1024,
        compile_wall_ms: limits.compile_wall_ms,
        file_size_bytes: cfg.file_size_mb * 1024 * 1024,
        processes: cfg.processes,
        open_files: cfg.open_files,
        idle_ms: limits.idle_ms,
    }
}

/// Largest total of artifact bytes an engine takes, whatever its configuration says: they
/// travel in one frame per file (at most `agent::MAX_FRAME_BYTES`) and in every result.
pub const MAX_ARTIFACT_BYTES: u64 = 32 * 1024 * 1024;

/// The engine's bounds on a run's artifacts.
pub(crate) fn artifact_limits(cfg: &EngineConfig) -> ArtifactLimits {
    ArtifactLimits {
        files: cfg.artifacts_max_files,
        bytes: cfg.artifacts_max_bytes.min(MAX_ARTIFACT_BYTES),
    }
}

/// What the agent should keep prestarted for `lang`: the interpreter of a run with the
/// language's default limits and no extra arguments (the common case), if the language
/// has a zygote and the engine uses them.
pub(crate) fn prestart_spec(lang: &Language, cfg: &EngineConfig) -> Option<PrestartSpec> {
    let kind = lang.zygote.filter(|_| cfg.zygotes)?;
    let file_at = lang.run.iter().position(|a| *a == lang.file)?;
    let limits = lang
        .limits
        .with_overrides(&LimitOverrides::default(), &cfg.max_limits)
        .ok()?;
    Some(PrestartSpec {
        kind,
        run_prefix: lang.run[..file_at].to_vec(),
        file: lang.file.clone(),
        env: language_env(lang),
        limits: run_limits(&limits, cfg),
        fork_server: cfg.fork_server,
    })
}

/// An outcome for a run that never reached a container.
pub(crate) fn failed(asked: Instant) -> RunOutcome {
    let total_ms = asked.elapsed().as_millis() as u64;
    RunOutcome {
        exit: ExitReport::unmeasured(Verdict::InternalError),
        lease: LeaseKind::Cold,
        lease_ms: total_ms,
        total_ms,
        artifacts: Artifacts::default(),
    }
}

/// Gives the leased container the run's memory limit. A container that cannot take it in
/// place is replaced by a fresh one created with it: under gVisor always (runsc cannot change
/// a running sandbox's limit), under runc when the update fails or when shrinking the limit
/// below what the container held made the kernel's OOM killer take its agent. The program
/// has not started yet, so the replacement loses nothing.
pub(crate) async fn apply_memory_limit(
    shared: &Shared,
    lease: &mut Lease,
    memory_mb: u64,
) -> Result<(), PoolError> {
    let had_mb = lease.container().memory_mb;
    if had_mb == memory_mb {
        return Ok(());
    }
    let lang = lease.language().clone();
    if shared.config.runtime == Runtime::Runsc {
        return lease
            .container()
            .recreate_with_memory(&lang, &shared.config, memory_mb)
            .await;
    }
    let kept = match lease.container().set_memory(memory_mb).await {
        // Only a shrink can cost the agent its life; checking costs one round trip.
        Ok(()) if memory_mb > had_mb => true,
        Ok(()) => lease.container().answers(Duration::from_secs(5)).await,
        Err(e) => {
            warn!("updating the memory limit in place failed ({e}); replacing the container");
            false
        }
    };
    if kept {
        return Ok(());
    }
    lease
        .container()
        .recreate_with_memory(&lang, &shared.config, memory_mb)
        .await
}

/// Drives one run on a leased container, forwarding events and controls, then releases the
/// container (reset) or destroys it if the agent stopped answering.
pub(crate) async fn drive(
    shared: Arc<Shared>,
    mut lease: Lease,
    prepared: Prepared,
    asked: Instant,
    events: mpsc::Sender<RunEvent>,
    mut controls: mpsc::UnboundedReceiver<RunControl>,
) {
    let lang = prepared.language.as_str().to_string();
    let m = shared.metrics.clone();
    let lease_kind = lease.kind;
    let lease_ms = lease.waited.as_millis() as u64;
    if let Err(e) = apply_memory_limit(&shared, &mut lease, prepared.limits.memory_mb).await {
        warn!("giving the container the run's memory limit failed: {e}");
        lease.discard("update_failed").await;
        let _ = events.send(RunEvent::Exit(failed(asked))).await;
        return;
    }
    let mut spec = prepared.spec;
    let cache = shared.compile_cache.as_ref();
    let plan = CompilePlan::make(cache, shared.language(&prepared.language), &mut spec).await;
    let container = lease.container();
    let artifact_limits = spec.artifacts;
    let sent = Instant::now();
    let sent_at = std::time::SystemTime::now();
    if container.send(Request::Run(Box::new(spec))).is_err() {
        lease.discard("dead").await;
        let _ = events.send(RunEvent::Exit(failed(asked))).await;
        return;
    }
    let mut client_gone = false;
    if let CompilePlan::Hit(report) = &plan {
        if events
            .send(RunEvent::Compiled(report.clone()))
            .await
            .is_err()
        {
            client_gone = true;
            let _ = lease.container().send(Request::Kill);
        }
    }
    let mut compiled_files = None;
    // The agent enforces the limits; this only catches an agent that stopped answering.
    let slack = Duration::from_secs(15);
    let guard =
        Duration::from_millis(prepared.limits.wall_ms + prepared.limits.compile_wall_ms) + slack;
    let mut deadline = tokio::time::Instant::now() + guard;
    // Once the program waits for input, the agent stops its wall clock: from then on it may
    // wait up to the idle limit and still run for its whole wall time.
    let after_wait =
        Duration::from_millis(prepared.limits.idle_ms + prepared.limits.wall_ms) + slack;
    let mut waited = false;
    let mut artifacts = Artifacts::default();
    let mut controls_open = true;
    let exit = loop {
        let container = lease.container();
        tokio::select! {
            ev = container.recv() => {
                let Some(ev) = ev else { break None };
                let forward = match ev {
                    Event::Started => Some(RunEvent::Started),
                    Event::WaitingForInput => {
                        waited = true;
                        deadline = deadline.max(tokio::time::Instant::now() + after_wait);
                        Some(RunEvent::WaitingForInput)
                    }
                    Event::Stdout(b) => Some(RunEvent::Stdout(b)),
                    Event::Stderr(b) => Some(RunEvent::Stderr(b)),
                    Event::Compiled(c) => {
                        m.compile_seconds
                            .with_label_values(&[&lang, c.exit.verdict.as_str()])
                            .observe(c.exit.wall_ms as f64 / 1000.0);
                        plan.keep(cache, &c, compiled_files.take());
                        Some(RunEvent::Compiled(c))
                    }
                    Event::CompileOutput(files) => {
                        compiled_files = Some(files);
                        None
                    }
                    Event::Exit(report) => break Some(report),
                    Event::Artifact { name, data } => {
                        artifacts.take(name, data, artifact_limits);
                        None
                    }
                    Event::ArtifactsTruncated => {
                        artifacts.truncated = true;
                        None
                    }
                    Event::Error { message, .. } => {
                        warn!("agent: {message}");
                        None
                    }
                    Event::Ready { .. } | Event::Pong => None,
                };
                if let Some(f) = forward {
                    if !client_gone && events.send(f).await.is_err() {
                        client_gone = true;
                        let _ = container.send(Request::Kill);
                    }
                }
            }
            ctl = controls.recv(), if controls_open => {
                let req = match ctl {
                    Some(RunControl::Stdin(b)) => {
                        // Keystrokes that complete no line keep a wait going on a terminal,
                        // with the idle limit counted from the last of them.
                        if waited {
                            deadline = deadline.max(tokio::time::Instant::now() + after_wait);
                        }
                        Request::Stdin(b)
                    }
                    Some(RunControl::Eof) => Request::CloseStdin,
                    Some(RunControl::Kill) => Request::Kill,
                    Some(RunControl::Resize(s)) => Request::Resize { cols: s.cols, rows: s.rows },
                    None => {
                        // The client went away: stop the program, keep the container.
                        controls_open = false;
                        Request::Kill
                    }
                };
                let _ = container.send(req);
            }
            _ = tokio::time::sleep_until(deadline) => break None,
        }
    };
    let total_ms = asked.elapsed().as_millis() as u64;
    match exit {
        Some(report) => {
            let verdict = report.verdict.as_str();
            m.runs.with_label_values(&[&lang, verdict]).inc();
            m.run_seconds
                .with_label_values(&[&lang, verdict])
                .observe(total_ms as f64 / 1000.0);
            m.exec_seconds
                .with_label_values(&[&lang, verdict])
                .observe(report.wall_ms as f64 / 1000.0);
            let outcome = RunOutcome {
                exit: report,
                lease: lease_kind,
                lease_ms,
                total_ms,
                artifacts,
            };
            let _ = events.send(RunEvent::Exit(outcome)).await;
            lease.release().await;
        }
        None => {
            // A container that died of its memory limit (the whole gVisor sandbox goes when
            // a program exhausts it) is the program's doing: report it as such.
            let oom = lease.container().oom_killed(sent_at).await;
            let mut outcome = failed(asked);
            if oom {
                warn!("the container was OOM-killed; destroying it");
                outcome.exit = ExitReport {
                    signal: Some(9),
                    wall_ms: sent.elapsed().as_millis() as u64,
                    ..ExitReport::unmeasured(Verdict::MemoryLimit)
                };
                outcome.lease = lease_kind;
                outcome.lease_ms = lease_ms;
            } else {
                warn!("the container stopped answering; destroying it");
            }
            lease.discard(if oom { "oom" } else { "dead" }).await;
            let verdict = outcome.exit.verdict.as_str();
            m.runs.with_label_values(&[&lang, verdict]).inc();
            let _ = events.send(RunEvent::Exit(outcome)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::compile_command;
    use crate::catalog::Catalog;

    fn words(w: &[&str]) -> Vec<String> {
        w.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn compile_options_go_before_the_main_file() {
        let catalog = Catalog::parse(include_str!("../../images/languages.toml")).unwrap();
        let go = catalog.resolve("go", None).unwrap();
        let argv = compile_command(go, words(&["-gcflags=-N"])).unwrap();
        assert_eq!(
            argv,
            words(&["go", "build", "-o", "main", "-gcflags=-N", "main.go"])
        );
        let c = catalog.resolve("c", None).unwrap();
        assert_eq!(compile_command(c, vec![]).unwrap(), c.compile);
        let python = catalog.resolve("python", None).unwrap();
        assert!(compile_command(python, words(&["-O"])).is_err());
    }
}
