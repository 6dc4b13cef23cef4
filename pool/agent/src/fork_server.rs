//! The Python fork server: one interpreter per container, started as root (with only the
//! agent's SETUID/SETGID capabilities) right after a reset's wipe, that forks a child per run
//! instead of starting an interpreter (see forkserver.py and the README's threat analysis).
//!
//! The server never runs user code and never sees a run's data: per run the agent hands it
//! five descriptors over a socketpair only the two of them hold; it forks the run's child,
//! which reads the request (uid, limits, seccomp filter, program) from a pipe, becomes the
//! sandbox uid exactly as [`process::spawn`] makes any step, and runs the program. The server
//! waits for the child and sends its status and resource use on a socket of the run's own,
//! straight from the kernel's buffer (it never holds them as Python objects).

use crate::input_wait::FileId;
use crate::process::{self, Spawned};
use crate::Msg;
use agent::{PrestartSpec, RunLimits};
use std::fs::File;
use std::io::{self, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::Sender;
use std::time::Duration;

/// The server's program, and what starts it: `python3 [flags] -c BOOT PROGRAM`.
const FORKSERVER_PY: &str = include_str!("forkserver.py");
const FORKSERVER_BOOT_PY: &str = include_str!("forkserver_boot.py");

/// How long a started run may take to be acknowledged before the server counts as broken
/// (it answers in about a millisecond; a fresh server first compiles its program).
const ACK_TIMEOUT: Duration = Duration::from_secs(3);

/// What a pipe holds without blocking its writer (Linux and gVisor).
const PIPE_BUF_BYTES: usize = 64 * 1024;

/// A running fork server and the spec it was started for.
pub struct ForkServer {
    child: Child,
    control: OwnedFd,
    pub spec: PrestartSpec,
}

impl ForkServer {
    /// Starts the server for `spec`'s interpreter and environment. Call only when the sandbox
    /// has just been wiped and has no process: the interpreter (root) reads its start-up
    /// files then, and a planted `/tmp/.local` could otherwise reach it.
    pub fn start(spec: &PrestartSpec) -> io::Result<ForkServer> {
        let (ours, theirs) = socketpair()?;
        let (program, flags) = spec
            .run_prefix
            .split_first()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "empty command"))?;
        let mut cmd = Command::new(program);
        cmd.args(flags)
            .args(["-c", FORKSERVER_BOOT_PY, FORKSERVER_PY])
            .env_clear()
            .envs(process::base_env())
            .envs(spec.env.iter().map(|(k, v)| (k, v)))
            // Not a directory the sandbox can write to: `-c` puts the cwd on sys.path.
            .current_dir("/")
            // Pipes, as every run has: Python decides its stdio objects' kinds at start-up.
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let fd = theirs.as_raw_fd();
        // SAFETY: the closure runs between fork and exec and only makes raw syscalls.
        unsafe {
            cmd.pre_exec(move || {
                // Its own session: no signal of a run's session or terminal reaches it.
                if libc::setsid() < 0 {
                    return Err(io::Error::last_os_error());
                }
                let ok = if fd == 3 {
                    libc::fcntl(3, libc::F_SETFD, 0) == 0
                } else {
                    libc::dup2(fd, 3) == 3
                };
                if ok {
                    Ok(())
                } else {
                    Err(io::Error::last_os_error())
                }
            });
        }
        let mut child = cmd.spawn()?;
        // The server writes nothing and reads nothing on its stdio; dropping our ends makes
        // any write fail instead of filling a pipe.
        drop(child.stdin.take());
        drop(child.stdout.take());
        drop(child.stderr.take());
        drop(theirs);
        Ok(ForkServer {
            child,
            control: ours,
            spec: spec.clone(),
        })
    }

    /// Whether the server process still runs.
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Starts a run through the server: `file` and `args` as `python3 [flags] file args`, with
    /// the sandbox `uid` and `limits` as [`process::spawn`] sets them. An error means the
    /// server is broken (the caller replaces it and starts the run the plain way).
    pub fn launch(
        &mut self,
        gen: u64,
        uid: u32,
        limits: &RunLimits,
        file: &str,
        args: &[String],
        tx: &Sender<Msg>,
    ) -> io::Result<Spawned> {
        let (req_r, req_w) = process::pipe()?;
        let (report, report_theirs) = socketpair()?;
        let (in_r, in_w) = process::pipe()?;
        let (out_r, out_w) = process::pipe()?;
        let (err_r, err_w) = process::pipe()?;
        send_fds(
            &self.control,
            &[&req_r, &report_theirs, &in_r, &out_w, &err_w],
        )?;
        // Only the child keeps these now: EOF on its output means it (and what it started) is
        // done, as with a plain spawn.
        drop((req_r, report_theirs, in_r, out_w, err_w));
        let req = request(uid, limits, file, args);
        let mut req_w = File::from(req_w);
        if req.len() <= PIPE_BUF_BYTES {
            req_w.write_all(&req)?;
        } else {
            // Long argument lists: a server that never forks must not block the agent.
            crate::workers::spawn(move || {
                let _ = req_w.write_all(&req);
            });
        }
        let ack = recv_timeout(&report, ACK_TIMEOUT)?;
        if !ack.starts_with(b"P") {
            return Err(io::Error::other(format!(
                "fork server: {}",
                String::from_utf8_lossy(&ack)
            )));
        }
        process::pump_output(gen, false, File::from(out_r), tx.clone());
        process::pump_output(gen, true, File::from(err_r), tx.clone());
        let stdin_id = FileId::of_fd(in_w.as_raw_fd());
        let stdin = process::feed_input(File::from(in_w));
        wait_for_report(gen, report, tx.clone());
        Ok(Spawned {
            stdin: Some(stdin),
            tty: None,
            stdin_id,
        })
    }
}

impl Drop for ForkServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The request the child reads: length-prefixed items (uid, RLIMIT_CPU soft and hard,
/// RLIMIT_FSIZE, RLIMIT_NPROC, RLIMIT_NOFILE, the seccomp filter's bytes, the program file,
/// its arguments), the values [`process::spawn`] would set.
fn request(uid: u32, limits: &RunLimits, file: &str, args: &[String]) -> Vec<u8> {
    let cpu_s = limits.cpu_ms.div_ceil(1000) + 1;
    let mut filter = Vec::new();
    for ins in crate::seccomp::filter() {
        filter.extend_from_slice(&ins.code.to_le_bytes());
        filter.push(ins.jt);
        filter.push(ins.jf);
        filter.extend_from_slice(&ins.k.to_le_bytes());
    }
    let mut items: Vec<Vec<u8>> = vec![
        uid.to_string().into_bytes(),
        cpu_s.to_string().into_bytes(),
        (cpu_s + 1).to_string().into_bytes(),
        limits.file_size_bytes.to_string().into_bytes(),
        limits.processes.to_string().into_bytes(),
        limits.open_files.to_string().into_bytes(),
        filter,
        file.as_bytes().to_vec(),
    ];
    items.extend(args.iter().map(|a| a.as_bytes().to_vec()));
    let mut out = Vec::new();
    for item in items {
        out.extend_from_slice(&(item.len() as u32).to_le_bytes());
        out.extend_from_slice(&item);
    }
    out
}

/// Waits for the server's report of the child's end ([`parse_end`]) and tells the main loop.
/// A server that closes the socket without one (it was killed) counts as a program killed by
/// SIGKILL.
fn wait_for_report(gen: u64, report: OwnedFd, tx: Sender<Msg>) {
    crate::workers::spawn(move || {
        let parsed = recv(&report).ok().and_then(|msg| parse_end(&msg));
        let (status, cpu_ms, memory_kb) = parsed.unwrap_or((libc::SIGKILL, 0, 0));
        let _ = tx.send(Msg::Exited {
            gen,
            status,
            cpu_ms,
            memory_kb,
        });
    });
}

/// Where `struct rusage` starts in the server's report: after wait4's status, an int padded
/// to the struct's alignment (forkserver.py's `_WarmrunEnd`).
const USAGE_AT: usize = 8;
/// The kernel's `struct rusage` on 64-bit Linux: 18 longs (musl's libc type is longer).
const USAGE_WORDS: usize = 18;

/// The server's report of a run's end, as wait4 gave it: (status, CPU ms, max RSS KiB).
fn parse_end(msg: &[u8]) -> Option<(i32, u64, u64)> {
    if msg.len() != USAGE_AT + USAGE_WORDS * 8 {
        return None;
    }
    let status = i32::from_ne_bytes(msg[..4].try_into().ok()?);
    let word = |i: usize| {
        let at = USAGE_AT + i * 8;
        i64::from_ne_bytes(msg[at..at + 8].try_into().expect("8 bytes")).max(0) as u64
    };
    // ru_utime and ru_stime (seconds, microseconds each), then ru_maxrss.
    let ms = |sec: usize| word(sec) * 1000 + word(sec + 1) / 1000;
    Some((status, ms(0) + ms(2), word(4)))
}

/// A pair of connected message sockets, close-on-exec.
fn socketpair() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [-1; 2];
    // SAFETY: socketpair fills both fds on success; we own them afterwards.
    unsafe {
        if libc::socketpair(
            libc::AF_UNIX,
            libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC,
            0,
            fds.as_mut_ptr(),
        ) != 0
        {
            return Err(io::Error::last_os_error());
        }
        Ok((OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])))
    }
}

/// Sends the one-byte message "F" with `fds` attached (SCM_RIGHTS).
fn send_fds(sock: &OwnedFd, fds: &[&OwnedFd]) -> io::Result<()> {
    let raw: Vec<libc::c_int> = fds.iter().map(|f| f.as_raw_fd()).collect();
    let payload_len = std::mem::size_of_val(raw.as_slice()) as u32;
    // SAFETY: CMSG_SPACE/CMSG_LEN are pure computations.
    let space = unsafe { libc::CMSG_SPACE(payload_len) } as usize;
    // u64 words keep the control buffer aligned for cmsghdr.
    let mut control = vec![0u64; space.div_ceil(8)];
    let mut byte = *b"F";
    let mut iov = libc::iovec {
        iov_base: byte.as_mut_ptr().cast(),
        iov_len: 1,
    };
    // SAFETY: msghdr points at buffers that live for the call; the cmsg macros stay within
    // `control`, which is CMSG_SPACE bytes long.
    unsafe {
        let mut msg: libc::msghdr = std::mem::zeroed();
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control.as_mut_ptr().cast();
        msg.msg_controllen = space as _;
        let cmsg = libc::CMSG_FIRSTHDR(&msg);
        (*cmsg).cmsg_level = libc::SOL_SOCKET;
        (*cmsg).cmsg_type = libc::SCM_RIGHTS;
        (*cmsg).cmsg_len = libc::CMSG_LEN(payload_len) as _;
        std::ptr::copy_nonoverlapping(
            raw.as_ptr().cast::<u8>(),
            libc::CMSG_DATA(cmsg),
            payload_len as usize,
        );
        if libc::sendmsg(sock.as_raw_fd(), &msg, libc::MSG_NOSIGNAL) != 1 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// One message, or an error when the peer closed its end without one.
fn recv(sock: &OwnedFd) -> io::Result<Vec<u8>> {
    let mut buf = vec![0u8; 256];
    loop {
        // SAFETY: recv writes at most buf.len() bytes into buf.
        let n = unsafe { libc::recv(sock.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
        if n > 0 {
            buf.truncate(n as usize);
            return Ok(buf);
        }
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "fork server: no report",
            ));
        }
        let err = io::Error::last_os_error();
        if err.kind() != io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
}

/// [`recv`], giving up after `timeout`.
fn recv_timeout(sock: &OwnedFd, timeout: Duration) -> io::Result<Vec<u8>> {
    let mut pfd = libc::pollfd {
        fd: sock.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: poll reads and writes the one pollfd for the call.
    let n = unsafe { libc::poll(&mut pfd, 1, timeout.as_millis() as libc::c_int) };
    if n == 0 {
        return Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "fork server: no answer",
        ));
    }
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    recv(sock)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn end_message(status: i32, words: &[i64]) -> Vec<u8> {
        let mut msg = status.to_ne_bytes().to_vec();
        msg.resize(USAGE_AT, 0);
        for i in 0..USAGE_WORDS {
            msg.extend_from_slice(&words.get(i).copied().unwrap_or(0).to_ne_bytes());
        }
        msg
    }

    #[test]
    fn the_servers_report_gives_status_cpu_and_memory() {
        // ru_utime 1.250999 s, ru_stime 0.004 s, ru_maxrss 9492 KiB.
        let msg = end_message(3 << 8, &[1, 250_999, 0, 4_000, 9492]);
        assert_eq!(msg.len(), 152, "forkserver.py's _WarmrunEnd is 152 bytes");
        assert_eq!(parse_end(&msg), Some((3 << 8, 1254, 9492)));
    }

    #[test]
    fn a_report_of_another_size_is_refused() {
        assert_eq!(parse_end(b"X 0 7 9492"), None);
        assert_eq!(parse_end(&[0; 151]), None);
        assert_eq!(parse_end(&[]), None);
    }
}
