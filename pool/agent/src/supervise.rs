//! The agent's main loop: serves requests while idle, and supervises each step of a run
//! (limits, streaming, stdin, kills) until it ends with an exit report.

use crate::cgroup::Cgroup;
use crate::fork_server::ForkServer;
use crate::input_wait::{self, FileId, Tracker};
use crate::process::{self, Spawned, Stdio3, StepSpec};
use crate::sandbox::{Sandbox, Snapshot};
use crate::{Msg, Outbox};
use agent::{
    CaseSpec, CompileReport, Event, ExitReport, PrestartSpec, Request, RunLimits, RunSpec, Verdict,
    ZygoteKind,
};
use std::io::Write;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

/// Compile output kept for the compile report, per stream.
const COMPILE_OUTPUT_CAP: usize = 64 * 1024;
/// How often the container's CPU time is read at most (when close to the limit).
const POLL: Duration = Duration::from_millis(25);
/// How long between two reads of the CPU time at most: a program far from its CPU limit
/// (one waiting for input, a sleeping one) is not looked at 40 times a second, which with a
/// thousand open sessions was a third of the host's CPU (benches/density.rs).
const CPU_CHECK_MAX: Duration = Duration::from_secs(1);
/// How long output may keep flowing after the main process exited and the rest was killed.
const DRAIN: Duration = Duration::from_millis(500);

/// The Python program a prestarted interpreter runs (`python3 -c`).
const PYTHON_ZYGOTE: &str = include_str!("zygote.py");

/// The agent's state across runs.
pub struct Agent {
    sandbox: Sandbox,
    cgroup: Cgroup,
    tx: Sender<Msg>,
    rx: Receiver<Msg>,
    gen: u64,
    /// What to keep prestarted after every reset, if anything.
    prestart: Option<PrestartSpec>,
    /// The prestarted interpreter, waiting for its program on its control pipe.
    zygote: Option<Zygote>,
    /// The fork server (instead of the zygote when the prestart spec asks for it); it is
    /// not the sandbox uid, so resets leave it running.
    fork_server: Option<ForkServer>,
    /// The sandbox is as the last wipe left it: no run or case started since.
    clean: bool,
    /// The judged run whose further cases may follow (until the next reset).
    judged: Option<Judged>,
}

/// What the cases of a judged run share: the first run's environment and limits, and its
/// workspace after compiling. No case's input or output is kept.
struct Judged {
    env: Vec<(String, String)>,
    limits: RunLimits,
    workspace: Snapshot,
}

/// An interpreter started (as the sandbox uid, after the wipe) before its run arrived.
/// It never ran anyone's code, so using it keeps runs as isolated as a fresh start.
struct Zygote {
    gen: u64,
    proc: Spawned,
    control: std::fs::File,
    spec: PrestartSpec,
}

/// How a step's process comes to be.
enum Launch<'a> {
    /// Start it now.
    Spawn(StepSpec<'a>),
    /// It is already running (a zygote that was just told its program).
    Running { gen: u64, proc: Spawned },
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
            prestart: None,
            zygote: None,
            fork_server: None,
            clean: false,
            judged: None,
        }
    }

    /// Wipes the sandbox and tells the pool whether it is clean; then prestarts the
    /// interpreter for the next run, off the latency path.
    pub fn reset_and_announce(&mut self, out: &mut Outbox) {
        self.zygote = None; // killed with everything else of the sandbox uid
        self.judged = None;
        match self.sandbox.kill_all().and_then(|_| self.sandbox.wipe()) {
            Ok(()) => {
                self.clean = true;
                out.send(&Event::Ready {
                    protocol: agent::PROTOCOL_VERSION,
                    sandbox_uid: self.sandbox.uid,
                });
                self.start_zygote();
            }
            Err(message) => out.send(&Event::Error {
                message,
                fatal: true,
            }),
        }
    }

    /// Starts the prestarted interpreter (or the fork server), if one is configured and
    /// none is waiting. Only called right after a wipe, with no process of the sandbox uid.
    fn start_zygote(&mut self) {
        let Some(spec) = self.prestart.clone() else {
            self.fork_server = None;
            return;
        };
        if spec.fork_server {
            // A server for another spec, or one that died, is replaced.
            if let Some(server) = &mut self.fork_server {
                if server.spec != spec || !server.alive() {
                    self.fork_server = None;
                }
            }
            if self.fork_server.is_none() {
                self.fork_server = ForkServer::start(&spec).ok();
            }
            return;
        }
        self.fork_server = None;
        if self.zygote.is_some() {
            return;
        }
        let Ok((read, write)) = process::pipe() else {
            return;
        };
        let mut argv = spec.run_prefix.clone();
        match spec.kind {
            ZygoteKind::Python => argv.extend(["-c".to_string(), PYTHON_ZYGOTE.to_string()]),
        }
        self.gen += 1;
        let step = StepSpec {
            gen: self.gen,
            argv: &argv,
            env: &spec.env,
            uid: self.sandbox.uid,
            limits: &spec.limits,
            stdio: Stdio3::Pipes { stdin: true },
            fd3: Some(read),
        };
        if let Ok(proc) = process::spawn(step, &self.tx) {
            self.zygote = Some(Zygote {
                gen: self.gen,
                proc,
                control: std::fs::File::from(write),
                spec,
            });
        }
    }

    /// Hands the run to the waiting interpreter if it was started for exactly this kind of
    /// run; any other waiting interpreter is stopped (it counts against the process limit).
    fn take_zygote(&mut self, spec: &RunSpec) -> Option<(u64, Spawned)> {
        if self.fork_server.is_some() {
            return self.fork(spec);
        }
        let mut z = self.zygote.take()?;
        let p = &z.spec;
        let n = p.run_prefix.len();
        if fits(p, spec) {
            let mut go = p.file.clone().into_bytes();
            for arg in &spec.run[n + 1..] {
                go.push(0);
                go.extend_from_slice(arg.as_bytes());
            }
            if z.control.write_all(&go).is_ok() {
                drop(z.control); // EOF: the interpreter starts the program now
                return Some((z.gen, z.proc));
            }
        }
        self.kill();
        None
    }

    /// Starts the run through the fork server if it was started for exactly this kind of
    /// run. A server that fails to start it is replaced at the next reset, and the run
    /// starts the plain way.
    fn fork(&mut self, spec: &RunSpec) -> Option<(u64, Spawned)> {
        let server = self.fork_server.as_mut()?;
        if !fits(&server.spec, spec) {
            return None;
        }
        let n = server.spec.run_prefix.len();
        self.gen += 1;
        match server.launch(
            self.gen,
            self.sandbox.uid,
            &spec.limits,
            &spec.run[n],
            &spec.run[n + 1..],
            &self.tx,
        ) {
            Ok(proc) => Some((self.gen, proc)),
            Err(_) => {
                self.fork_server = None; // killed; a new one starts after the next wipe
                None
            }
        }
    }

    /// Serves requests until the pool goes away.
    pub fn serve(&mut self, out: &mut Outbox) -> ! {
        loop {
            match self.rx.recv() {
                Ok(Msg::Req(Some(req))) => match req {
                    Request::Run(spec) => self.run(*spec, out),
                    Request::Case(case) => self.run_case(case, out),
                    Request::Reset => self.reset_and_announce(out),
                    Request::Ping => out.send(&Event::Pong),
                    Request::Prestart(spec) => {
                        self.prestart = Some(spec);
                        // Only while the sandbox is as the last wipe left it (see start_zygote).
                        if self.clean {
                            self.start_zygote();
                        }
                    }
                    // Input or controls for a run that already ended.
                    Request::Stdin(_)
                    | Request::CloseStdin
                    | Request::Kill
                    | Request::Resize { .. } => {}
                },
                Ok(Msg::Req(None)) | Err(_) => self.exit(),
                Ok(Msg::Exited { gen, .. })
                    if self.zygote.as_ref().is_some_and(|z| z.gen == gen) =>
                {
                    // The waiting interpreter died (it should not); start without it.
                    self.zygote = None;
                }
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
        self.clean = false;
        self.judged = None;
        if let Err(message) = self.sandbox.write_files(&spec.files) {
            out.send(&Event::Error {
                message,
                fatal: false,
            });
            out.send(&Event::Exit(internal_error()));
            return;
        }
        if let Err(message) = self.sandbox.write_compiled(&spec.compiled) {
            out.send(&Event::Error {
                message,
                fatal: false,
            });
            out.send(&Event::Exit(internal_error()));
            return;
        }
        crate::output::prepare(&self.sandbox, spec.artifacts);
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
            // The compiler has the compile step's limit, in CPU time as in wall time: a
            // run's small CPU limit (a judge's 1 s) is the program's, and must not starve
            // a compiler that needs a few seconds (kotlinc, scalac).
            let compile_limits = RunLimits {
                cpu_ms: spec.limits.compile_wall_ms,
                ..spec.limits
            };
            let step = StepSpec {
                gen: 0,
                argv: &spec.compile,
                env: &spec.env,
                uid: self.sandbox.uid,
                limits: &compile_limits,
                stdio: Stdio3::Pipes { stdin: false },
                fd3: None,
            };
            let wall = spec.limits.compile_wall_ms;
            let launch = Launch::Spawn(step);
            let output_limit = spec.limits.output_bytes;
            let exit = self.step(
                launch,
                output_limit,
                wall,
                wall,
                0,
                &mut sink,
                &mut pending,
                out,
            );
            let Sink::Collect { stdout, stderr } = sink else {
                unreachable!()
            };
            let verdict = exit.verdict;
            // Before the program runs: nothing it writes can reach the engine's cache.
            if verdict == Verdict::Ok && spec.capture_compiled_bytes > 0 {
                if let Some(files) = self
                    .sandbox
                    .collect_compiled(&spec.files, spec.capture_compiled_bytes)
                {
                    out.send(&Event::CompileOutput(files));
                }
            }
            out.send(&Event::Compiled(CompileReport {
                exit: exit.clone(),
                stdout,
                stderr,
                cached: false,
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
        if spec.cases {
            // Before the first case runs: what it leaves behind must not reach the next.
            match self.sandbox.snapshot_workspace() {
                Ok(workspace) => {
                    self.judged = Some(Judged {
                        env: spec.env.clone(),
                        limits: spec.limits,
                        workspace,
                    })
                }
                Err(message) => {
                    out.send(&Event::Error {
                        message,
                        fatal: false,
                    });
                    out.send(&Event::Exit(internal_error()));
                    return;
                }
            }
        }
        let launch = match self.take_zygote(&spec) {
            Some((gen, proc)) => Launch::Running { gen, proc },
            None => Launch::Spawn(StepSpec {
                gen: 0,
                argv: &spec.run,
                env: &spec.env,
                uid: self.sandbox.uid,
                limits: &spec.limits,
                stdio: match spec.tty {
                    Some(size) => Stdio3::Tty(size),
                    None => Stdio3::Pipes { stdin: true },
                },
                fd3: None,
            }),
        };
        let exit = self.step(
            launch,
            spec.limits.output_bytes,
            spec.limits.wall_ms,
            spec.limits.cpu_ms,
            spec.limits.idle_ms,
            &mut Sink::Stream,
            &mut pending,
            out,
        );
        crate::output::send(&self.sandbox, spec.artifacts, &mut |ev| out.send(&ev));
        out.send(&Event::Exit(exit));
    }

    /// One more case of the judged run: a clean sandbox with the compiled workspace, then
    /// the program with the case's input (stdin closed after it) and the run's limits.
    fn run_case(&mut self, case: CaseSpec, out: &mut Outbox) {
        self.clean = false;
        let Some(judged) = self.judged.take() else {
            out.send(&Event::Error {
                message: "a case needs a judged run before it".into(),
                fatal: false,
            });
            out.send(&Event::Exit(internal_error()));
            return;
        };
        let clean = self
            .sandbox
            .kill_all()
            .and_then(|_| self.sandbox.wipe())
            .and_then(|_| self.sandbox.restore_workspace(&judged.workspace));
        if let Err(message) = clean {
            out.send(&Event::Error {
                message,
                fatal: true,
            });
            out.send(&Event::Exit(internal_error()));
            return;
        }
        let mut pending: PendingInput = Vec::new();
        if !case.stdin.is_empty() {
            pending.push(Some(case.stdin));
        }
        pending.push(None);
        let limits = judged.limits;
        let launch = Launch::Spawn(StepSpec {
            gen: 0,
            argv: &case.run,
            env: &judged.env,
            uid: self.sandbox.uid,
            limits: &limits,
            stdio: Stdio3::Pipes { stdin: true },
            fd3: None,
        });
        let exit = self.step(
            launch,
            limits.output_bytes,
            limits.wall_ms,
            limits.cpu_ms,
            limits.idle_ms,
            &mut Sink::Stream,
            &mut pending,
            out,
        );
        out.send(&Event::Exit(exit));
        self.judged = Some(judged);
    }

    /// Runs one step to its end and judges it.
    #[allow(clippy::too_many_arguments)]
    fn step(
        &mut self,
        launch: Launch<'_>,
        output_limit: u64,
        wall_ms: u64,
        cpu_ms: u64,
        idle_ms: u64,
        sink: &mut Sink,
        pending: &mut PendingInput,
        out: &mut Outbox,
    ) -> ExitReport {
        let oom_before = self.cgroup.oom_kills();
        let cpu_before = self.cgroup.cpu_usage_us();
        let start = Instant::now();
        let mut next_cpu_check = start + POLL;
        let (gen, mut proc) = match launch {
            Launch::Running { gen, proc } => (gen, proc),
            Launch::Spawn(mut step) => {
                self.gen += 1;
                step.gen = self.gen;
                match process::spawn(step, &self.tx) {
                    Ok(p) => (self.gen, p),
                    Err(e) => return self.failed_to_start(e, start, sink, out),
                }
            }
        };
        let streams_open_at_start = if proc.tty.is_some() { 1 } else { 2 };
        // Interactive runs: time spent waiting for input is not run time (see input_wait).
        let mut watch = match (&sink, proc.stdin_id) {
            (Sink::Stream, Some(stdin)) => Some(Watch {
                stdin,
                tracker: Tracker::new(Duration::from_millis(idle_ms)),
                next_look: start + input_wait::SAMPLE,
                told: false,
            }),
            _ => None,
        };
        if matches!(sink, Sink::Stream) {
            out.send(&Event::Started);
            for input in pending.drain(..) {
                feed_watched(&mut proc, input, &mut watch);
            }
        }
        let wall = Duration::from_millis(wall_ms);
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
            let mut now = Instant::now();
            if exited.is_none() {
                if let Some(w) = &mut watch {
                    if now >= w.next_look {
                        if !self.look(w, now, out) {
                            watch = None; // this kernel cannot tell (gVisor)
                        }
                        now = Instant::now();
                    }
                }
                if watch.as_ref().is_some_and(|w| w.tracker.idle_expired(now)) {
                    reason.get_or_insert(Verdict::IdleLimit);
                    self.kill();
                    stop_watch(&mut watch, now);
                }
            }
            let paused = watch
                .as_ref()
                .map_or(Duration::ZERO, |w| w.tracker.paused(now));
            let deadline = start + wall + paused;
            let wake = match (drain_until, &watch) {
                (Some(t), _) => t,
                (None, Some(w)) if w.tracker.waiting() => {
                    // The wall clock stands still; the idle limit and the next look wake us.
                    let idle = w.tracker.idle_deadline().unwrap_or(w.next_look);
                    idle.min(w.next_look).min(next_cpu_check)
                }
                (None, Some(w)) => deadline.min(next_cpu_check).min(w.next_look),
                (None, None) => deadline.min(next_cpu_check),
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
                    stop_watch(&mut watch, Instant::now());
                    // Whatever the program left running would hold its output open.
                    self.kill();
                    drain_until = Some(Instant::now() + DRAIN);
                }
                Ok(Msg::Req(Some(req))) => match req {
                    Request::Stdin(data) => match sink {
                        Sink::Stream => feed_watched(&mut proc, Some(data), &mut watch),
                        Sink::Collect { .. } => pending.push(Some(data)),
                    },
                    Request::CloseStdin => match sink {
                        Sink::Stream => feed_watched(&mut proc, None, &mut watch),
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
                    // Takes effect after the next reset.
                    Request::Prestart(spec) => self.prestart = Some(spec),
                    Request::Run(_) | Request::Case(_) | Request::Reset => {
                        out.send(&Event::Error {
                            message: "a run is in progress".into(),
                            fatal: false,
                        })
                    }
                },
                Ok(Msg::Req(None)) => self.exit(),
                Ok(_) => {} // a message of an earlier step
                Err(RecvTimeoutError::Timeout) => {
                    if exited.is_some() {
                        break; // something kept the output open; give up on it
                    }
                    let now = Instant::now();
                    let paused = watch
                        .as_ref()
                        .map_or(Duration::ZERO, |w| w.tracker.paused(now));
                    if now >= start + wall + paused {
                        reason.get_or_insert(Verdict::TimeLimit);
                        self.kill();
                    } else if now >= next_cpu_check {
                        match (cpu_before, self.cgroup.cpu_usage_us()) {
                            (Some(before), Some(used)) => {
                                let used = used.saturating_sub(before);
                                if used >= cpu_ms * 1000 {
                                    reason.get_or_insert(Verdict::CpuLimit);
                                    self.kill();
                                }
                                next_cpu_check = now
                                    + cpu_check_interval(cpu_ms * 1000 - used.min(cpu_ms * 1000));
                            }
                            _ => next_cpu_check = now + CPU_CHECK_MAX,
                        }
                    }
                }
                Err(RecvTimeoutError::Disconnected) => self.exit(),
            }
        }
        let (status, cpu_ms, memory_kb, ended) = exited.expect("loop ends after exit");
        // Time spent waiting for input is not the program's run time.
        let paused = watch
            .as_ref()
            .map_or(Duration::ZERO, |w| w.tracker.paused(ended));
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
            wall_ms: ended
                .duration_since(start)
                .saturating_sub(paused)
                .as_millis() as u64,
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

    /// Looks whether the program waits for input and announces a new wait; `false` when
    /// this kernel cannot tell.
    fn look(&self, w: &mut Watch, now: Instant, out: &mut Outbox) -> bool {
        let uid = self.sandbox.uid;
        let stdin = w.stdin;
        // The program's /proc files need its own uid to read (the agent has no CAP_SYS_PTRACE).
        let Some(readers) = self
            .sandbox
            .as_sandbox(|| input_wait::blocked_readers(uid, stdin))
        else {
            w.next_look = now + input_wait::SAMPLE;
            return w.told;
        };
        w.told = true;
        if w.tracker.observe(now, readers) {
            out.send(&Event::WaitingForInput);
        }
        w.next_look = now
            + if w.tracker.waiting() {
                input_wait::SAMPLE_WAITING
            } else {
                input_wait::SAMPLE
            };
        true
    }

    fn kill(&self) {
        // Failing here means processes survive SIGKILL; the reset that follows reports it.
        let _ = self.sandbox.kill_all();
    }
}

/// When to read the CPU time next, `left_us` before the limit: no sooner than the program
/// could reach it running on every CPU of the host, within [POLL, CPU_CHECK_MAX].
fn cpu_check_interval(left_us: u64) -> Duration {
    // Asked once: std reads /proc/self/mountinfo and the cgroup files to answer.
    static CPUS: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    let cpus =
        *CPUS.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()) as u64);
    Duration::from_micros(left_us / cpus).clamp(POLL, CPU_CHECK_MAX)
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

/// The watch over an interactive step's stdin.
struct Watch {
    stdin: FileId,
    tracker: Tracker,
    next_look: Instant,
    /// A look has worked: this kernel can tell, and a later look that cannot (a thread
    /// that ends while it is read, on a loaded host) is a miss, not a reason to drop the
    /// watch and with it the waits' time.
    told: bool,
}

/// Feeds input and tells the watch: input ends a wait, closing stdin ends the watch.
fn feed_watched(proc: &mut Spawned, input: Option<Vec<u8>>, watch: &mut Option<Watch>) {
    let now = Instant::now();
    match &input {
        Some(bytes) if bytes.is_empty() => {}
        Some(_) => {
            if let Some(w) = watch {
                w.tracker.fed(now);
                // The answer may be read and the next prompt reached soon: look again soon.
                w.next_look = w.next_look.min(now + input_wait::SAMPLE);
            }
        }
        None => stop_watch(watch, now),
    }
    feed(proc, input);
}

/// Ends the watch of a step: stdin closed, or the step is over. The time of the waits so
/// far stays off the wall clock.
fn stop_watch(watch: &mut Option<Watch>, now: Instant) {
    if let Some(w) = watch {
        w.tracker.stop(now);
        // Keep the tracker for the waits' total, but never look again.
        w.next_look = now + Duration::from_secs(86_400);
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

/// Whether a run is the kind a prestarted interpreter was started for: no compile step, no
/// terminal, the same environment and limits, and the same command up to the program file.
fn fits(p: &PrestartSpec, spec: &RunSpec) -> bool {
    let n = p.run_prefix.len();
    spec.compile.is_empty()
        && spec.compiled.is_empty()
        && spec.tty.is_none()
        && spec.env == p.env
        && spec.limits == p.limits
        && spec.run.len() > n
        && spec.run[..n] == p.run_prefix[..]
        && spec.run[n] == p.file
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
    ExitReport::unmeasured(Verdict::InternalError)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_checks_come_sooner_as_the_limit_nears() {
        assert_eq!(cpu_check_interval(0), POLL);
        assert_eq!(cpu_check_interval(u64::MAX), CPU_CHECK_MAX);
        let mut last = Duration::ZERO;
        for left_ms in [0, 10, 50, 100, 400, 1_000, 5_000, 60_000] {
            let d = cpu_check_interval(left_ms * 1000);
            assert!(
                d >= last && (POLL..=CPU_CHECK_MAX).contains(&d),
                "{left_ms}: {d:?}"
            );
            // Never later than the program could use what is left on one CPU.
            assert!(
                d <= Duration::from_millis(left_ms).max(POLL),
                "{left_ms}: {d:?}"
            );
            last = d;
        }
    }
}
