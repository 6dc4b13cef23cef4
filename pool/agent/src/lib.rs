//! The typed protocol between the pool (outside) and the agent (inside every sandbox container).
//!
//! Frames travel over the container's attached stdio: the pool writes [`Request`]s to the
//! agent's stdin, the agent writes [`Event`]s to its stdout. Each frame is a little-endian
//! `u32` length followed by that many bytes of `postcard`-encoded payload. Both sides are
//! built from this one file, so the encoding needs no versioning beyond [`PROTOCOL_VERSION`].

use serde::{Deserialize, Serialize};
use std::io::{self, Read, Write};

/// Bumped whenever a type below changes shape; the agent announces it in [`Event::Ready`].
///
/// The agent's first frame is its hello, and the one part of the protocol that never changes
/// shape, so that an engine can read the version of an agent of any other version (older or
/// newer) before decoding anything else: a length-prefixed frame whose payload starts with
/// varint `0` ([`Event::Ready`] is and stays the first variant of [`Event`]) followed by the
/// varint protocol version (`protocol` is and stays `Ready`'s first field). See
/// [`peek_protocol`].
pub const PROTOCOL_VERSION: u32 = 6;

/// Upper bound on one frame, so a corrupt length cannot make either side allocate wildly.
pub const MAX_FRAME_BYTES: usize = 64 * 1024 * 1024;

/// A message from the pool to the agent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Request {
    /// Start a program; only valid when the agent is idle. Boxed: by far the largest
    /// request, it would make every other one (keystrokes) as large.
    Run(Box<RunSpec>),
    /// Bytes for the running program's stdin.
    Stdin(#[serde(with = "serde_bytes")] Vec<u8>),
    /// Close the running program's stdin (EOF).
    CloseStdin,
    /// Kill the running program; its verdict becomes `Killed`.
    Kill,
    /// Change the terminal size of a tty run.
    Resize { cols: u16, rows: u16 },
    /// Wipe every trace of the previous run, then answer [`Event::Ready`].
    Reset,
    /// Liveness check, answered by [`Event::Pong`].
    Ping,
    /// Keep an interpreter started and waiting for the next run (after every reset), so a
    /// run that matches it skips the interpreter's start-up. Not answered.
    Prestart(PrestartSpec),
    /// Judge mode: run the program of the last [`Request::Run`] (whose `cases` was set)
    /// again with this input. First every process of the sandbox uid is killed and the
    /// writable places are restored: `/workspace` as the files and the compile step left
    /// it, `/tmp`, `/dev/shm`, `/dev/mqueue` and SysV IPC empty. Answered like a run without
    /// a compile step (`Started`, output, `Exit`), with the limits of that run afresh.
    Case(CaseSpec),
}

/// One more test case of a judged run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseSpec {
    /// argv of the run step (the run's command with this case's arguments).
    pub run: Vec<String>,
    /// The case's whole input; stdin is closed after it.
    #[serde(with = "serde_bytes")]
    pub stdin: Vec<u8>,
}

/// Interpreters the agent knows how to keep waiting for a program.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ZygoteKind {
    /// CPython: started with `-c`, it runs the program with `runpy` when told its path.
    Python,
}

/// What a prestarted interpreter looks like; a run uses it only when its spec matches.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PrestartSpec {
    pub kind: ZygoteKind,
    /// The run command up to (without) the program file, e.g. `["python3", "-u"]`.
    pub run_prefix: Vec<String>,
    /// The program file that follows the prefix in the run command.
    pub file: String,
    pub env: Vec<(String, String)>,
    pub limits: RunLimits,
    /// Instead of an interpreter started as the sandbox uid after every reset, keep one fork
    /// server per container (root, never running user code, surviving resets) that forks a
    /// child per run (see the agent's fork_server.rs). Python only.
    pub fork_server: bool,
}

/// One file of the user's program, written below the workspace directory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceFile {
    /// Relative path inside the workspace (no `..`, not absolute).
    pub name: String,
    #[serde(with = "serde_bytes")]
    pub content: Vec<u8>,
}

/// Everything the agent needs to run one program.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSpec {
    pub files: Vec<SourceFile>,
    /// argv of the compile step; empty means none.
    pub compile: Vec<String>,
    /// argv of the run step.
    pub run: Vec<String>,
    /// Extra environment for both steps.
    pub env: Vec<(String, String)>,
    /// Bytes fed to stdin before any streamed [`Request::Stdin`].
    #[serde(with = "serde_bytes")]
    pub stdin: Vec<u8>,
    /// Close stdin right after `stdin` was written (batch runs).
    pub close_stdin: bool,
    /// Run the program on a pseudo-terminal instead of pipes.
    pub tty: Option<TtySize>,
    pub limits: RunLimits,
    /// Judge mode: [`Request::Case`]s follow, so the agent keeps a copy of the workspace as
    /// the compile step left it, to restore before each of them.
    pub cases: bool,
    /// Files the program leaves in [`OUTPUT_DIR`] to send back ([`Event::Artifact`]).
    pub artifacts: ArtifactLimits,
    /// What an earlier, byte-identical compile left (the engine's compile cache): written
    /// after `files`, with their modes, in place of a compile step (`compile` is then empty).
    pub compiled: Vec<CompiledFile>,
    /// After a compile step that succeeded, send what it left in the workspace (every
    /// regular file but `files` and [`OUTPUT_DIR`]) in an [`Event::CompileOutput`], if it
    /// holds at most this many bytes; 0 sends nothing. Taken before the program runs, so
    /// nothing the program writes can be in it.
    pub capture_compiled_bytes: u64,
}

/// A file the compile step left in the workspace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompiledFile {
    /// Relative path inside the workspace (no `..`, not absolute).
    pub name: String,
    /// Permission bits (`0o755` for an executable).
    pub mode: u32,
    #[serde(with = "serde_bytes")]
    pub content: Vec<u8>,
}

/// Where a program puts files that come back with its result: a directory of the
/// workspace, created empty before the run step (when [`ArtifactLimits::files`] is not 0).
pub const OUTPUT_DIR: &str = "/workspace/output";

/// How much of [`OUTPUT_DIR`] comes back after the run step: its regular files (not what
/// symbolic links point to, not sub-directories) in name order, while both bounds hold.
/// Past either bound the agent stops and sends [`Event::ArtifactsTruncated`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ArtifactLimits {
    /// Files at most; 0 collects nothing (and creates no output directory).
    pub files: u32,
    /// Bytes of all files together at most.
    pub bytes: u64,
}

impl ArtifactLimits {
    /// Nothing comes back.
    pub const NONE: ArtifactLimits = ArtifactLimits { files: 0, bytes: 0 };
}

/// Terminal size for tty runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TtySize {
    pub cols: u16,
    pub rows: u16,
}

/// Limits the agent enforces itself (memory is the container's cgroup limit).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunLimits {
    pub wall_ms: u64,
    pub cpu_ms: u64,
    pub output_bytes: u64,
    pub compile_wall_ms: u64,
    /// Largest file a program may write (RLIMIT_FSIZE).
    pub file_size_bytes: u64,
    /// Processes the sandbox uid may have at once (RLIMIT_NPROC).
    pub processes: u64,
    /// Open files per process (RLIMIT_NOFILE).
    pub open_files: u64,
    /// Interactive runs (stdin left open): how long the program may wait blocked on its
    /// empty stdin, in one wait, before it ends with [`Verdict::IdleLimit`]. Time spent
    /// waiting so does not count against `wall_ms`.
    pub idle_ms: u64,
}

/// How a run (or a compile step) ended: the API's own enum. On this protocol (postcard) a
/// verdict travels as its variant index, so new verdicts are only ever appended.
pub use warmrun_api::Verdict;

/// Resource use and outcome of one process tree (the compile step or the run).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExitReport {
    pub verdict: Verdict,
    pub exit_code: Option<i32>,
    pub signal: Option<i32>,
    pub wall_ms: u64,
    pub cpu_ms: u64,
    pub memory_kb: u64,
    /// Output was cut at the output limit.
    pub truncated: bool,
}

impl ExitReport {
    /// The report of a run that ended with no program to measure (it never started, or its
    /// sandbox failed).
    pub fn unmeasured(verdict: Verdict) -> ExitReport {
        ExitReport {
            verdict,
            exit_code: None,
            signal: None,
            wall_ms: 0,
            cpu_ms: 0,
            memory_kb: 0,
            truncated: false,
        }
    }
}

/// The compile step's outcome with its (capped) output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompileReport {
    pub exit: ExitReport,
    #[serde(with = "serde_bytes")]
    pub stdout: Vec<u8>,
    #[serde(with = "serde_bytes")]
    pub stderr: Vec<u8>,
    /// The engine reused an earlier, byte-identical compile instead of compiling (the agent
    /// itself always says `false`).
    pub cached: bool,
}

/// A message from the agent to the pool.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Event {
    /// The sandbox is clean and idle. Also the agent's hello (its first frame): keep it the
    /// first variant and `protocol` its first field (see [`PROTOCOL_VERSION`]).
    Ready { protocol: u32, sandbox_uid: u32 },
    /// The compile step finished.
    Compiled(CompileReport),
    /// The program was started.
    Started,
    /// A chunk of the program's stdout (or of the terminal, for tty runs).
    Stdout(#[serde(with = "serde_bytes")] Vec<u8>),
    /// A chunk of the program's stderr.
    Stderr(#[serde(with = "serde_bytes")] Vec<u8>),
    /// The run is over; no more output follows.
    Exit(ExitReport),
    /// Answer to [`Request::Ping`].
    Pong,
    /// The agent could not do what was asked (bad request, failed reset).
    Error { message: String, fatal: bool },
    /// The program is blocked reading its empty stdin (an interactive run): sent once per
    /// wait, again only after it got input and blocked again. Not sent where the kernel
    /// does not tell (gVisor).
    WaitingForInput,
    /// A file the program left in [`OUTPUT_DIR`] (its name there, no directory part): sent
    /// after the run step ended and before its [`Event::Exit`].
    Artifact {
        name: String,
        #[serde(with = "serde_bytes")]
        data: Vec<u8>,
    },
    /// [`OUTPUT_DIR`] held more than [`ArtifactLimits`] allow: the files sent before this
    /// are all that come back. Sent (at most once) before [`Event::Exit`].
    ArtifactsTruncated,
    /// What a successful compile step left in the workspace (asked for with
    /// [`RunSpec::capture_compiled_bytes`]): sent before [`Event::Compiled`], and only when
    /// it holds regular files and directories alone, within the bound.
    CompileOutput(Vec<CompiledFile>),
}

/// Encodes one frame (length prefix + payload) into a fresh buffer.
pub fn encode_frame<T: Serialize>(msg: &T) -> Vec<u8> {
    let payload = postcard::to_stdvec(msg).expect("protocol types always serialize");
    let mut out = Vec::with_capacity(4 + payload.len());
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(&payload);
    out
}

/// Decodes one frame's payload (without the length prefix).
pub fn decode_payload<'a, T: Deserialize<'a>>(payload: &'a [u8]) -> Result<T, postcard::Error> {
    postcard::from_bytes(payload)
}

/// The protocol version an agent announces in a hello payload (its first frame, without the
/// length prefix), whatever the rest of the payload looks like; `None` when the payload is not
/// a hello at all (not an agent, or a frame other than the first).
pub fn peek_protocol(payload: &[u8]) -> Option<u32> {
    let (variant, rest) = read_varint(payload)?;
    if variant != 0 {
        return None;
    }
    let (version, _) = read_varint(rest)?;
    u32::try_from(version).ok()
}

/// One postcard varint (LEB128, at most 5 bytes for a u32) and what follows it.
fn read_varint(bytes: &[u8]) -> Option<(u64, &[u8])> {
    let mut value = 0u64;
    for (i, b) in bytes.iter().enumerate().take(5) {
        value |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Some((value, &bytes[i + 1..]));
        }
    }
    None
}

/// Writes one frame and flushes, so the peer sees it at once.
pub fn write_frame<W: Write, T: Serialize>(w: &mut W, msg: &T) -> io::Result<()> {
    w.write_all(&encode_frame(msg))?;
    w.flush()
}

/// Reads one frame; `Ok(None)` on a clean end of stream between frames.
pub fn read_frame<R: Read, T: for<'a> Deserialize<'a>>(r: &mut R) -> io::Result<Option<T>> {
    let mut len = [0u8; 4];
    match r.read_exact(&mut len) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let len = u32::from_le_bytes(len) as usize;
    if len > MAX_FRAME_BYTES {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "frame too large",
        ));
    }
    let mut buf = vec![0u8; len];
    r.read_exact(&mut buf)?;
    decode_payload(&buf)
        .map(Some)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip() {
        let ev = Event::Stdout(b"hi\n".to_vec());
        let bytes = encode_frame(&ev);
        let back: Event = read_frame(&mut &bytes[..]).unwrap().unwrap();
        assert_eq!(back, ev);
        let empty: Option<Event> = read_frame(&mut &[][..]).unwrap();
        assert!(empty.is_none());
    }

    /// The hello's bytes are the contract with agents of every other version: pinned here.
    #[test]
    fn hello_layout_is_stable() {
        let hello = Event::Ready {
            protocol: PROTOCOL_VERSION,
            sandbox_uid: 100_001,
        };
        let frame = encode_frame(&hello);
        assert_eq!(&frame[4..6], &[0, PROTOCOL_VERSION as u8]);
        assert_eq!(peek_protocol(&frame[4..]), Some(PROTOCOL_VERSION));
    }

    /// Variants added later go last: the ones before keep their encodings.
    #[test]
    fn variant_encodings_are_pinned() {
        let enc = |v: &Verdict| postcard::to_stdvec(v).unwrap();
        assert_eq!(enc(&Verdict::Ok), [0]);
        assert_eq!(enc(&Verdict::InternalError), [8]);
        assert_eq!(enc(&Verdict::IdleLimit), [9]);
        assert_eq!(Verdict::IdleLimit.as_str(), "idle_limit");
        assert_eq!(encode_frame(&Event::Pong)[4..], [6]);
        assert_eq!(encode_frame(&Event::WaitingForInput)[4..], [8]);
        assert_eq!(encode_frame(&Event::ArtifactsTruncated)[4..], [10]);
    }

    #[test]
    fn protocol_is_read_whatever_follows_it() {
        // A future agent whose hello carries other fields after the version.
        assert_eq!(peek_protocol(&[0, 0xac, 0x02, 0xff, 0xff, 0x13]), Some(300));
        assert_eq!(peek_protocol(&[0, 7]), Some(7));
        // Not a hello: another variant first, nothing, or a truncated varint.
        assert_eq!(peek_protocol(&encode_frame(&Event::Pong)[4..]), None);
        assert_eq!(peek_protocol(&[]), None);
        assert_eq!(peek_protocol(&[0]), None);
        assert_eq!(peek_protocol(&[0, 0x80]), None);
    }
}
