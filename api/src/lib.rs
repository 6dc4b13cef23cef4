//! warmrun's public API vocabulary: every JSON shape a client sends or receives, written
//! once for the server (`server/`) and the browser app (`app/`), so that a change to one
//! side that the other does not follow is a compile error rather than a silent drift.
//!
//! Plain serde data and pure functions only: no I/O, no dependency on the execution core,
//! so the crate builds for `wasm32-unknown-unknown`. The server converts between these
//! types and the core's (`pool`) in `server/src/wire.rs`.

pub mod artifacts;
pub mod error;
pub mod format;
pub mod frames;
pub mod judge;
pub mod languages;
pub mod run;
pub mod snippets;
pub mod stats;
pub mod verdict;

pub use artifacts::{is_image_mime, mime_for, Artifact, OUTPUT_DIR};
pub use error::{ErrorBody, ErrorDetail};
pub use format::{FormatRequest, FormatResponse};
pub use frames::{ClientFrame, RunFrame, ServerFrame};
pub use judge::{
    CaseResultJson, Comparison, TestCase, TestSummaryJson, TestsJson, CASE_OUTPUT_CAP,
    DEFAULT_MAX_TESTS, DEFAULT_TOLERANCE,
};
pub use languages::{Example, Language};
pub use run::{
    check_code_or_files, check_file_name, check_files, CompileJson, ExitJson, File, Invalid,
    LimitOverrides, Limits, RunBody, RunResultJson, MAX_ARGS, MAX_ARGS_BYTES, MAX_CODE_BYTES,
    MAX_FILES, MAX_STDIN_BYTES,
};
pub use snippets::{Created, NewSnippet, Snippet, SnippetOutput};
pub use stats::{LanguageStats, Stats, VerdictShare};
pub use verdict::{LeaseKind, Verdict};

/// A place in a language's queue; 1 is next.
pub type QueuePosition = u32;
