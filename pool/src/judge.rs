//! Judge mode: one lease, one compile, then every test case in turn on the same container.
//!
//! The first case goes out as the run itself (`Request::Run` with `cases` set: the agent
//! keeps the workspace as the compile step leaves it); every further case as a
//! `Request::Case`, before which the agent kills what is left of the sandbox uid and
//! restores the workspace, `/tmp` and the rest. A case's input enters the container only
//! when that case runs, and expected outputs never do: they are compared here.

use crate::compare::same_output;
use crate::compile_cache::CompilePlan;
use crate::lease::Lease;
use crate::run::{apply_memory_limit, failed, Prepared, RunOutcome};
use crate::state::Shared;
use agent::{CaseSpec, CompileReport, Event, ExitReport, Request, Verdict};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tracing::warn;
use warmrun_api::{Comparison, TestCase, CASE_OUTPUT_CAP};

/// The test cases of a run and how they are judged.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TestSuite {
    pub cases: Vec<TestCase>,
    pub comparison: Comparison,
    /// Run no case after the first one that fails.
    pub stop_on_first_failure: bool,
}

/// One case's result.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseResult {
    /// Its place in the suite, from 0.
    pub index: usize,
    /// `Accepted`/`WrongAnswer` for a case with expected output that exited 0; else the
    /// program's own verdict.
    pub verdict: Verdict,
    pub exit: ExitReport,
    /// At most [`CASE_OUTPUT_CAP`] bytes each; `exit.truncated` also tells of this cut.
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

/// A judged run: the compile step once, the cases run, and the run as a whole.
#[derive(Debug, Clone, PartialEq)]
pub struct JudgeResult {
    /// The whole run: the first failing case's verdict (`CompileError` if compiling
    /// failed), else `Accepted` (`Ok` when no case had an expected output); times and CPU
    /// summed over the cases, the largest memory.
    pub outcome: RunOutcome,
    pub compile: Option<CompileReport>,
    pub cases: Vec<CaseResult>,
    /// Cases in the suite (more than `cases` when some did not run).
    pub total: usize,
}

impl JudgeResult {
    /// Cases that passed.
    pub fn passed(&self) -> usize {
        self.cases.iter().filter(|c| c.verdict.passes()).count()
    }

    /// The index of the first case that failed.
    pub fn first_failure(&self) -> Option<usize> {
        self.cases
            .iter()
            .find(|c| !c.verdict.passes())
            .map(|c| c.index)
    }
}

/// What the judge needs besides the prepared run (whose spec carries the first case).
pub(crate) struct PreparedSuite {
    pub(crate) suite: TestSuite,
    /// The run command without arguments.
    pub(crate) run: Vec<String>,
    /// The run's arguments, for cases without their own.
    pub(crate) args: Vec<String>,
}

impl PreparedSuite {
    fn argv(&self, case: &TestCase) -> Vec<String> {
        let mut argv = self.run.clone();
        argv.extend(case.args.as_ref().unwrap_or(&self.args).iter().cloned());
        argv
    }
}

/// The argv and stdin of the first case, for the run's own spec.
pub(crate) fn first_case(suite: &PreparedSuite) -> (Vec<String>, Vec<u8>) {
    let case = &suite.suite.cases[0];
    (suite.argv(case), case.stdin.as_bytes().to_vec())
}

/// One step (the run with its compile step, or a case) as the agent reported it.
struct Step {
    compile: Option<CompileReport>,
    /// What the compile step left, when the agent was asked for it.
    compiled_files: Option<Vec<agent::CompiledFile>>,
    exit: ExitReport,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

/// Drives every case of a judged run on the leased container, then releases it (reset) or
/// destroys it if the agent stopped answering.
pub(crate) async fn drive_cases(
    shared: Arc<Shared>,
    mut lease: Lease,
    prepared: Prepared,
    suite: PreparedSuite,
    asked: Instant,
) -> JudgeResult {
    let lang = prepared.language.as_str().to_string();
    let m = shared.metrics.clone();
    let lease_kind = lease.kind;
    let lease_ms = lease.waited.as_millis() as u64;
    let total = suite.suite.cases.len();
    let mut result = JudgeResult {
        outcome: failed(asked),
        compile: None,
        cases: Vec::new(),
        total,
    };
    if let Err(e) = apply_memory_limit(&shared, &mut lease, prepared.limits.memory_mb).await {
        warn!("giving the container the run's memory limit failed: {e}");
        lease.discard("update_failed").await;
        return result;
    }
    let limits = prepared.limits;
    let slack = Duration::from_secs(15);
    let mut spec = prepared.spec;
    let cache = shared.compile_cache.as_ref();
    let plan = CompilePlan::make(cache, shared.language(&prepared.language), &mut spec).await;
    if let CompilePlan::Hit(report) = &plan {
        result.compile = Some(report.clone());
    }
    let mut first = Some(spec);
    let mut dead: Option<&'static str> = None;
    let mut stopped: Option<ExitReport> = None;
    for (index, case) in suite.suite.cases.iter().enumerate() {
        let (request, guard) = match first.take() {
            Some(spec) => (
                Request::Run(Box::new(spec)),
                Duration::from_millis(limits.wall_ms + limits.compile_wall_ms) + slack,
            ),
            None => (
                Request::Case(CaseSpec {
                    run: suite.argv(case),
                    stdin: case.stdin.as_bytes().to_vec(),
                }),
                Duration::from_millis(limits.wall_ms) + slack,
            ),
        };
        let sent_at = std::time::SystemTime::now();
        let sent = Instant::now();
        let step = match lease.container().send(request) {
            Ok(()) => step(&mut lease, guard).await,
            Err(_) => None,
        };
        let Some(step) = step else {
            // A container that died of its memory limit is the program's doing.
            let oom = lease.container().oom_killed(sent_at).await;
            let exit = if oom {
                ExitReport {
                    signal: Some(9),
                    wall_ms: sent.elapsed().as_millis() as u64,
                    ..ExitReport::unmeasured(Verdict::MemoryLimit)
                }
            } else {
                ExitReport::unmeasured(Verdict::InternalError)
            };
            warn!(
                oom,
                "the container stopped answering during case {index}; destroying it"
            );
            dead = Some(if oom { "oom" } else { "dead" });
            m.runs
                .with_label_values(&[&lang, exit.verdict.as_str()])
                .inc();
            result.cases.push(CaseResult {
                index,
                verdict: exit.verdict,
                exit,
                stdout: Vec::new(),
                stderr: Vec::new(),
            });
            break;
        };
        if let Some(c) = step.compile {
            plan.keep(cache, &c, step.compiled_files);
            m.compile_seconds
                .with_label_values(&[&lang, c.exit.verdict.as_str()])
                .observe(c.exit.wall_ms as f64 / 1000.0);
            let compiled = c.exit.verdict == Verdict::Ok;
            result.compile = Some(c);
            if !compiled {
                stopped = Some(step.exit);
                break;
            }
        }
        let verdict = match (&case.expected_stdout, step.exit.verdict) {
            (Some(want), Verdict::Ok) => {
                if same_output(suite.suite.comparison, want.as_bytes(), &step.stdout) {
                    Verdict::Accepted
                } else {
                    Verdict::WrongAnswer
                }
            }
            (_, v) => v,
        };
        m.runs.with_label_values(&[&lang, verdict.as_str()]).inc();
        m.exec_seconds
            .with_label_values(&[&lang, verdict.as_str()])
            .observe(step.exit.wall_ms as f64 / 1000.0);
        let (stdout, cut_out) = capped(step.stdout);
        let (stderr, cut_err) = capped(step.stderr);
        let mut exit = step.exit;
        exit.truncated |= cut_out || cut_err;
        result.cases.push(CaseResult {
            index,
            verdict,
            exit,
            stdout,
            stderr,
        });
        if verdict == Verdict::InternalError
            || (suite.suite.stop_on_first_failure && !verdict.passes())
        {
            break;
        }
    }
    let total_ms = asked.elapsed().as_millis() as u64;
    result.outcome = RunOutcome {
        exit: stopped.unwrap_or_else(|| overall(&result.cases, &suite.suite.cases)),
        lease: lease_kind,
        lease_ms,
        total_ms,
        artifacts: Default::default(),
    };
    let verdict = result.outcome.exit.verdict.as_str();
    m.run_seconds
        .with_label_values(&[&lang, verdict])
        .observe(total_ms as f64 / 1000.0);
    match dead {
        None => lease.release().await,
        Some(reason) => lease.discard(reason).await,
    }
    result
}

/// Reads one step's events up to its exit; `None` when the agent stopped answering within
/// `guard` (the agent enforces the limits; this only catches a dead one).
async fn step(lease: &mut Lease, guard: Duration) -> Option<Step> {
    let deadline = tokio::time::Instant::now() + guard;
    let mut step = Step {
        compile: None,
        compiled_files: None,
        exit: ExitReport::unmeasured(Verdict::InternalError),
        stdout: Vec::new(),
        stderr: Vec::new(),
    };
    loop {
        let ev = tokio::select! {
            ev = lease.container().recv() => ev?,
            _ = tokio::time::sleep_until(deadline) => return None,
        };
        match ev {
            Event::Stdout(b) => step.stdout.extend_from_slice(&b),
            Event::Stderr(b) => step.stderr.extend_from_slice(&b),
            Event::Compiled(c) => step.compile = Some(c),
            Event::CompileOutput(files) => step.compiled_files = Some(files),
            Event::Exit(report) => {
                step.exit = report;
                return Some(step);
            }
            Event::Error { message, .. } => warn!("agent: {message}"),
            Event::Started
            | Event::WaitingForInput
            | Event::Ready { .. }
            | Event::Pong
            | Event::Artifact { .. }
            | Event::ArtifactsTruncated => {}
        }
    }
}

/// Output cut to what a result carries, and whether it was cut.
fn capped(mut bytes: Vec<u8>) -> (Vec<u8>, bool) {
    let cut = bytes.len() > CASE_OUTPUT_CAP;
    bytes.truncate(CASE_OUTPUT_CAP);
    (bytes, cut)
}

/// The run as a whole from its cases (see [`JudgeResult::outcome`]).
fn overall(cases: &[CaseResult], suite: &[TestCase]) -> ExitReport {
    let Some(last) = cases.last() else {
        return ExitReport::unmeasured(Verdict::InternalError);
    };
    let deciding = cases.iter().find(|c| !c.verdict.passes()).unwrap_or(last);
    let verdict = if !deciding.verdict.passes() {
        deciding.verdict
    } else if suite.iter().any(|c| c.expected_stdout.is_some()) {
        Verdict::Accepted
    } else {
        Verdict::Ok
    };
    ExitReport {
        verdict,
        exit_code: deciding.exit.exit_code,
        signal: deciding.exit.signal,
        wall_ms: cases.iter().map(|c| c.exit.wall_ms).sum(),
        cpu_ms: cases.iter().map(|c| c.exit.cpu_ms).sum(),
        memory_kb: cases.iter().map(|c| c.exit.memory_kb).max().unwrap_or(0),
        truncated: cases.iter().any(|c| c.exit.truncated),
    }
}
