//! The one way a run goes through the server, whichever API asked for it (REST, submissions,
//! WebSocket, Piston): lease a container (reporting queue positions), start, stream or
//! collect the output as whole UTF-8 text, record the finished run, count refusals and map
//! the core's errors to the API's.
//!
//! - [`collect`]: run to completion, the result in the API's shape.
//! - [`start`]: a [`LiveRun`] whose [`LiveRun::next`] gives events with text output;
//!   [`LiveRun::control`] steers it (stdin, eof, kill, resize); dropping it kills the run.

use crate::error::ApiError;
use crate::state::SharedState;
use crate::wire::{ToApi, Utf8Chunker};
use axum::http::StatusCode;
use pool::{CompileReport, ExitReport, LeaseKind, PoolError, RunControl, RunEvent, RunHandle};
use pool::{RunFingerprint, RunOutcome, RunRequest, Verdict};
use std::collections::VecDeque;
use std::time::Instant;
use warmrun_api::{QueuePosition, RunResultJson};

/// A live run's event, its output already decoded.
#[derive(Debug, Clone, PartialEq)]
pub enum LiveEvent {
    /// The compile step finished (compiled languages, before `Started`).
    Compiled(CompileReport),
    /// The program started.
    Started,
    /// The program is blocked reading its empty stdin (interactive runs, once per wait).
    WaitingForInput,
    /// Output text; a character split across chunks comes whole in one event.
    Stdout(String),
    Stderr(String),
    /// The run is over (and recorded); nothing follows.
    Exit(RunOutcome),
}

/// A run in progress.
pub struct LiveRun {
    state: SharedState,
    /// Catalog id, for the statistics.
    language: String,
    handle: RunHandle,
    stdout: Utf8Chunker,
    stderr: Utf8Chunker,
    /// Events decoded but not handed out yet (the held-back output before `Exit`).
    ready: VecDeque<LiveEvent>,
    over: bool,
}

/// Runs `req` to completion and answers with its result; a run with tests is judged
/// ([`judge`]). With the result cache on for it (the server's setting for the language, or
/// `cache`, what the request asked), an identical earlier run's stored result answers
/// instead, and this run's result is stored for the next.
pub async fn collect(
    state: &SharedState,
    req: RunRequest,
    cache: Option<bool>,
) -> Result<RunResultJson, ApiError> {
    let asked = Instant::now();
    check_tests(state, &req)?;
    let key = cache_key(state, &req, cache)?;
    if let (Some(store), Some((fingerprint, _))) = (&state.result_cache, &key) {
        if let Some(mut stored) = store.get(fingerprint).await {
            stored.cached = true;
            stored.exit.total_ms = u64::try_from(asked.elapsed().as_millis()).unwrap_or(u64::MAX);
            return Ok(stored);
        }
    }
    let result = if req.tests.is_some() {
        judge(state, req).await?
    } else {
        start(state.clone(), req, |_| {}).await?.collect().await
    };
    if let (Some(store), Some((fingerprint, language))) = (&state.result_cache, key) {
        store.put(fingerprint, language, &result);
    }
    Ok(result)
}

/// The run's fingerprint and language id when the result cache applies to it.
fn cache_key(
    state: &SharedState,
    req: &RunRequest,
    asked: Option<bool>,
) -> Result<Option<(RunFingerprint, String)>, ApiError> {
    if state.result_cache.is_none() || asked == Some(false) {
        return Ok(None);
    }
    let lang = state
        .engine
        .language_at(&req.language, req.version.as_deref())
        .map_err(|e| refused(state, e))?;
    let base = lang.version_of.as_ref().map(|b| b.0.as_str());
    if !state.config.result_cache.applies(&lang.id.0, base, asked) {
        return Ok(None);
    }
    let fingerprint = state
        .engine
        .fingerprint(req)
        .map_err(|e| refused(state, e))?;
    Ok(Some((fingerprint, lang.id.0.clone())))
}

/// The server's rule for judged runs: at most `max_tests` cases (checked where a run is
/// taken on, so that a submission is refused at once rather than in the background).
pub fn check_tests(state: &SharedState, req: &RunRequest) -> Result<(), ApiError> {
    let Some(suite) = &req.tests else {
        return Ok(());
    };
    let max = state.config.max_tests;
    if suite.cases.len() > max {
        state.metrics.reject("bad_request");
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_many_tests",
            format!(
                "{} test cases given; at most {max} are allowed",
                suite.cases.len()
            ),
        ));
    }
    Ok(())
}

/// Judge mode: one lease and one compile for every case (the engine's `judge`), recorded
/// once in the statistics with the run's overall verdict.
async fn judge(state: &SharedState, req: RunRequest) -> Result<RunResultJson, ApiError> {
    let language = match state
        .engine
        .language_at(&req.language, req.version.as_deref())
    {
        Ok(l) => l.id.to_string(),
        Err(e) => return Err(refused(state, e)),
    };
    let judged = state
        .engine
        .judge(req, &mut |_| {})
        .await
        .map_err(|e| refused(state, e))?;
    record(state, &language, &judged.outcome);
    Ok(judged.to_api())
}

/// Leases a container for `req` (telling `on_position` the place in the queue while it
/// waits) and starts the run. Errors come before anything runs: a refused request, a full
/// queue, no capacity; they are counted as refusals where they are the client's or the
/// load's doing.
pub async fn start(
    state: SharedState,
    req: RunRequest,
    mut on_position: impl FnMut(QueuePosition) + Send,
) -> Result<LiveRun, ApiError> {
    let language = match state
        .engine
        .language_at(&req.language, req.version.as_deref())
    {
        Ok(l) => l.id.to_string(),
        Err(e) => return Err(refused(&state, e)),
    };
    let mut report = |p: usize| on_position(QueuePosition::try_from(p).unwrap_or(u32::MAX));
    match state.engine.lease_and_start(req, &mut report).await {
        Ok(handle) => Ok(LiveRun {
            state,
            language,
            handle,
            stdout: Utf8Chunker::default(),
            stderr: Utf8Chunker::default(),
            ready: VecDeque::new(),
            over: false,
        }),
        Err(e) => Err(refused(&state, e)),
    }
}

/// Counts a refusal the client or the load caused, and maps the error.
fn refused(state: &SharedState, e: PoolError) -> ApiError {
    match e {
        PoolError::QueueFull(_) => state.metrics.reject("queue_full"),
        PoolError::InvalidRequest(_)
        | PoolError::UnknownLanguage(_)
        | PoolError::UnknownVersion { .. } => state.metrics.reject("bad_request"),
        _ => {}
    }
    e.into()
}

impl LiveRun {
    /// The next event; `None` after `Exit`. Cancel-safe: nothing is lost when the future
    /// is dropped before it completes (e.g. in a `select!`).
    pub async fn next(&mut self) -> Option<LiveEvent> {
        loop {
            if let Some(ev) = self.ready.pop_front() {
                return Some(ev);
            }
            if self.over {
                return None;
            }
            let ev = self.handle.events.recv().await;
            self.take(ev);
        }
    }

    /// Steers the run; ignored once it is over.
    pub fn control(&self, control: RunControl) {
        let _ = self.handle.controls.send(control);
    }

    /// Waits for the end, collecting the output.
    pub async fn collect(mut self) -> RunResultJson {
        let (mut stdout, mut stderr, mut compile) = (String::new(), String::new(), None);
        loop {
            match self.next().await {
                Some(LiveEvent::Stdout(s)) => stdout += &s,
                Some(LiveEvent::Stderr(s)) => stderr += &s,
                Some(LiveEvent::Compiled(c)) => compile = Some(c.to_api()),
                Some(LiveEvent::Started | LiveEvent::WaitingForInput) => {}
                Some(LiveEvent::Exit(outcome)) => {
                    return RunResultJson {
                        exit: outcome.to_api(),
                        stdout,
                        stderr,
                        compile,
                        tests: None,
                        artifacts: outcome.artifacts.to_api(),
                        cached: false,
                    }
                }
                None => unreachable!("a run always ends with Exit"),
            }
        }
    }

    /// Decodes one event of the core into `ready`.
    fn take(&mut self, ev: Option<RunEvent>) {
        let text = |s: String, f: fn(String) -> LiveEvent| (!s.is_empty()).then(|| f(s));
        let ev = match ev {
            Some(RunEvent::Stdout(b)) => text(self.stdout.push(&b), LiveEvent::Stdout),
            Some(RunEvent::Stderr(b)) => text(self.stderr.push(&b), LiveEvent::Stderr),
            Some(RunEvent::Compiled(c)) => Some(LiveEvent::Compiled(c)),
            Some(RunEvent::Started) => Some(LiveEvent::Started),
            Some(RunEvent::WaitingForInput) => Some(LiveEvent::WaitingForInput),
            Some(RunEvent::Exit(outcome)) => Some(self.finish(outcome)),
            None => {
                // The run's task ended without an exit: not the program's fault.
                tracing::error!("a run ended without a result");
                Some(self.finish(RunOutcome {
                    exit: ExitReport::unmeasured(Verdict::InternalError),
                    lease: LeaseKind::Warm,
                    lease_ms: 0,
                    total_ms: 0,
                    artifacts: Default::default(),
                }))
            }
        };
        self.ready.extend(ev);
    }

    /// The end: held-back output first, then the exit; the run is recorded.
    fn finish(&mut self, outcome: RunOutcome) -> LiveEvent {
        self.over = true;
        for (rest, f) in [
            (
                self.stdout.finish(),
                LiveEvent::Stdout as fn(String) -> LiveEvent,
            ),
            (self.stderr.finish(), LiveEvent::Stderr),
        ] {
            if !rest.is_empty() {
                self.ready.push_back(f(rest));
            }
        }
        record(&self.state, &self.language, &outcome);
        LiveEvent::Exit(outcome)
    }
}

/// Counts a finished run in the statistics: the only place the server does. Off the hot
/// path: it only queues a record for the store's batch writer (the core has counted it in
/// its own metrics already).
fn record(state: &SharedState, language: &str, outcome: &RunOutcome) {
    state.snippets.record_run(language, outcome);
}
