//! Between the API's JSON shapes (`warmrun_api`) and the execution core's types (`pool`):
//! one conversion per pair, and output bytes turned into whole UTF-8 text.
//!
//! Both sides are foreign to this crate, so the conversions are the local traits
//! [`ToApi`] and [`ToPool`] rather than `From`.

use pool::{CompileReport, JudgeResult, RunOutcome, RunRequest, RunResult, TestSuite, TtySize};
use warmrun_api::{
    CaseResultJson, CompileJson, ExitJson, Invalid, Limits, RunBody, RunFrame, RunResultJson,
    TestSummaryJson, TestsJson,
};

/// Default terminal size for tty runs that do not say.
const DEFAULT_TTY: TtySize = TtySize { cols: 80, rows: 24 };

/// A core type as the API shows it.
pub trait ToApi {
    type Api;
    fn to_api(&self) -> Self::Api;
}

/// An API type as the core takes it.
pub trait ToPool {
    type Pool;
    fn to_pool(self) -> Self::Pool;
}

impl ToApi for CompileReport {
    type Api = CompileJson;
    fn to_api(&self) -> CompileJson {
        CompileJson {
            verdict: self.exit.verdict,
            exit_code: self.exit.exit_code,
            signal: self.exit.signal,
            wall_ms: self.exit.wall_ms,
            stdout: String::from_utf8_lossy(&self.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&self.stderr).into_owned(),
            cached: self.cached,
        }
    }
}

impl ToApi for RunOutcome {
    type Api = ExitJson;
    fn to_api(&self) -> ExitJson {
        ExitJson {
            verdict: self.exit.verdict,
            exit_code: self.exit.exit_code,
            signal: self.exit.signal,
            wall_ms: self.exit.wall_ms,
            cpu_ms: self.exit.cpu_ms,
            memory_kb: self.exit.memory_kb,
            truncated: self.exit.truncated,
            lease: self.lease,
            total_ms: self.total_ms,
            artifacts_truncated: self.artifacts.truncated,
        }
    }
}

impl ToApi for pool::Artifact {
    type Api = warmrun_api::Artifact;
    fn to_api(&self) -> warmrun_api::Artifact {
        use base64::Engine as _;
        warmrun_api::Artifact {
            name: self.name.clone(),
            mime: warmrun_api::mime_for(&self.name).to_string(),
            size: self.data.len() as u64,
            data: base64::engine::general_purpose::STANDARD.encode(&self.data),
        }
    }
}

impl ToApi for pool::Artifacts {
    type Api = Vec<warmrun_api::Artifact>;
    fn to_api(&self) -> Vec<warmrun_api::Artifact> {
        self.files.iter().map(ToApi::to_api).collect()
    }
}

impl ToApi for RunResult {
    type Api = RunResultJson;
    fn to_api(&self) -> RunResultJson {
        RunResultJson {
            exit: self.outcome.to_api(),
            stdout: String::from_utf8_lossy(&self.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&self.stderr).into_owned(),
            compile: self.compile.as_ref().map(ToApi::to_api),
            tests: None,
            artifacts: self.outcome.artifacts.to_api(),
            cached: false,
        }
    }
}

impl ToApi for JudgeResult {
    type Api = RunResultJson;
    /// The run's own output stays empty: each case carries its own.
    fn to_api(&self) -> RunResultJson {
        let cases = self
            .cases
            .iter()
            .map(|c| CaseResultJson {
                index: c.index,
                verdict: c.verdict,
                exit_code: c.exit.exit_code,
                signal: c.exit.signal,
                wall_ms: c.exit.wall_ms,
                cpu_ms: c.exit.cpu_ms,
                memory_kb: c.exit.memory_kb,
                truncated: c.exit.truncated,
                stdout: String::from_utf8_lossy(&c.stdout).into_owned(),
                stderr: String::from_utf8_lossy(&c.stderr).into_owned(),
            })
            .collect();
        RunResultJson {
            exit: self.outcome.to_api(),
            stdout: String::new(),
            stderr: String::new(),
            compile: self.compile.as_ref().map(ToApi::to_api),
            tests: Some(TestsJson {
                cases,
                summary: TestSummaryJson {
                    passed: self.passed(),
                    total: self.total,
                    run: self.cases.len(),
                    first_failure: self.first_failure(),
                },
            }),
            artifacts: Vec::new(),
            cached: false,
        }
    }
}

impl ToApi for pool::Limits {
    type Api = Limits;
    fn to_api(&self) -> Limits {
        Limits {
            wall_ms: self.wall_ms,
            cpu_ms: self.cpu_ms,
            memory_mb: self.memory_mb,
            output_kb: self.output_kb,
            compile_wall_ms: self.compile_wall_ms,
            idle_ms: self.idle_ms,
        }
    }
}

impl ToApi for pool::Language {
    type Api = warmrun_api::Language;
    fn to_api(&self) -> warmrun_api::Language {
        warmrun_api::Language {
            id: self.id.to_string(),
            name: self.name.clone(),
            version: self.version.clone(),
            file: self.file.clone(),
            aliases: self.aliases.clone(),
            version_of: self.version_of.as_ref().map(ToString::to_string),
            compiled: !self.compile.is_empty(),
            example: self.example().to_owned(),
            examples: self.examples.iter().map(ToApi::to_api).collect(),
            limits: self.limits.to_api(),
            formatter: None,
        }
    }
}

impl ToApi for pool::Example {
    type Api = warmrun_api::Example;
    fn to_api(&self) -> warmrun_api::Example {
        warmrun_api::Example {
            id: self.id.clone(),
            name: self.name.clone(),
            code: self.code.clone(),
        }
    }
}

impl ToPool for RunBody {
    type Pool = Result<RunRequest, Invalid>;
    /// A batch run (stdin closed after `stdin`), once the body follows the API's rules.
    fn to_pool(mut self) -> Result<RunRequest, Invalid> {
        self.validate()?;
        let files = self.take_files();
        let tests = self.tests.map(|cases| TestSuite {
            cases,
            comparison: self.comparison.unwrap_or_default(),
            stop_on_first_failure: self.stop_on_first_failure,
        });
        Ok(RunRequest {
            language: self.language,
            version: self.version,
            files,
            stdin: self.stdin.unwrap_or_default().into_bytes(),
            close_stdin: true,
            args: self.args,
            compile_options: self.compile_options,
            tty: None,
            limits: self.limits,
            tests,
        })
    }
}

impl ToPool for RunFrame {
    type Pool = Result<RunRequest, Invalid>;
    /// An interactive run: stdin stays open for the session's `stdin` frames.
    fn to_pool(self) -> Result<RunRequest, Invalid> {
        if self.run.tests.is_some() {
            return Err(Invalid(
                "tests are judged to completion: send them to /api/v1/runs or \
                 /api/v1/submissions, not in an interactive session"
                    .into(),
            ));
        }
        let mut req = self.run.to_pool()?;
        req.close_stdin = false;
        req.tty = self.tty.then(|| TtySize {
            cols: self.cols.unwrap_or(DEFAULT_TTY.cols).clamp(1, 1000),
            rows: self.rows.unwrap_or(DEFAULT_TTY.rows).clamp(1, 1000),
        });
        Ok(req)
    }
}

/// Turns output chunks into text without splitting a UTF-8 character across two frames.
#[derive(Default)]
pub struct Utf8Chunker {
    pending: Vec<u8>,
}

impl Utf8Chunker {
    /// The text of `chunk` plus what was held back, holding back an incomplete last char.
    pub fn push(&mut self, chunk: &[u8]) -> String {
        self.pending.extend_from_slice(chunk);
        let keep = incomplete_tail(&self.pending);
        let cut = self.pending.len() - keep;
        let text = String::from_utf8_lossy(&self.pending[..cut]).into_owned();
        self.pending.drain(..cut);
        text
    }

    /// Whatever is still held back.
    pub fn finish(&mut self) -> String {
        let text = String::from_utf8_lossy(&self.pending).into_owned();
        self.pending.clear();
        text
    }
}

/// Length of a trailing, possibly incomplete UTF-8 sequence (0 when the end is complete).
fn incomplete_tail(b: &[u8]) -> usize {
    for back in 1..=3.min(b.len()) {
        let byte = b[b.len() - back];
        if byte & 0xC0 == 0x80 {
            continue; // continuation byte: look further back for the lead
        }
        let need = match byte {
            0xC0..=0xDF => 2,
            0xE0..=0xEF => 3,
            0xF0..=0xF7 => 4,
            _ => 1,
        };
        return if need > back { back } else { 0 };
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_is_not_split() {
        let mut c = Utf8Chunker::default();
        let s = "héllo €".as_bytes();
        let (a, b) = s.split_at(s.len() - 2);
        let mut text = c.push(a);
        text += &c.push(b);
        text += &c.finish();
        assert_eq!(text, "héllo €");
    }

    #[test]
    fn every_split_point_gives_the_same_text() {
        let s = "a€😀é".as_bytes();
        for cut in 0..=s.len() {
            let mut c = Utf8Chunker::default();
            let first = c.push(&s[..cut]);
            assert!(!first.contains('\u{FFFD}'), "{cut}");
            let text = first + &c.push(&s[cut..]) + &c.finish();
            assert_eq!(text, "a€😀é", "{cut}");
        }
    }

    #[test]
    fn run_frames_become_interactive_requests() {
        let frame: warmrun_api::ClientFrame = serde_json::from_str(
            r#"{"type":"run","language":"python","code":"print(1)","tty":true,"cols":5000}"#,
        )
        .unwrap();
        let warmrun_api::ClientFrame::Run(frame) = frame else {
            panic!("a run frame")
        };
        let req = frame.to_pool().unwrap();
        assert!(!req.close_stdin);
        assert_eq!(
            req.tty,
            Some(TtySize {
                cols: 1000,
                rows: 24
            })
        );
        assert_eq!(req.files[0].name, "");
        let body: RunBody = serde_json::from_str(r#"{"language":"python"}"#).unwrap();
        assert!(body.to_pool().is_err());
    }
}
