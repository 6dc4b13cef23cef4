//! The JSON shapes of the API (REST bodies and WebSocket frames) and their mapping to and
//! from the execution core's types.

use crate::error::ApiError;
use pool::{CompileReport, File, LimitOverrides, RunOutcome, RunRequest, RunResult, TtySize};
use serde::{Deserialize, Serialize};

/// Default terminal size for tty runs that do not say.
const DEFAULT_TTY: TtySize = TtySize { cols: 80, rows: 24 };

/// A run as clients describe it (`POST /api/v1/runs`, `POST /api/v1/submissions`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunBody {
    pub language: String,
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    pub files: Option<Vec<File>>,
    #[serde(default)]
    pub stdin: Option<String>,
    #[serde(default)]
    pub args: Vec<String>,
    #[serde(default)]
    pub limits: LimitOverrides,
}

/// The API's rule for a program: exactly one of `code` and a non-empty `files`.
pub fn check_code_or_files(
    code: &Option<String>,
    files: &Option<Vec<File>>,
) -> Result<(), ApiError> {
    match (code, files) {
        (Some(_), None) => Ok(()),
        (None, Some(files)) if !files.is_empty() => Ok(()),
        (None, Some(_)) => Err(ApiError::bad_request("files must not be empty")),
        (Some(_), Some(_)) => Err(ApiError::bad_request("give either code or files, not both")),
        (None, None) => Err(ApiError::bad_request("code or files is required")),
    }
}

impl RunBody {
    /// The core's request; exactly one of `code` and `files` must be given.
    pub fn into_request(self) -> Result<RunRequest, ApiError> {
        check_code_or_files(&self.code, &self.files)?;
        let files = match (self.code, self.files) {
            (Some(code), _) => vec![File {
                name: String::new(),
                content: code,
            }],
            (None, files) => files.unwrap_or_default(),
        };
        if self.args.len() > 64 || self.args.iter().map(String::len).sum::<usize>() > 16 * 1024 {
            return Err(ApiError::bad_request("at most 64 args of 16 KiB in all"));
        }
        Ok(RunRequest {
            language: self.language,
            files,
            stdin: self.stdin.unwrap_or_default().into_bytes(),
            close_stdin: true,
            args: self.args,
            tty: None,
            limits: self.limits,
        })
    }
}

/// The compile step's result as the API reports it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CompileJson {
    pub verdict: String,
    pub exit_code: Option<i32>,
    pub signal: Option<i32>,
    pub wall_ms: u64,
    pub stdout: String,
    pub stderr: String,
}

impl From<&CompileReport> for CompileJson {
    fn from(c: &CompileReport) -> CompileJson {
        CompileJson {
            verdict: c.exit.verdict.as_str().into(),
            exit_code: c.exit.exit_code,
            signal: c.exit.signal,
            wall_ms: c.exit.wall_ms,
            stdout: String::from_utf8_lossy(&c.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&c.stderr).into_owned(),
        }
    }
}

/// How a run ended, without its output (the `exit` frame; flattened into results).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ExitJson {
    pub verdict: String,
    pub exit_code: Option<i32>,
    pub signal: Option<i32>,
    pub wall_ms: u64,
    pub cpu_ms: u64,
    pub memory_kb: u64,
    pub truncated: bool,
    /// warm, cold or queued.
    pub lease: String,
    pub total_ms: u64,
}

impl From<&RunOutcome> for ExitJson {
    fn from(o: &RunOutcome) -> ExitJson {
        ExitJson {
            verdict: o.exit.verdict.as_str().into(),
            exit_code: o.exit.exit_code,
            signal: o.exit.signal,
            wall_ms: o.exit.wall_ms,
            cpu_ms: o.exit.cpu_ms,
            memory_kb: o.exit.memory_kb,
            truncated: o.exit.truncated,
            lease: o.lease.as_str().into(),
            total_ms: o.total_ms,
        }
    }
}

/// A finished run (`POST /api/v1/runs`, finished submissions).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RunResultJson {
    #[serde(flatten)]
    pub exit: ExitJson,
    pub stdout: String,
    pub stderr: String,
    pub compile: Option<CompileJson>,
}

impl From<&RunResult> for RunResultJson {
    fn from(r: &RunResult) -> RunResultJson {
        RunResultJson {
            exit: (&r.outcome).into(),
            stdout: String::from_utf8_lossy(&r.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&r.stderr).into_owned(),
            compile: r.compile.as_ref().map(Into::into),
        }
    }
}

/// A frame from a WebSocket client.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientFrame {
    Run {
        language: String,
        #[serde(default)]
        code: Option<String>,
        #[serde(default)]
        files: Option<Vec<File>>,
        #[serde(default)]
        stdin: Option<String>,
        #[serde(default)]
        args: Vec<String>,
        #[serde(default)]
        limits: LimitOverrides,
        #[serde(default)]
        tty: bool,
        #[serde(default)]
        cols: Option<u16>,
        #[serde(default)]
        rows: Option<u16>,
    },
    Stdin {
        data: String,
    },
    Eof {},
    Kill {},
    Resize {
        cols: u16,
        rows: u16,
    },
}

impl ClientFrame {
    /// For a `run` frame: the core's request (stdin stays open for the session).
    pub fn into_run_request(self) -> Option<Result<RunRequest, ApiError>> {
        let ClientFrame::Run {
            language,
            code,
            files,
            stdin,
            args,
            limits,
            tty,
            cols,
            rows,
        } = self
        else {
            return None;
        };
        let body = RunBody {
            language,
            code,
            files,
            stdin,
            args,
            limits,
        };
        Some(body.into_request().map(|mut req| {
            req.close_stdin = false;
            req.tty = tty.then(|| TtySize {
                cols: cols.unwrap_or(DEFAULT_TTY.cols).clamp(1, 1000),
                rows: rows.unwrap_or(DEFAULT_TTY.rows).clamp(1, 1000),
            });
            req
        }))
    }
}

/// A frame to a WebSocket client.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame {
    Queued { position: usize },
    Compile(CompileJson),
    Started,
    Stdout { data: String },
    Stderr { data: String },
    Exit(ExitJson),
    Error { code: String, message: String },
}

impl From<&ApiError> for ServerFrame {
    fn from(e: &ApiError) -> ServerFrame {
        ServerFrame::Error {
            code: e.code.into(),
            message: e.message.clone(),
        }
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
    fn frames_parse() {
        let f: ClientFrame =
            serde_json::from_str(r#"{"type":"run","language":"python","code":"print(1)"}"#)
                .unwrap();
        assert!(f.into_run_request().unwrap().is_ok());
        assert!(serde_json::from_str::<ClientFrame>(r#"{"type":"nope"}"#).is_err());
        assert!(serde_json::from_str::<ClientFrame>(r#"{"type":"eof","x":1}"#).is_err());
        let out = serde_json::to_string(&ServerFrame::Queued { position: 2 }).unwrap();
        assert_eq!(out, r#"{"type":"queued","position":2}"#);
    }
}
