//! Formatting: a language's `format` command (see [`crate::Catalog::formatter`]) run on the
//! user's code like a program: leased container, sandbox, limits, reset afterwards. The
//! code is untrusted input to the formatter, so it gets no more trust than a run.

use crate::catalog::{Language, LimitOverrides};
use crate::config::EngineConfig;
use crate::error::PoolError;
use crate::run::{File, RunRequest, RunResult, Verdict};

/// A formatter gets at most this much wall time (less if the language's runs get less).
pub const FORMAT_WALL_MS: u64 = 10_000;

/// The formatter's own message is cut to this many bytes.
const MAX_MESSAGE_BYTES: usize = 4096;

/// The run that formats `code` in a container of `formatter` (the catalog entry whose
/// `format` command is used): the code on stdin, and as the language's file too (a
/// formatter that looks at the file finds it where a run's would be).
pub(crate) fn request(formatter: &Language, code: &str, config: &EngineConfig) -> RunRequest {
    let wall_ms = FORMAT_WALL_MS
        .min(formatter.limits.wall_ms)
        .min(config.max_limits.wall_ms);
    RunRequest {
        language: formatter.id.to_string(),
        files: vec![File {
            name: formatter.file.clone(),
            content: code.to_owned(),
        }],
        stdin: code.as_bytes().to_vec(),
        close_stdin: true,
        limits: LimitOverrides {
            wall_ms: Some(wall_ms.max(1)),
            ..Default::default()
        },
        ..Default::default()
    }
}

/// The formatted code, or why there is none: the formatter's own message when it refused
/// the code (a syntax error), a limit it ran into, or a sandbox failure.
pub(crate) fn formatted(result: RunResult) -> Result<String, PoolError> {
    let exit = &result.outcome.exit;
    let refused = |m: String| Err(PoolError::FormatError(m));
    match exit.verdict {
        Verdict::Ok | Verdict::Accepted => {
            if exit.truncated {
                return refused("the formatted code is larger than the output limit".into());
            }
            String::from_utf8(result.stdout)
                .or_else(|_| refused("the formatter's output is not UTF-8".into()))
        }
        Verdict::RuntimeError | Verdict::CompileError | Verdict::WrongAnswer => {
            refused(message(&result))
        }
        Verdict::TimeLimit | Verdict::CpuLimit | Verdict::IdleLimit => {
            refused("the formatter ran out of time on this code".into())
        }
        Verdict::MemoryLimit => refused("the formatter ran out of memory on this code".into()),
        Verdict::OutputLimit => {
            refused("the formatted code is larger than the output limit".into())
        }
        Verdict::Killed | Verdict::InternalError => Err(PoolError::Sandbox(format!(
            "the formatter did not finish ({:?})",
            exit.verdict
        ))),
    }
}

/// What the formatter said about the code it refused: its stderr (else stdout, else its
/// exit status), trimmed and cut to [`MAX_MESSAGE_BYTES`].
fn message(result: &RunResult) -> String {
    let said = [&result.stderr, &result.stdout]
        .into_iter()
        .map(|b| String::from_utf8_lossy(b).trim().to_string())
        .find(|s| !s.is_empty());
    let mut text = said.unwrap_or_else(|| match result.outcome.exit.exit_code {
        Some(code) => format!("the formatter failed (exit status {code})"),
        None => "the formatter failed".to_string(),
    });
    if text.len() > MAX_MESSAGE_BYTES {
        let mut cut = MAX_MESSAGE_BYTES;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
        text.push('…');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lease::LeaseKind;
    use crate::run::RunOutcome;
    use agent::ExitReport;

    fn result(verdict: Verdict, code: Option<i32>, stdout: &str, stderr: &str) -> RunResult {
        RunResult {
            outcome: RunOutcome {
                exit: ExitReport {
                    exit_code: code,
                    ..ExitReport::unmeasured(verdict)
                },
                lease: LeaseKind::Warm,
                lease_ms: 0,
                total_ms: 0,
                artifacts: Default::default(),
            },
            compile: None,
            stdout: stdout.into(),
            stderr: stderr.into(),
        }
    }

    #[test]
    fn verdicts_become_code_or_errors() {
        let ok = formatted(result(Verdict::Ok, Some(0), "x = 1\n", "")).unwrap();
        assert_eq!(ok, "x = 1\n");
        let e = formatted(result(Verdict::RuntimeError, Some(123), "", " bad: 1:4 \n"));
        assert!(matches!(e, Err(PoolError::FormatError(m)) if m == "bad: 1:4"));
        let e = formatted(result(Verdict::RuntimeError, Some(2), "", ""));
        assert!(matches!(e, Err(PoolError::FormatError(m)) if m.contains("exit status 2")));
        let e = formatted(result(Verdict::TimeLimit, None, "", ""));
        assert!(matches!(e, Err(PoolError::FormatError(m)) if m.contains("time")));
        let e = formatted(result(Verdict::InternalError, None, "", ""));
        assert!(matches!(e, Err(PoolError::Sandbox(_))));
        let long = "é".repeat(MAX_MESSAGE_BYTES);
        let e = formatted(result(Verdict::RuntimeError, Some(1), "", &long));
        assert!(matches!(e, Err(PoolError::FormatError(m)) if m.len() <= MAX_MESSAGE_BYTES + 3));
    }
}
