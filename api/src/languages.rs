//! The language catalog as `GET /api/v1/languages` lists it.

use crate::run::Limits;
use serde::{Deserialize, Serialize};

/// One language of the catalog.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Language {
    /// Catalog id, e.g. `python`; what runs name (aliases work too).
    pub id: String,
    /// Display name, e.g. `Python 3`.
    pub name: String,
    /// Compiler or interpreter version.
    pub version: String,
    /// File name the code is saved as, e.g. `main.py`.
    pub file: String,
    pub aliases: Vec<String>,
    /// Set on an older version of a language: the id of its newest version's entry. A run
    /// names either this entry's id, or that language with this entry's `version`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_of: Option<String>,
    /// Whether runs have a compile step.
    pub compiled: bool,
    /// A small program that prints a prompt and reads a name from stdin: the code of the
    /// first of `examples`, shown at start.
    pub example: String,
    /// Named programs to start from, in menu order (ids unique within the language).
    /// Missing in older servers' answers: then empty.
    #[serde(default)]
    pub examples: Vec<Example>,
    /// Default limits of a run.
    pub limits: Limits,
    /// The formatter's name (`black`, `rustfmt`, …) when `POST /api/v1/format` formats this
    /// language; absent when it has none (and in older servers' answers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub formatter: Option<String>,
}

/// A named program to start from (the playground's Examples menu).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Example {
    /// Unique within its language, e.g. `hello`, `loop-and-function`, `error`.
    pub id: String,
    /// The menu's label, e.g. `A loop and a function`.
    pub name: String,
    pub code: String,
}
