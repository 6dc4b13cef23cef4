//! A run's identity: what decides its result, hashed. The server's result cache keys on it,
//! so two requests share a fingerprint only when the agent would get byte-identical work —
//! the same language build (id, version, image), the same prepared spec (files, compile
//! and run argv with options and arguments, environment, stdin, terminal, limits as the
//! engine resolved them) and, in judge mode, the same cases and comparison.

use crate::catalog::{Language, Limits};
use crate::run::Prepared;
use agent::RunSpec;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::fmt;
use warmrun_api::{Comparison, TestCase};

/// The SHA-256 of a prepared run, as 64 lowercase hex digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RunFingerprint(String);

impl RunFingerprint {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RunFingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Everything hashed, in a fixed order (postcard is a stable, self-delimiting encoding).
#[derive(Serialize)]
struct Identity<'a> {
    /// Bumped when the meaning of the fields below changes, so old entries stop matching.
    scheme: u32,
    language: &'a str,
    version: &'a str,
    image: &'a str,
    spec: &'a RunSpec,
    limits: &'a Limits,
    cases: Option<(&'a [TestCase], &'a Comparison, bool)>,
}

pub(crate) fn of(lang: &Language, prepared: &Prepared) -> RunFingerprint {
    let identity = Identity {
        scheme: 1,
        language: &lang.id.0,
        version: &lang.version,
        image: &lang.image,
        spec: &prepared.spec,
        limits: &prepared.limits,
        cases: prepared.suite.as_ref().map(|s| {
            (
                s.suite.cases.as_slice(),
                &s.suite.comparison,
                s.suite.stop_on_first_failure,
            )
        }),
    };
    let bytes = postcard::to_allocvec(&identity).expect("plain data always serializes");
    let digest = Sha256::digest(&bytes);
    RunFingerprint(digest.iter().map(|b| format!("{b:02x}")).collect())
}
