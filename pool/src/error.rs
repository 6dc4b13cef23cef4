//! The execution core's errors; the server maps each kind once to an HTTP/WebSocket error.

use thiserror::Error;

/// Everything that can go wrong between a request and its result.
#[derive(Debug, Error)]
pub enum PoolError {
    /// The request itself is wrong (the client's mistake).
    #[error("{0}")]
    InvalidRequest(String),
    /// No language with that id or alias.
    #[error("unknown language {0:?}")]
    UnknownLanguage(String),
    /// The language exists, not at that version.
    #[error("{language} has no version {version:?} (available: {})", available.join(", "))]
    UnknownVersion {
        language: String,
        version: String,
        available: Vec<String>,
    },
    /// The language exists but its image is missing or its pool cannot start containers.
    #[error("language {0} is unavailable: {1}")]
    LanguageUnavailable(String, String),
    /// The language's wait queue is full.
    #[error("the queue for {0} is full")]
    QueueFull(String),
    /// No container became free within the lease timeout.
    #[error("no {0} container became free in time")]
    LeaseTimeout(String),
    /// The engine is shutting down.
    #[error("the engine is shutting down")]
    ShuttingDown,
    /// The language (at that version) has no formatter.
    #[error("{0} has no formatter")]
    NoFormatter(String),
    /// The formatter refused the code (its own message, e.g. a syntax error), or ran into a
    /// limit on it.
    #[error("{0}")]
    FormatError(String),
    /// Docker refused or failed.
    #[error("docker: {0}")]
    Docker(#[from] bollard::errors::Error),
    /// A container or its agent misbehaved.
    #[error("sandbox: {0}")]
    Sandbox(String),
    /// Bad configuration or catalog.
    #[error("configuration: {0}")]
    Config(String),
}
