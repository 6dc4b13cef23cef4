//! The agent's main loop: serves requests while idle, and supervises each step of a run
//! (limits, streaming, stdin, kills) until it ends with an exit report.

use crate::cgroup::Cgroup;
use crate::process::{self, Spawned, Stdio3, StepSpec};
use crate::sandbox::Sandbox;
use crate::{Msg, Outbox};
use agent::{CompileReport, Event, ExitReport, Request, RunSpec, Verdict};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

/// Compile output kept for the compile report, per stream.
const COMPILE_OUTPUT_CAP: usize = 64 * 1024;
/// How often limits that need polling (CPU time) are checked.
const POLL: Duration = Duration::from_millis(25);
/// How long output may keep flowing after the main process exited and the rest was killed.
const DRAIN: Duration = Duration::from_millis(500);

/// The agent's state across runs.
pub struct Agent {
    sandbox: Sandbox,
    cgroup: Cgroup,
    tx: Sender<Msg>,
    rx: Receiver<Msg>,
    gen: u64,
}

/// Where a step's output goes.
enum Sink {
    /// Streamed to the pool as it comes (the run step).
    Stream,
    /// Collected for the compile report.
    Collect { stdout: Vec<u8>, stderr: Vec<u8> },
}

/// Input that arrived before the run step had a stdin to write to.
type PendingInput = Vec<Option<Vec<u8>>>;

impl Agent {
    /// An agent that owns the sandbox and the main loop's channel.
    pub fn new(sandbox: Sandbox, tx: Sender<Msg>, rx: Receiver<Msg>) -> Agent {
        Agent {
            sandbox,
            cgroup: Cgroup::detect(),
            tx,
            rx,
            gen: 0,
        }
    }

    /// Wipes the sandbox and tells the pool whether it is clean.
    pub fn reset_and_announce(&mut self, out: &mut Outbox) {
        match self.sandbox.kill_all().and_then(|_| self.sandbox.wipe()) {
            Ok(()) => out.send(&Event::Ready {
                protocol: agent::PROTOCOL_VERSION,
                sandbox_uid: self.sandbox.uid,
            }),
            Err(message) => out.send(&Event::Error {
                message,
                fatal: true,
            }),
        }
    }

    /// Serves requests until the pool goes away.
    pub fn serve(&mut self, out: &mut Outbox) -> ! {
        loop {
            match self.rx.recv() {
                Ok(Msg::Req(Some(req))) => match req {
                    Request::Run(spec) => self.run(spec, out),
                    Request::Reset => self.reset_and_announce(out),
                    Request::Ping => out.send(&Event::Pong),
                    // Input or controls for a run that already ended.
                    Request::Stdin(_)
                    | Request::CloseStdin
                    | Request::Kill
                    | Request::Resize { .. } => {}
                },
                Ok(Msg::Req(None)) | Err(_) => self.exit(),
                Ok(_) => {} // output of an earlier step
            }
        }
    }

    fn exit(&self) -> ! {
        let _ = self.sandbox.kill_all();
        std::process::exit(0)
    }

    /// One run: files, the optional compile step, then the program.
    fn run(&mut self, spec: RunSpec, out: &mut Outbox) {
        if let Err(message) = self.sandbox.write_files(&spec.files) {
            out.send(&Event::Error {
                message,
                fatal: false,
            });
            out.send(&Event::Exit(internal_error()));
            return;
        }
        let mut pending: PendingInput = Vec::new();
        if !spec.stdin.is_empty() {
            pending.push(Some(spec.stdin.clone()));
        }
        if spec.close_stdin {
            pending.push(None);
        }
        if !spec.compile.is_empty() {
            let mut sink = Sink::Collect {
                stdout: Vec::new(),
                stderr: Vec::new(),
            };
            let step = StepSpec {
                gen: 0,
                argv: &spec.compile,
                env: &spec.env,
                uid: self.sandbox.uid,
                limits: &spec.limits,
                stdio: Stdio3::Pipes { stdin: false },
            };
            let wall = spec.limits.compile_wall_ms;
            let exit = self.step(step, wall, wall, &mut sink, &mut pending, out);
            let Sink::Collect { stdout, stderr } = sink else {
                unreachable!()
            };
            let verdict = exit.verdict;
            out.send(&Event::Compiled(CompileReport {
                exit: exit.clone(),
                stdout,
                stderr,
            }));
            if verdict != Verdict::Ok {
                let verdict = match verdict {
                    Verdict::Killed | Verdict::InternalError => verdict,
                    _ => Verdict::CompileError,
                };
                out.send(&Event::Exit(ExitReport { verdict, ..exit }));
                return;
            }
        }
        let stdio = match spec.tty {
            Some(size) => Stdio3::Tty(size),
            None => Stdio3::Pipes { stdin: true },
        };
        let step = StepSpec {
            gen: 0,
            argv: &spec.run,
            env: &spec.env,
            uid: self.sandbox.uid,
            limits: &spec.limits,
            stdio,
        };
        let exit = self.step(
            step,
            spec.limits.wall_ms,
            spec.limits.cpu_ms,
            &mut Sink::Stream,
            &mut pending,
            out,
        );
        out.send(&Event::Exit(exit));
    }

    /// Runs one step to its end and judges it.
    fn step(
        &mut self,
        mut step: StepSpec<'_>,
        wall_ms: u64,
        cpu_ms: u64,
        sink: &mut Sink,
        pending: &mut PendingInput,
        out: &mut Outbox,
    ) -> ExitReport {
        self.gen += 1;
        let gen = self.gen;
        step.gen = gen;
        let output_limit = step.limits.output_bytes;
        let streams_open_at_start = if matches!(step.stdio, Stdio3::Tty(_)) {
            1
        } else {
            2
        };
        let oom_before = self.cgroup.oom_kills();
        let cpu_before = self.cgroup.cpu_usage_us();
        let start = Instant::now();
        let mut proc = match process::spawn(step, &self.tx) {
            Ok(p) => p,
            Err(e) => return self.failed_to_start(e, start, sink, out),
        };
        if matches!(sink, Sink::Stream) {
            out.send(&Event::Started);
            for input in pending.drain(..) {
                feed(&mut proc, input);
            }
        }
        let deadline = start + Duration::from_millis(wall_ms);
        let mut open = streams_open_at_start;
        let mut exited: Option<(i32, u64, u64, Instant)> = None;
        let mut reason: Option<Verdict> = None;
        let mut written: u64 = 0;
        let mut truncated = false;
        let mut drain_until = None;
        loop {
            if exited.is_some() && open == 0 {
                break;
            }
            let now = Instant::now();
            let wake = match drain_until {
                Some(t) => t,
                None => deadline.min(now + POLL),
            };
            match self.rx.recv_timeout(wake.saturating_duration_since(now)) {
                Ok(Msg::Out {
                    gen: g,
                    stderr,
                    mut data,
                }) if g == gen => {
                    if data.is_empty() {
                        open -= 1;
                        continue;
                    }
                    if reason == Some(Verdict::OutputLimit) {
                        continue;
                    }
                    let room = output_limit.saturating_sub(written) as usize;
                    if data.len() > room {
                        data.truncate(room);
                        truncated = true;
                        reason.get_or_insert(Verdict::OutputLimit);
                        self.kill();
                    }
                    written += data.len() as u64;
                    if !data.is_empty() {
                        deliver(sink, stderr, data, out);
                    }
                }
                Ok(Msg::Exited {
                    gen: g,
                    status,
                    cpu_ms,
                    memory_kb,
                }) if g == gen => {
                    exited = Some((status, cpu_ms, memory_kb, Instant::now()));
                    // Whatever the program left running would hold its output open.
                    self.kill();
                    drain_until = Some(Instant::now() + DRAIN);
                }
                Ok(Msg::Req(Some(req))) => match req {
                    Request::Stdin(data) => match sink {
                        Sink::Stream => feed(&mut proc, Some(data)),
                        Sink::Collect { .. } => pending.push(Some(data)),
                    },
                    Request::CloseStdin => match sink {
                        Sink::Stream => feed(&mut proc, None),
                        Sink::Collect { .. } => pending.push(None),
                    },
                    Request::Kill => {
                        if exited.is_none() {
                            reason.get_or_insert(Verdict::Killed);
                            self.kill();
                        }
                    }
                    Request::Resize { cols, rows } => {
                        if let Some(master) = &proc.tty {
                            process::resize(master, agent::TtySize { cols, rows });
                        }
                    }
                    Request::Ping => out.send(&Event::Pong),
                    Request::Run(_) | Request::Reset => out.send(&Event::Error {
                        message: "a run is in progress".into(),
                        fatal: false,
                    }),
                },
                Ok(Msg::Req(None)) => self.exit(),
                Ok(_) => {} // a message of an earlier step
                Err(RecvTimeoutError::Timeout) => {
                    if exited.is_some() {
                        break; // something kept the output open; give up on it
                    }
                    if Instant::now() >= deadline {
                        reason.get_or_insert(Verdict::TimeLimit);
                        self.kill();
                    } else if let (Some(before), Some(now)) =
                        (cpu_before, self.cgroup.cpu_usage_us())
                    {
                        if now.saturating_sub(before) >= cpu_ms * 1000 {
                            reason.get_or_insert(Verdict::CpuLimit);
                            self.kill();
                        }
                    }
                }
                Err(RecvTimeoutError::Disconnected) => self.exit(),
            }
        }
        let (status, cpu_ms, memory_kb, ended) = exited.expect("loop ends after exit");
        let (exit_code, signal) = decode_status(status);
        let oom = match (oom_before, self.cgroup.oom_kills()) {
            (Some(a), Some(b)) => b > a,
            _ => false,
        };
        let verdict = match reason {
            Some(r) => r,
            None if oom && exit_code != Some(0) => Verdict::MemoryLimit,
            None if signal == Some(libc::SIGXCPU) => Verdict::CpuLimit,
            None if exit_code == Some(0) => Verdict::Ok,
            None => Verdict::RuntimeError,
        };
        ExitReport {
            verdict,
            exit_code,
            signal,
            wall_ms: ended.duration_since(start).as_millis() as u64,
            cpu_ms,
            memory_kb,
            truncated,
        }
    }

    /// A step whose command could not even start (not found, not executable): the shell's
    /// convention of status 127 with the reason on stderr.
    fn failed_to_start(
        &mut self,
        err: std::io::Error,
        start: Instant,
        sink: &mut Sink,
        out: &mut Outbox,
    ) -> ExitReport {
        if matches!(sink, Sink::Stream) {
            out.send(&Event::Started);
        }
        deliver(
            sink,
            true,
            format!("cannot start: {err}\n").into_bytes(),
            out,
        );
        ExitReport {
            verdict: Verdict::RuntimeError,
            exit_code: Some(127),
            signal: None,
            wall_ms: start.elapsed().as_millis() as u64,
            cpu_ms: 0,
            memory_kb: 0,
            truncated: false,
        }
    }

    fn kill(&self) {
        // Failing here means processes survive SIGKILL; the reset that follows reports it.
        let _ = self.sandbox.kill_all();
    }
}

fn deliver(sink: &mut Sink, stderr: bool, data: Vec<u8>, out: &mut Outbox) {
    match sink {
        Sink::Stream if stderr => out.send(&Event::Stderr(data)),
        Sink::Stream => out.send(&Event::Stdout(data)),
        Sink::Collect {
            stdout,
            stderr: err,
        } => {
            let buf = if stderr { err } else { stdout };
            let room = COMPILE_OUTPUT_CAP.saturating_sub(buf.len());
            buf.extend_from_slice(&data[..data.len().min(room)]);
        }
    }
}

/// Writes input to the step's stdin; `None` closes it (on a tty, sends the EOF character).
fn feed(proc: &mut Spawned, input: Option<Vec<u8>>) {
    match (input, proc.tty.is_some()) {
        (Some(bytes), _) => {
            if let Some(tx) = &proc.stdin {
                let _ = tx.send(Some(bytes));
            }
        }
        (None, true) => {
            if let Some(tx) = &proc.stdin {
                let _ = tx.send(Some(vec![4]));
            }
        }
        (None, false) => {
            if let Some(tx) = proc.stdin.take() {
                let _ = tx.send(None);
            }
        }
    }
}

fn decode_status(status: i32) -> (Option<i32>, Option<i32>) {
    if libc::WIFEXITED(status) {
        (Some(libc::WEXITSTATUS(status)), None)
    } else if libc::WIFSIGNALED(status) {
        (None, Some(libc::WTERMSIG(status)))
    } else {
        (None, None)
    }
}

fn internal_error() -> ExitReport {
    ExitReport {
        verdict: Verdict::InternalError,
        exit_code: None,
        signal: None,
        wall_ms: 0,
        cpu_ms: 0,
        memory_kb: 0,
        truncated: false,
    }
}
