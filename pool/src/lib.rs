//! The execution core: prewarmed, network-less, resource-capped sandbox containers per
//! language, each driven by the in-container agent over a typed protocol, leased for one run
//! and reset before the next.
//!
//! Layers, each using only those above it: `backend` (the container runtime; `docker` is the
//! real one) → `container` (one container and its agent link) → `pool` (one language's idle
//! containers and wait queue) → `state` (what the engine's parts share) → `lease`, `run`,
//! `refill`, `janitor` (with `ownership`) → `engine` (the API).

pub mod backend;
pub mod catalog;
pub mod compare;
pub mod compile_cache;
pub mod config;
pub mod container;
pub mod docker;
pub mod engine;
pub mod error;
pub mod fingerprint;
pub mod format;
mod janitor;
pub mod judge;
pub mod lease;
pub mod metrics;
pub mod ownership;
pub mod pool;
mod refill;
pub mod run;
pub mod sizing;
pub mod spec;
mod state;

#[cfg(test)]
mod fake;
#[cfg(test)]
mod tests;

pub use agent::{CompileReport, ExitReport, TtySize, Verdict};
/// For implementing [`OwnerLiveness`] (and [`backend::Backend`]) without depending on
/// `async-trait` directly: `#[pool::async_trait]`.
pub use async_trait::async_trait;
pub use catalog::{Catalog, Example, Language, LanguageId, LimitOverrides, Limits, PoolSize};
pub use config::{EngineConfig, Runtime};
pub use docker::connect_docker;
pub use engine::Engine;
pub use error::PoolError;
pub use fingerprint::RunFingerprint;
pub use judge::{CaseResult, JudgeResult, TestSuite};
pub use lease::{Lease, LeaseKind};
pub use ownership::{LocalProcessLiveness, Owner, OwnerLiveness};
pub use pool::PoolStatus;
pub use run::{
    Artifact, Artifacts, File, RunControl, RunEvent, RunHandle, RunOutcome, RunRequest, RunResult,
};
pub use warmrun_api::{Comparison, TestCase};
