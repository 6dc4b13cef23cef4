//! Runs: what a client asks to run (`RunBody`), the rules it must follow, and what it gets
//! back (`RunResultJson`, `ExitJson`, `CompileJson`).

use crate::artifacts::Artifact;
use crate::judge::{Comparison, TestCase, TestsJson};
use crate::verdict::{LeaseKind, Verdict};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Files a program may have at most.
pub const MAX_FILES: usize = 32;
/// Bytes of source code at most.
pub const MAX_CODE_BYTES: usize = 512 * 1024;
/// Bytes of stdin given up front at most.
pub const MAX_STDIN_BYTES: usize = 1024 * 1024;
/// Command-line arguments at most.
pub const MAX_ARGS: usize = 64;
/// Bytes of all command-line arguments together at most.
pub const MAX_ARGS_BYTES: usize = 16 * 1024;
/// Longest file name (a relative path), in bytes.
const MAX_FILE_NAME: usize = 255;

/// A file of the user's program. An empty name (first file only) means the language's
/// own file name, e.g. `main.py`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct File {
    pub name: String,
    pub content: String,
}

/// Limits a run may ask for instead of its language's defaults; the server refuses values
/// above its own maximums.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitOverrides {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wall_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_mb: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_kb: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compile_wall_ms: Option<u64>,
    /// Interactive runs: how long one wait for input may last (`idle_limit` past it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idle_ms: Option<u64>,
}

impl LimitOverrides {
    /// Nothing overridden.
    pub fn is_empty(&self) -> bool {
        *self == LimitOverrides::default()
    }
}

/// A language's resource limits, with their units in the names.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    pub wall_ms: u64,
    pub cpu_ms: u64,
    pub memory_mb: u64,
    pub output_kb: u64,
    pub compile_wall_ms: u64,
    /// Interactive runs: how long one wait for input may last; waiting is not run time.
    #[serde(default)]
    pub idle_ms: u64,
}

/// A run as clients describe it: the body of `POST /api/v1/runs` and
/// `POST /api/v1/submissions`, and the run part of a WebSocket `run` frame.
/// Exactly one of `code` and `files` (see [`RunBody::validate`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunBody {
    /// Language id or alias.
    pub language: String,
    /// The language's version, whole (`3.11.2`) or its leading part (`3.11`); absent: the
    /// newest (see `version_of` in the language list).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The program as one file (saved under the language's file name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// The program as files; the first is the main file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub files: Option<Vec<File>>,
    /// Input given before the program starts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stdin: Option<String>,
    /// Extra command-line arguments.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
    /// Extra options for the compiler (compiled languages only), put before the main file
    /// in the language's compile command: `["-O0", "-Wall"]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub compile_options: Vec<String>,
    #[serde(default, skip_serializing_if = "LimitOverrides::is_empty")]
    pub limits: LimitOverrides,
    /// Judge mode: compile once, run once per case (see [`crate::judge`]). Excludes `stdin`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tests: Option<Vec<TestCase>>,
    /// How cases' outputs are compared (judge mode); `trailing_whitespace` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comparison: Option<Comparison>,
    /// Judge mode: run no case after the first one that fails.
    #[serde(default, skip_serializing_if = "is_false")]
    pub stop_on_first_failure: bool,
    /// The result cache (when the server has one, see `result_cache` in the README):
    /// `true` asks for a stored result of an identical earlier run (and to store this
    /// one's), `false` always runs; absent: the server's setting for the language.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache: Option<bool>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// Input that breaks one of the API's rules (the server answers 400 `bad_request`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid(pub String);

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Invalid {}

fn invalid(message: impl Into<String>) -> Invalid {
    Invalid(message.into())
}

impl RunBody {
    /// The rules a run must follow before it is worth a container: exactly one of `code`
    /// and a non-empty `files`, file names that stay inside the workspace, and at most
    /// [`MAX_ARGS`] arguments of [`MAX_ARGS_BYTES`] in all. (Sizes of code and stdin are
    /// checked where the program is taken on: the engine, the snippet store.)
    pub fn validate(&self) -> Result<(), Invalid> {
        check_code_or_files(&self.code, &self.files)?;
        if let Some(files) = &self.files {
            check_files(files)?;
        }
        if !within_arg_bounds(&self.args) {
            return Err(invalid("at most 64 args of 16 KiB in all"));
        }
        if !within_arg_bounds(&self.compile_options) {
            return Err(invalid("at most 64 compile_options of 16 KiB in all"));
        }
        self.validate_tests()
    }

    /// Judge mode's rules: cases only where nothing else gives input, each case's input and
    /// arguments within the run's bounds, a finite non-negative tolerance, and the judge's
    /// options only with cases. (How many cases a run may have is the server's setting.)
    fn validate_tests(&self) -> Result<(), Invalid> {
        let Some(tests) = &self.tests else {
            if self.comparison.is_some() || self.stop_on_first_failure {
                return Err(invalid("comparison and stop_on_first_failure need tests"));
            }
            return Ok(());
        };
        if tests.is_empty() {
            return Err(invalid("tests must not be empty"));
        }
        if self.stdin.is_some() {
            return Err(invalid("give stdin in each test case, not beside tests"));
        }
        for (i, t) in tests.iter().enumerate() {
            if t.stdin.len() > MAX_STDIN_BYTES {
                return Err(invalid(format!(
                    "tests[{i}].stdin is {} bytes; at most {MAX_STDIN_BYTES} are allowed",
                    t.stdin.len()
                )));
            }
            if let Some(args) = &t.args {
                if !within_arg_bounds(args) {
                    return Err(invalid(format!(
                        "tests[{i}].args: at most 64 args of 16 KiB in all"
                    )));
                }
            }
        }
        if let Some(Comparison::Numbers { tolerance }) = self.comparison {
            if !tolerance.is_finite() || tolerance < 0.0 {
                return Err(invalid("comparison tolerance must be a finite number >= 0"));
            }
        }
        Ok(())
    }

    /// Takes the program out as files: `code` becomes one unnamed (main) file.
    pub fn take_files(&mut self) -> Vec<File> {
        match (self.code.take(), self.files.take()) {
            (Some(code), _) => vec![File {
                name: String::new(),
                content: code,
            }],
            (None, files) => files.unwrap_or_default(),
        }
    }
}

/// At most [`MAX_ARGS`] words of [`MAX_ARGS_BYTES`] in all.
fn within_arg_bounds(words: &[String]) -> bool {
    words.len() <= MAX_ARGS && words.iter().map(String::len).sum::<usize>() <= MAX_ARGS_BYTES
}

/// The API's rule for a program: exactly one of `code` and a non-empty `files`.
pub fn check_code_or_files(
    code: &Option<String>,
    files: &Option<Vec<File>>,
) -> Result<(), Invalid> {
    match (code, files) {
        (Some(_), None) => Ok(()),
        (None, Some(files)) if !files.is_empty() => Ok(()),
        (None, Some(_)) => Err(invalid("files must not be empty")),
        (Some(_), Some(_)) => Err(invalid("give either code or files, not both")),
        (None, None) => Err(invalid("code or files is required")),
    }
}

/// The rules for a program's files: one to [`MAX_FILES`] of them, each name valid
/// ([`check_file_name`]) and given once.
pub fn check_files(files: &[File]) -> Result<(), Invalid> {
    if files.is_empty() {
        return Err(invalid("files must not be empty"));
    }
    if files.len() > MAX_FILES {
        return Err(invalid(format!(
            "{} files given; at most {MAX_FILES} are allowed",
            files.len()
        )));
    }
    for (i, f) in files.iter().enumerate() {
        check_file_name(&f.name, i == 0)?;
        if files[..i].iter().any(|g| g.name == f.name) {
            return Err(invalid(format!("file name {:?} given twice", f.name)));
        }
    }
    Ok(())
}

/// A file name is a relative path inside the workspace (no `/` at the start, no empty,
/// `.` or `..` parts, no NUL, at most 255 bytes); only the first file may have none.
pub fn check_file_name(name: &str, first: bool) -> Result<(), Invalid> {
    let ok = (name.is_empty() && first)
        || (name.len() <= MAX_FILE_NAME
            && !name.starts_with('/')
            && !name.contains('\0')
            && name
                .split('/')
                .all(|c| !c.is_empty() && c != "." && c != ".."));
    if ok {
        Ok(())
    } else if name.is_empty() {
        Err(invalid("only the first file may be unnamed"))
    } else {
        Err(invalid(format!(
            "file name {name:?} must be a relative path inside the workspace"
        )))
    }
}

/// The compile step's result (the `compile` frame; `compile` of a run result).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompileJson {
    pub verdict: Verdict,
    pub exit_code: Option<i32>,
    pub signal: Option<i32>,
    pub wall_ms: u64,
    pub stdout: String,
    pub stderr: String,
    /// A byte-identical earlier compile was reused (the engine's compile cache): nothing was
    /// compiled, `wall_ms` is 0, `stdout`/`stderr` are what the compiler said then.
    #[serde(default)]
    pub cached: bool,
}

/// How a run ended, without its output (the `exit` frame; flattened into results).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExitJson {
    pub verdict: Verdict,
    pub exit_code: Option<i32>,
    pub signal: Option<i32>,
    pub wall_ms: u64,
    pub cpu_ms: u64,
    pub memory_kb: u64,
    /// Output was cut at the output limit.
    pub truncated: bool,
    pub lease: LeaseKind,
    /// From the request to the exit, waiting for a container included.
    pub total_ms: u64,
    /// The output directory held more files or bytes than come back: `artifacts` (or the
    /// `artifact` frames) are the first that fit, in name order. Absent when false.
    #[serde(default, skip_serializing_if = "is_false")]
    pub artifacts_truncated: bool,
}

/// A finished run (`POST /api/v1/runs`, finished submissions).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunResultJson {
    #[serde(flatten)]
    pub exit: ExitJson,
    pub stdout: String,
    pub stderr: String,
    pub compile: Option<CompileJson>,
    /// Judge mode: every case run and the summary. The run's own `stdout`/`stderr` are then
    /// empty and its exit fields sum up the cases (see the README).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tests: Option<TestsJson>,
    /// Files the program left in `/workspace/output`, in name order (never for judged runs).
    #[serde(default)]
    pub artifacts: Vec<Artifact>,
    /// The result of an identical earlier run, from the server's result cache: nothing ran
    /// (its times and `lease` are the earlier run's; `total_ms` is this request's). Absent
    /// when false.
    #[serde(default, skip_serializing_if = "is_false")]
    pub cached: bool,
}
