//! Starting one step (compile or run) as the sandbox uid, with its rlimits, its stdio on
//! pipes or a pseudo-terminal, and the threads that carry its output and exit to the main loop.

use crate::input_wait::FileId;
use crate::sandbox::WORKSPACE;
use crate::Msg;
use agent::{RunLimits, TtySize};
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::sync::mpsc::{self, Sender};

/// How the step's stdio is wired.
pub enum Stdio3 {
    /// Pipes; stdin is `/dev/null` when `stdin` is false.
    Pipes { stdin: bool },
    /// A pseudo-terminal of this size for all three.
    Tty(TtySize),
}

/// A started step: where to send its input and how to resize its terminal.
pub struct Spawned {
    /// `Some(bytes)` writes, `None` closes stdin.
    pub stdin: Option<Sender<Option<Vec<u8>>>>,
    /// The pty master, for resizes.
    pub tty: Option<OwnedFd>,
    /// The file the step's stdin is (its pipe or terminal), to tell when it reads it.
    pub stdin_id: Option<FileId>,
}

/// What a step needs besides its argv.
pub struct StepSpec<'a> {
    pub gen: u64,
    pub argv: &'a [String],
    pub env: &'a [(String, String)],
    pub uid: u32,
    pub limits: &'a RunLimits,
    pub stdio: Stdio3,
    /// Handed to the step as its fd 3 (the zygote's control pipe).
    pub fd3: Option<OwnedFd>,
}

/// The environment of every step before the language's own.
pub fn base_env() -> [(&'static str, &'static str); 4] {
    [
        (
            "PATH",
            "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        ),
        ("HOME", "/tmp"),
        ("LANG", "C.UTF-8"),
        ("USER", "sandbox"),
    ]
}

/// A pipe whose ends close on exec (until one is moved to fd 3 of a step).
pub fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [-1; 2];
    // SAFETY: pipe2 fills both fds on success; we own them afterwards.
    unsafe {
        if libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok((OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])))
    }
}

/// Starts the step and the threads around it; they report through `tx` tagged with `gen`.
pub fn spawn(spec: StepSpec<'_>, tx: &Sender<Msg>) -> io::Result<Spawned> {
    let (program, args) = spec
        .argv
        .split_first()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "empty command"))?;
    let mut cmd = Command::new(program);
    cmd.args(args)
        .env_clear()
        .envs(base_env())
        .current_dir(WORKSPACE)
        .uid(spec.uid)
        .gid(spec.uid);
    let tty_size = match spec.stdio {
        Stdio3::Tty(size) => Some(size),
        Stdio3::Pipes { .. } => None,
    };
    if tty_size.is_some() {
        cmd.env("TERM", "xterm-256color");
    }
    cmd.envs(spec.env.iter().map(|(k, v)| (k, v)));

    let limits = *spec.limits;
    let is_tty = tty_size.is_some();
    let fd3 = spec.fd3.as_ref().map(|fd| fd.as_raw_fd());
    let seccomp = crate::seccomp::filter();
    // SAFETY: the closure runs between fork and exec and only makes raw syscalls.
    unsafe {
        cmd.pre_exec(move || {
            if libc::setsid() < 0 {
                return Err(io::Error::last_os_error());
            }
            if is_tty && libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                return Err(io::Error::last_os_error());
            }
            if let Some(fd) = fd3 {
                // dup2 onto itself would keep close-on-exec set; clear it instead.
                let ok = if fd == 3 {
                    libc::fcntl(3, libc::F_SETFD, 0) == 0
                } else {
                    libc::dup2(fd, 3) == 3
                };
                if !ok {
                    return Err(io::Error::last_os_error());
                }
            }
            let cpu_s = limits.cpu_ms.div_ceil(1000) + 1;
            set_limit(libc::RLIMIT_CPU, cpu_s, cpu_s + 1);
            set_limit(
                libc::RLIMIT_FSIZE,
                limits.file_size_bytes,
                limits.file_size_bytes,
            );
            set_limit(libc::RLIMIT_NPROC, limits.processes, limits.processes);
            set_limit(libc::RLIMIT_NOFILE, limits.open_files, limits.open_files);
            set_limit(libc::RLIMIT_CORE, 0, 0);
            // Make the program, not the agent, the OOM killer's first choice.
            let fd = libc::open(c"/proc/self/oom_score_adj".as_ptr(), libc::O_WRONLY);
            if fd >= 0 {
                libc::write(fd, b"1000".as_ptr().cast(), 4);
                libc::close(fd);
            }
            // Last: the filter also applies to the exec below (see seccomp.rs).
            if !crate::seccomp::install(seccomp) {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        });
    }

    let mut master = None;
    let mut stdin_id = None;
    match spec.stdio {
        Stdio3::Pipes { stdin } => {
            cmd.stdin(if stdin { Stdio::piped() } else { Stdio::null() })
                .stdout(Stdio::piped())
                .stderr(Stdio::piped());
        }
        Stdio3::Tty(size) => {
            let (m, slave) = open_pty(size)?;
            stdin_id = FileId::of_fd(slave.as_raw_fd());
            cmd.stdin(Stdio::from(slave.try_clone()?))
                .stdout(Stdio::from(slave.try_clone()?))
                .stderr(Stdio::from(slave));
            master = Some(m);
        }
    }

    let mut child = cmd.spawn()?;
    // Drop the parent's copies of the slave end (and of fd 3) now, so EOF arrives when the
    // program ends.
    drop(cmd);
    drop(spec.fd3);
    let pid = child.id() as i32;
    let gen = spec.gen;

    let mut stdin_writer = None;
    let tty = match master {
        Some(m) => {
            pump_output(gen, false, File::from(m.try_clone()?), tx.clone());
            stdin_writer = Some(feed_input(File::from(m.try_clone()?)));
            Some(m)
        }
        None => {
            if let Some(out) = child.stdout.take() {
                pump_output(gen, false, File::from(OwnedFd::from(out)), tx.clone());
            }
            if let Some(err) = child.stderr.take() {
                pump_output(gen, true, File::from(OwnedFd::from(err)), tx.clone());
            }
            if let Some(inp) = child.stdin.take() {
                stdin_id = FileId::of_fd(inp.as_raw_fd());
                stdin_writer = Some(feed_input(File::from(OwnedFd::from(inp))));
            }
            None
        }
    };
    wait_for_exit(gen, pid, tx.clone());
    Ok(Spawned {
        stdin: stdin_writer,
        tty,
        stdin_id,
    })
}

/// Sets the terminal size of a running tty step.
pub fn resize(master: &OwnedFd, size: TtySize) {
    let ws = winsize(size);
    // SAFETY: TIOCSWINSZ reads a winsize struct that lives for the call.
    unsafe {
        libc::ioctl(master.as_raw_fd(), libc::TIOCSWINSZ, &ws);
    }
}

fn winsize(size: TtySize) -> libc::winsize {
    libc::winsize {
        ws_row: size.rows.max(1),
        ws_col: size.cols.max(1),
        ws_xpixel: 0,
        ws_ypixel: 0,
    }
}

fn open_pty(size: TtySize) -> io::Result<(OwnedFd, OwnedFd)> {
    let mut master = -1;
    let mut slave = -1;
    let ws = winsize(size);
    // SAFETY: openpty writes two fds on success; we own them afterwards.
    unsafe {
        if libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            &ws,
        ) != 0
        {
            return Err(io::Error::last_os_error());
        }
        libc::fcntl(master, libc::F_SETFD, libc::FD_CLOEXEC);
        libc::fcntl(slave, libc::F_SETFD, libc::FD_CLOEXEC);
        Ok((OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)))
    }
}

/// The type setrlimit takes for its resource differs between glibc and musl.
#[cfg(target_env = "gnu")]
type Resource = libc::__rlimit_resource_t;
#[cfg(not(target_env = "gnu"))]
type Resource = libc::c_int;

fn set_limit(resource: Resource, soft: u64, hard: u64) {
    let lim = libc::rlimit {
        rlim_cur: soft as libc::rlim_t,
        rlim_max: hard.max(soft) as libc::rlim_t,
    };
    // SAFETY: setrlimit reads the struct for the duration of the call.
    unsafe {
        libc::setrlimit(resource, &lim);
    }
}

/// Copies a stream to the main loop until EOF (or EIO, which a pty gives when the last
/// slave fd closes); an empty chunk marks the end.
pub fn pump_output(gen: u64, stderr: bool, mut src: File, tx: Sender<Msg>) {
    crate::workers::spawn(move || {
        let mut buf = vec![0u8; 32 * 1024];
        loop {
            match src.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    let data = buf[..n].to_vec();
                    if tx.send(Msg::Out { gen, stderr, data }).is_err() {
                        return;
                    }
                }
            }
        }
        let _ = tx.send(Msg::Out {
            gen,
            stderr,
            data: Vec::new(),
        });
    });
}

/// A thread that writes to the program's stdin without ever blocking the main loop.
pub fn feed_input(mut dst: File) -> Sender<Option<Vec<u8>>> {
    let (tx, rx) = mpsc::channel::<Option<Vec<u8>>>();
    crate::workers::spawn(move || {
        while let Ok(Some(bytes)) = rx.recv() {
            if dst.write_all(&bytes).is_err() {
                // The program closed its stdin; keep draining so senders never block.
                while let Ok(Some(_)) = rx.recv() {}
                return;
            }
        }
    });
    tx
}

/// Waits for the step's main process and reports its status and resource use.
fn wait_for_exit(gen: u64, pid: i32, tx: Sender<Msg>) {
    crate::workers::spawn(move || {
        let mut status = 0;
        // SAFETY: rusage is plain data that wait4 fills in.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        loop {
            // SAFETY: waits for our own child.
            let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
            if r == pid {
                break;
            }
            if r < 0 && io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
                status = 0;
                break;
            }
        }
        let ms = |tv: libc::timeval| tv.tv_sec as u64 * 1000 + tv.tv_usec as u64 / 1000;
        let _ = tx.send(Msg::Exited {
            gen,
            status,
            cpu_ms: ms(usage.ru_utime) + ms(usage.ru_stime),
            memory_kb: usage.ru_maxrss as u64,
        });
    });
}
