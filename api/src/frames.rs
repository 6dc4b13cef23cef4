//! The JSON text frames of a WebSocket session (`GET /api/v1/ws`).

use crate::artifacts::Artifact;
use crate::run::{CompileJson, ExitJson, RunBody};
use crate::QueuePosition;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize};

/// A frame from the client.
// A frame lives for one message; boxing the run would only cost its users a dereference.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientFrame {
    /// Start a run; stdin stays open for `stdin` frames until `eof`.
    Run(RunFrame),
    Stdin {
        data: String,
    },
    Eof {},
    Kill {},
    Resize {
        cols: u16,
        rows: u16,
    },
}

/// A `run` frame: a [`RunBody`] plus the terminal it wants, if any.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RunFrame {
    #[serde(flatten)]
    pub run: RunBody,
    /// Run on a terminal (`cols` × `rows`, 80 × 24 when not given).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub tty: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cols: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rows: Option<u16>,
}

/// The frame's own fields; the rest must be a [`RunBody`].
const TERMINAL_FIELDS: [&str; 3] = ["tty", "cols", "rows"];

// serde's `flatten` cannot be combined with `deny_unknown_fields`, so the frame is taken
// apart by hand: its terminal fields first, then the rest as a strict `RunBody`.
impl<'de> Deserialize<'de> for RunFrame {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<RunFrame, D::Error> {
        let mut fields = serde_json::Map::<String, serde_json::Value>::deserialize(d)?;
        let field = |e: serde_json::Error, name: &str| D::Error::custom(format!("{name}: {e}"));
        let tty = match fields.remove("tty") {
            Some(v) => bool::deserialize(v).map_err(|e| field(e, "tty"))?,
            None => false,
        };
        let mut size = |name: &str| -> Result<Option<u16>, D::Error> {
            match fields.remove(name) {
                Some(v) => Option::<u16>::deserialize(v).map_err(|e| field(e, name)),
                None => Ok(None),
            }
        };
        let cols = size("cols")?;
        let rows = size("rows")?;
        let run = RunBody::deserialize(serde_json::Value::Object(fields)).map_err(|e| {
            let msg = e.to_string();
            if msg.starts_with("unknown field") {
                D::Error::custom(format!(
                    "{msg}, {}",
                    TERMINAL_FIELDS.map(|f| format!("`{f}`")).join(", ")
                ))
            } else {
                D::Error::custom(msg)
            }
        })?;
        Ok(RunFrame {
            run,
            tty,
            cols,
            rows,
        })
    }
}

/// A frame to the client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame {
    /// Waiting for a container; 1 is next.
    Queued {
        position: QueuePosition,
    },
    /// The compile step finished (compiled languages only, before `started`).
    Compile(CompileJson),
    /// The program started.
    Started,
    Stdout {
        data: String,
    },
    Stderr {
        data: String,
    },
    /// The program is blocked reading its empty stdin: it waits for the person (once per
    /// wait; again after it got input and blocked again). Not sent under gVisor.
    WaitingForInput,
    /// A file the program left in `/workspace/output`: after the program ended, before
    /// `exit`, one frame per file.
    Artifact(Artifact),
    /// The run is over.
    Exit(ExitJson),
    /// A refused frame or a run that could not start; the session goes on.
    Error {
        code: String,
        #[serde(default)]
        message: String,
    },
    /// Never sent: what a client reads a frame type it does not know as (a newer server).
    #[serde(other)]
    Unknown,
}
