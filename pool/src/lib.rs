//! The execution core: prewarmed, network-less, resource-capped Docker containers per
//! language, each driven by the in-container agent over a typed protocol, leased for one run
//! and reset before the next.

pub mod catalog;
pub mod config;
pub mod container;
pub mod engine;
pub mod error;
pub mod lease;
pub mod metrics;
pub mod pool;
pub mod run;
pub mod spec;

pub use agent::{CompileReport, ExitReport, TtySize, Verdict};
pub use catalog::{Catalog, Language, LanguageId, LimitOverrides, Limits, PoolSize};
pub use config::{EngineConfig, Runtime};
pub use engine::{connect_docker, Engine};
pub use error::PoolError;
pub use lease::{Lease, LeaseKind};
pub use pool::PoolStatus;
pub use run::{File, RunControl, RunEvent, RunHandle, RunOutcome, RunRequest, RunResult};
