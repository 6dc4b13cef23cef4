//! Judge mode: a run with test cases (`tests` of a [`crate::RunBody`]). The program is
//! compiled once and run once per case, each with its own stdin (and arguments); the engine
//! compares each case's stdout with its expected output outside the sandbox.

use crate::verdict::Verdict;
use serde::{Deserialize, Serialize};

/// Test cases a run may carry when the server's configuration does not say otherwise.
pub const DEFAULT_MAX_TESTS: usize = 100;
/// Bytes of one case's stdout and of its stderr given back in the result (the comparison
/// sees everything up to the run's output limit).
pub const CASE_OUTPUT_CAP: usize = 64 * 1024;
/// The tolerance of `numbers` when none is given.
pub const DEFAULT_TOLERANCE: f64 = 1e-6;

/// One test case: the program's input and, optionally, the output it must print and the
/// command-line arguments it gets instead of the run's `args`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestCase {
    #[serde(default)]
    pub stdin: String,
    /// Compared with the case's stdout; without it a case passes when the program exits 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_stdout: Option<String>,
    /// Replaces the run's `args` for this case.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub args: Option<Vec<String>>,
}

/// How a case's stdout is compared with its expected output. On the wire an object tagged
/// by `mode`: `{"mode":"exact"}`, `{"mode":"trailing_whitespace"}` (the default),
/// `{"mode":"tokens"}`, `{"mode":"numbers","tolerance":1e-6}`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case", deny_unknown_fields)]
pub enum Comparison {
    /// Byte for byte.
    Exact,
    /// Equal after removing trailing whitespace from every line and trailing empty lines
    /// (so `\r\n` line ends and a missing final newline do not matter).
    #[default]
    TrailingWhitespace,
    /// The same whitespace-separated tokens.
    Tokens,
    /// The same tokens, where two numbers are equal within `tolerance`, absolute or
    /// relative to the expected one.
    Numbers {
        #[serde(default = "default_tolerance")]
        tolerance: f64,
    },
}

// A tolerance is checked to be finite when a run is validated, so equality is reflexive.
impl Eq for Comparison {}

fn default_tolerance() -> f64 {
    DEFAULT_TOLERANCE
}

/// One case's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseResultJson {
    /// The case's place in `tests`, from 0.
    pub index: usize,
    /// `accepted` / `wrong_answer` for a case with an expected output that exited 0; else
    /// how the program ended (`ok`, `runtime_error`, `time_limit`...).
    pub verdict: Verdict,
    pub exit_code: Option<i32>,
    pub signal: Option<i32>,
    pub wall_ms: u64,
    pub cpu_ms: u64,
    pub memory_kb: u64,
    /// Output was cut, at the output limit or at [`CASE_OUTPUT_CAP`] in this result.
    pub truncated: bool,
    pub stdout: String,
    pub stderr: String,
}

/// The cases together.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestSummaryJson {
    /// Cases that passed (`accepted`, or `ok` for a case without expected output).
    pub passed: usize,
    /// Cases given.
    pub total: usize,
    /// Cases run (fewer than `total` after a compile error or with `stop_on_first_failure`).
    pub run: usize,
    /// The index of the first case that did not pass.
    pub first_failure: Option<usize>,
}

/// `tests` of a judged run's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestsJson {
    pub cases: Vec<CaseResultJson>,
    pub summary: TestSummaryJson,
}

impl Verdict {
    /// A case with this verdict passed.
    pub fn passes(self) -> bool {
        matches!(self, Verdict::Ok | Verdict::Accepted)
    }
}
