//! Formatting: `POST /api/v1/format` takes a language and code and answers with the code as
//! the language's formatter writes it.

use serde::{Deserialize, Serialize};

/// The body of `POST /api/v1/format`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FormatRequest {
    /// Language id or alias.
    pub language: String,
    /// The language's version (`3.11`); absent: the newest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The source to format (at most [`crate::MAX_CODE_BYTES`] bytes).
    pub code: String,
}

/// `200` answer of `POST /api/v1/format`. A formatter that refuses the code (a syntax
/// error) answers `422` with code `format_error` and its own message instead.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FormatResponse {
    /// The formatted source.
    pub code: String,
}
