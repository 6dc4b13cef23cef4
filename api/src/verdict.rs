//! How a run ended (`Verdict`) and how its container was obtained (`LeaseKind`).

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// How a run (or its compile step) ended. On the wire: its snake_case name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Exited with status 0.
    Ok,
    /// Non-zero exit status or killed by a signal of its own doing.
    RuntimeError,
    /// The compile step failed; the program did not run.
    CompileError,
    /// Wall-clock limit reached.
    TimeLimit,
    /// CPU-time limit reached.
    CpuLimit,
    /// Out of memory inside its limit.
    MemoryLimit,
    /// Wrote more than the output limit.
    OutputLimit,
    /// Stopped on the user's request.
    Killed,
    /// The sandbox failed; not the program's fault.
    InternalError,
    /// An interactive run waited for input longer than its idle limit.
    IdleLimit,
    /// Judge mode: the case exited 0 and printed its expected output.
    Accepted,
    /// Judge mode: the case exited 0 but printed something else than its expected output.
    WrongAnswer,
}

impl Verdict {
    /// Every verdict.
    pub const ALL: [Verdict; 12] = [
        Verdict::Ok,
        Verdict::RuntimeError,
        Verdict::CompileError,
        Verdict::TimeLimit,
        Verdict::CpuLimit,
        Verdict::MemoryLimit,
        Verdict::OutputLimit,
        Verdict::Killed,
        Verdict::InternalError,
        Verdict::IdleLimit,
        Verdict::Accepted,
        Verdict::WrongAnswer,
    ];

    /// The wire name, e.g. `time_limit`.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Ok => "ok",
            Verdict::RuntimeError => "runtime_error",
            Verdict::CompileError => "compile_error",
            Verdict::TimeLimit => "time_limit",
            Verdict::CpuLimit => "cpu_limit",
            Verdict::MemoryLimit => "memory_limit",
            Verdict::OutputLimit => "output_limit",
            Verdict::Killed => "killed",
            Verdict::InternalError => "internal_error",
            Verdict::IdleLimit => "idle_limit",
            Verdict::Accepted => "accepted",
            Verdict::WrongAnswer => "wrong_answer",
        }
    }

    /// A limit stopped the program (or the user did): not the program's own failure.
    pub fn is_limit(self) -> bool {
        matches!(
            self,
            Verdict::TimeLimit
                | Verdict::CpuLimit
                | Verdict::MemoryLimit
                | Verdict::OutputLimit
                | Verdict::Killed
                | Verdict::IdleLimit
        )
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is not a verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownVerdict(pub String);

impl fmt::Display for UnknownVerdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?} is not a verdict", self.0)
    }
}

impl std::error::Error for UnknownVerdict {}

impl FromStr for Verdict {
    type Err = UnknownVerdict;

    fn from_str(s: &str) -> Result<Verdict, UnknownVerdict> {
        Verdict::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| UnknownVerdict(s.to_string()))
    }
}

impl PartialEq<str> for Verdict {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Verdict {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// How a run's container was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LeaseKind {
    /// An idle container was ready at once.
    Warm,
    /// The run waited for a container to be created.
    Cold,
    /// The run waited for another run's container to be reset.
    Queued,
}

impl LeaseKind {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            LeaseKind::Warm => "warm",
            LeaseKind::Cold => "cold",
            LeaseKind::Queued => "queued",
        }
    }
}
