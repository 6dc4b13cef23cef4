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
    /// Whether runs have a compile step.
    pub compiled: bool,
    /// A small program that prints a prompt and reads a name from stdin.
    pub example: String,
    /// Default limits of a run.
    pub limits: Limits,
}
