//! Telling when an interactive program waits for its person: some thread of the run is
//! blocked reading the run's stdin (the pipe the agent writes to, or the terminal), which is
//! therefore empty.
//!
//! Linux shows what a blocked thread waits in: `/proc/PID/task/TID/syscall` names the
//! system call and its arguments (`0 0x0 …` is `read(0, …)`), and the descriptor it reads
//! from is resolved through `/proc/PID/fd/N` to the file it is, so a program that reads a
//! duplicate of stdin counts too. Event loops (Node.js) wait in `epoll_wait` instead; the
//! epoll descriptor's `fdinfo` lists what it watches, and a watch of stdin for input counts.
//! A sleeping or computing program is in no such call and never counts.
//!
//! Those files need ptrace-level access to the program: the agent reads them as the sandbox
//! uid (see `Sandbox::as_sandbox`), which owns the program's processes.
//!
//! gVisor (runsc) has no `syscall` file: there the scan reports that it cannot tell, and
//! runs keep the plain wall-clock limit with no waiting signal.
//!
//! [`Tracker`] turns the scans into the run's clock: the time of each wait is taken off the
//! wall-clock limit, one wait may last the idle limit at most, and each wait is announced once.

use std::fs;
use std::os::fd::RawFd;
use std::os::unix::fs::MetadataExt;
use std::time::{Duration, Instant};

/// How often a run with an open stdin is looked at.
pub const SAMPLE: Duration = Duration::from_millis(40);
/// How often while the program already waits (announced) and gets no input: only to notice
/// a wait that ended without input (a signal), so the watch costs little over minutes and
/// across a thousand waiting sessions (benches/density.rs).
pub const SAMPLE_WAITING: Duration = Duration::from_secs(1);
/// Threads looked at per scan at most, so a program with thousands cannot make the agent
/// spend its time in /proc; past that, the run is taken as not waiting.
const MAX_TASKS: usize = 512;

/// The file a descriptor is, as stat(2) names it: the run's stdin pipe (both of its ends
/// are the same inode) or terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileId {
    dev: u64,
    ino: u64,
}

impl FileId {
    /// The file behind one of the agent's own descriptors.
    pub fn of_fd(fd: RawFd) -> Option<FileId> {
        // SAFETY: fstat fills a plain struct for a descriptor the caller keeps open.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        if unsafe { libc::fstat(fd, &mut st) } != 0 {
            return None;
        }
        Some(FileId {
            dev: st.st_dev,
            ino: st.st_ino,
        })
    }

    /// The file a descriptor of another process is (`/proc/PID/fd/N`, followed).
    fn of_proc_fd(pid: u32, fd: i64) -> Option<FileId> {
        let md = fs::metadata(format!("/proc/{pid}/fd/{fd}")).ok()?;
        Some(FileId {
            dev: md.dev(),
            ino: md.ino(),
        })
    }
}

/// A thread blocked on stdin, and how many times it has blocked so far: a thread that got
/// input and blocked again shows a higher count, so its new wait is told from the old one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Reader {
    pub tid: u32,
    pub blocks: u64,
}

/// What a thread's `/proc/…/syscall` line says it is blocked in, as far as stdin goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Blocked {
    /// A read-like call on this descriptor.
    Read(i64),
    /// An epoll wait on this epoll descriptor.
    Epoll(i64),
}

/// x86-64 system call numbers of calls that wait for a descriptor's input.
mod nr {
    pub const READ: u64 = 0;
    pub const PREAD64: u64 = 17;
    pub const READV: u64 = 19;
    pub const PREADV: u64 = 295;
    pub const PREADV2: u64 = 327;
    pub const EPOLL_WAIT: u64 = 232;
    pub const EPOLL_PWAIT: u64 = 281;
    pub const EPOLL_PWAIT2: u64 = 441;
}

/// Parses a `/proc/PID/task/TID/syscall` line: `NR ARG1 … ARG6 SP PC` while blocked in a
/// call (NR decimal, the rest hex), `running`, or `-1 SP PC` outside of any call.
pub fn parse_syscall(line: &str) -> Option<Blocked> {
    let mut fields = line.split_whitespace();
    let number: u64 = fields.next()?.parse().ok()?;
    let first = fields.next()?.strip_prefix("0x")?;
    let first = i64::from_str_radix(first, 16).ok()?;
    match number {
        nr::READ | nr::PREAD64 | nr::READV | nr::PREADV | nr::PREADV2 => Some(Blocked::Read(first)),
        nr::EPOLL_WAIT | nr::EPOLL_PWAIT | nr::EPOLL_PWAIT2 => Some(Blocked::Epoll(first)),
        _ => None,
    }
}

/// The descriptors an epoll descriptor watches for input, from its `fdinfo` text
/// (`tfd:        0 events:       19 data: …`).
pub fn epoll_input_watches(fdinfo: &str) -> Vec<i64> {
    const EPOLLIN: u32 = 0x1;
    fdinfo
        .lines()
        .filter_map(|line| {
            let mut f = line.split_whitespace();
            if f.next()? != "tfd:" {
                return None;
            }
            let fd: i64 = f.next()?.parse().ok()?;
            if f.next()? != "events:" {
                return None;
            }
            let events = u32::from_str_radix(f.next()?, 16).ok()?;
            (events & EPOLLIN != 0).then_some(fd)
        })
        .collect()
}

/// `voluntary_ctxt_switches` of a `/proc/…/status` text: how often the thread blocked.
pub fn voluntary_switches(status: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix("voluntary_ctxt_switches:"))
        .and_then(|n| n.trim().parse().ok())
}

/// The threads of the sandbox uid blocked reading `stdin`, sorted; `None` when this kernel
/// does not say what threads are blocked in (gVisor). Must run with the sandbox uid's
/// credentials (the files are the program's).
pub fn blocked_readers(uid: u32, stdin: FileId) -> Option<Vec<Reader>> {
    let mut readers = Vec::new();
    let mut budget = MAX_TASKS;
    for entry in fs::read_dir("/proc").ok()?.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        // /proc/PID is owned by the process's effective uid.
        if entry.metadata().map(|m| m.uid()).ok() != Some(uid) {
            continue;
        }
        match readers_in(pid, stdin, &mut budget, &mut readers) {
            Scan::Done => {}
            Scan::TooMany => return Some(Vec::new()),
            Scan::Unsupported => return None,
        }
    }
    readers.sort();
    Some(readers)
}

/// How a scan of one process went.
enum Scan {
    Done,
    /// More threads than a scan looks at.
    TooMany,
    /// No `syscall` file for a thread that exists.
    Unsupported,
}

/// Adds the threads of process `pid` blocked reading `stdin` to `readers`.
fn readers_in(pid: u32, stdin: FileId, budget: &mut usize, readers: &mut Vec<Reader>) -> Scan {
    let Ok(threads) = fs::read_dir(format!("/proc/{pid}/task")) else {
        return Scan::Done; // gone meanwhile
    };
    for thread in threads.flatten() {
        let Some(tid) = thread
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        if *budget == 0 {
            return Scan::TooMany;
        }
        *budget -= 1;
        let dir = format!("/proc/{pid}/task/{tid}");
        let line = match fs::read_to_string(format!("{dir}/syscall")) {
            Ok(line) => line,
            // Either the thread just ended or the kernel has no such file.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && fs::metadata(&dir).is_ok() => {
                return Scan::Unsupported
            }
            Err(_) => continue,
        };
        let on_stdin = match parse_syscall(&line) {
            Some(Blocked::Read(fd)) => FileId::of_proc_fd(pid, fd) == Some(stdin),
            Some(Blocked::Epoll(epfd)) => fs::read_to_string(format!("/proc/{pid}/fdinfo/{epfd}"))
                .map(|info| {
                    epoll_input_watches(&info)
                        .into_iter()
                        .any(|fd| FileId::of_proc_fd(pid, fd) == Some(stdin))
                })
                .unwrap_or(false),
            None => false,
        };
        if on_stdin {
            let blocks = fs::read_to_string(format!("{dir}/status"))
                .ok()
                .and_then(|s| voluntary_switches(&s))
                .unwrap_or(0);
            readers.push(Reader { tid, blocks });
        }
    }
    Scan::Done
}

/// One wait of the program for input.
#[derive(Debug, Clone)]
struct Wait {
    /// When it was first seen: from here the wall clock stands still.
    since: Instant,
    /// The blocked calls last seen.
    readers: Vec<Reader>,
}

/// The clock of one interactive run: the waits seen, how long they took, the idle time since
/// the person last sent input, and what was announced.
///
/// A wait ends when the program stops waiting, or when input came and the reader blocked
/// anew (its blocking count went up). Without input a changed count is the same wait: an
/// event loop whose timers wake it now and then (Node.js) still waits for its person, and
/// its idle time goes on. With input and the same count the reader was not woken (a
/// partial line on a terminal): the same wait too, not announced again.
#[derive(Debug)]
pub struct Tracker {
    idle: Duration,
    /// Wall time of the waits that are over.
    paused: Duration,
    wait: Option<Wait>,
    /// When the first wait since the last input began: the idle limit counts from here.
    idle_since: Option<Instant>,
    /// The blocked calls announced (or seen since, without input in between).
    announced: Option<Vec<Reader>>,
    /// Input went to the program since the last announcement.
    fed_since_announced: bool,
    /// Input went to the waiting program since the last look, at this time.
    fed_at: Option<Instant>,
}

impl Tracker {
    /// A run whose waits may each last `idle` at most.
    pub fn new(idle: Duration) -> Tracker {
        Tracker {
            idle,
            paused: Duration::ZERO,
            wait: None,
            idle_since: None,
            announced: None,
            fed_since_announced: false,
            fed_at: None,
        }
    }

    /// Input went to the program at `now`. Whether that ended the wait shows at the next
    /// look; the idle time starts again either way.
    pub fn fed(&mut self, now: Instant) {
        self.fed_since_announced = true;
        if self.wait.is_some() {
            self.fed_at.get_or_insert(now);
            self.idle_since = Some(now);
        } else {
            self.idle_since = None;
        }
    }

    /// A look at the program at `now`: the threads blocked on its stdin (none: it is not
    /// waiting). Answers whether a new wait began that is to be announced.
    pub fn observe(&mut self, now: Instant, readers: Vec<Reader>) -> bool {
        let fed_at = self.fed_at.take();
        if let Some(w) = self.wait.take() {
            let same = !readers.is_empty() && (fed_at.is_none() || readers == w.readers);
            if same {
                self.wait = Some(Wait {
                    since: w.since,
                    readers: readers.clone(),
                });
            } else {
                // It ended when input came, or (without input: a signal) by now.
                let end = fed_at.unwrap_or(now).max(w.since);
                self.paused += end - w.since;
            }
        }
        if readers.is_empty() {
            return false;
        }
        if self.wait.is_none() {
            self.wait = Some(Wait {
                since: now,
                readers: readers.clone(),
            });
        }
        self.idle_since.get_or_insert(now);
        let new = match &self.announced {
            None => true,
            Some(before) => self.fed_since_announced && *before != readers,
        };
        self.announced = Some(readers);
        if new {
            self.fed_since_announced = false;
        }
        new
    }

    /// Stdin was closed or the program ended at `now`: no wait goes on past it.
    pub fn stop(&mut self, now: Instant) {
        if let Some(w) = self.wait.take() {
            self.paused += now.saturating_duration_since(w.since);
        }
        self.fed_at = None;
        self.idle_since = None;
    }

    /// Wall time up to `now` that does not count against the wall-clock limit.
    pub fn paused(&self, now: Instant) -> Duration {
        self.paused
            + self
                .wait
                .as_ref()
                .map_or(Duration::ZERO, |w| now.saturating_duration_since(w.since))
    }

    /// Whether the program is waiting (as of the last look).
    pub fn waiting(&self) -> bool {
        self.wait.is_some()
    }

    /// Whether the program waits and has had no input for the idle limit by `now`.
    pub fn idle_expired(&self, now: Instant) -> bool {
        self.idle_deadline().is_some_and(|at| now >= at)
    }

    /// When the current wait reaches the idle limit.
    pub fn idle_deadline(&self) -> Option<Instant> {
        self.wait.as_ref()?;
        Some(self.idle_since? + self.idle)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(tid: u32, blocks: u64) -> Reader {
        Reader { tid, blocks }
    }

    #[test]
    fn syscall_lines() {
        let read0 = "0 0x0 0x7ffc4f030846 0x1 0x0 0x7fca21320c68 0x0 0x7ffc4f030738 0x7fca212452ad";
        assert_eq!(parse_syscall(read0), Some(Blocked::Read(0)));
        let read3 = "0 0x3 0x7ffce61b6010 0x1000 0x8 0x0 0x55a6c8d8e600 0x7ffc 0x7eff";
        assert_eq!(parse_syscall(read3), Some(Blocked::Read(3)));
        let readv = "19 0xa 0x1 0x2 0x0 0x0 0x0 0x7ffc 0x7eff";
        assert_eq!(parse_syscall(readv), Some(Blocked::Read(10)));
        let epoll = "232 0x4 0x7ffd 0x400 0xffffffffffffffff 0x0 0x0 0x7ffc 0x7eff";
        assert_eq!(parse_syscall(epoll), Some(Blocked::Epoll(4)));
        // clock_nanosleep (a sleeping program), futex, running, outside any call.
        assert_eq!(
            parse_syscall("230 0x1 0x0 0x7ffc 0x0 0x0 0x0 0x7ffc 0x7eff"),
            None
        );
        assert_eq!(
            parse_syscall("202 0x7f 0x80 0x0 0x0 0x0 0x0 0x7ffc 0x7eff"),
            None
        );
        assert_eq!(parse_syscall("running"), None);
        assert_eq!(parse_syscall("-1 0x7ffc 0x7eff"), None);
        assert_eq!(parse_syscall(""), None);
    }

    #[test]
    fn epoll_fdinfo() {
        let info = "pos:\t0\nflags:\t02000002\nmnt_id:\t15\nino:\t1057\n\
                    tfd:        0 events:       19 data:                0  pos:0 ino:2a1 sdev:d\n\
                    tfd:        7 events:        4 data:                7  pos:0 ino:2a2 sdev:d\n\
                    tfd:       12 events: 80000001 data:                c  pos:0 ino:2a3 sdev:d\n";
        assert_eq!(epoll_input_watches(info), vec![0, 12]);
        assert!(epoll_input_watches("pos:\t0\n").is_empty());
    }

    #[test]
    fn status_switches() {
        let status = "Name:\tpython3\nState:\tS (sleeping)\nvoluntary_ctxt_switches:\t42\n\
                      nonvoluntary_ctxt_switches:\t3\n";
        assert_eq!(voluntary_switches(status), Some(42));
        assert_eq!(voluntary_switches("Name:\tx\n"), None);
    }

    /// A wait is announced once, its time is taken off the wall clock, and the next wait
    /// (after input, the reader blocked again) is announced again.
    #[test]
    fn waits_are_announced_once_and_not_counted() {
        let t0 = Instant::now();
        let ms = |n| t0 + Duration::from_millis(n);
        let mut t = Tracker::new(Duration::from_secs(300));
        assert!(!t.observe(ms(0), vec![]));
        assert!(t.observe(ms(40), vec![r(7, 10)]));
        assert!(!t.observe(ms(80), vec![r(7, 10)]));
        assert!(!t.observe(ms(5_000), vec![r(7, 10)]));
        assert_eq!(t.paused(ms(6_000)), Duration::from_millis(5_960));
        // Input at 6 s wakes the reader; it computes, then blocks again.
        t.fed(ms(6_000));
        assert!(!t.observe(ms(6_040), vec![]));
        assert_eq!(t.paused(ms(7_000)), Duration::from_millis(5_960));
        assert!(t.observe(ms(7_000), vec![r(7, 11)]));
        assert!(t.waiting());
        t.stop(ms(8_000));
        assert!(!t.waiting());
        assert_eq!(t.paused(ms(9_000)), Duration::from_millis(6_960));
    }

    /// Input that went out and a reader that blocked again before the next look: the wait
    /// ends at the input, the new one is announced.
    #[test]
    fn a_new_wait_seen_without_a_gap() {
        let t0 = Instant::now();
        let ms = |n| t0 + Duration::from_millis(n);
        let mut t = Tracker::new(Duration::from_secs(300));
        assert!(t.observe(ms(0), vec![r(7, 10)]));
        t.fed(ms(1_000));
        assert!(t.observe(ms(1_040), vec![r(7, 11)]));
        assert_eq!(t.paused(ms(1_040)), Duration::from_millis(1_000));
    }

    /// Keystrokes on a terminal that complete no line: the same wait goes on, not announced
    /// again, and the idle limit counts from the last keystroke.
    #[test]
    fn partial_lines_keep_the_wait() {
        let t0 = Instant::now();
        let ms = |n| t0 + Duration::from_millis(n);
        let mut t = Tracker::new(Duration::from_secs(3));
        assert!(t.observe(ms(0), vec![r(7, 10)]));
        t.fed(ms(2_000));
        assert!(!t.observe(ms(2_040), vec![r(7, 10)]));
        assert_eq!(t.paused(ms(4_000)), Duration::from_millis(4_000));
        assert!(!t.idle_expired(ms(4_999)));
        assert!(t.idle_expired(ms(5_000)));
        assert_eq!(t.idle_deadline(), Some(ms(5_000)));
    }

    /// An event loop woken by its timers while it waits: one wait, announced once, whose
    /// idle time goes on (also over a moment seen running); the idle limit ends it.
    #[test]
    fn timer_wakeups_are_the_same_wait() {
        let t0 = Instant::now();
        let ms = |n| t0 + Duration::from_millis(n);
        let mut t = Tracker::new(Duration::from_secs(3));
        assert!(t.observe(ms(0), vec![r(7, 10)]));
        assert!(!t.observe(ms(1_000), vec![r(7, 11)]));
        assert!(!t.observe(ms(2_000), vec![r(7, 12)]));
        assert!(!t.observe(ms(2_500), vec![]));
        assert!(!t.observe(ms(2_540), vec![r(7, 13)]));
        assert_eq!(t.paused(ms(2_540)), Duration::from_millis(2_500));
        assert!(!t.idle_expired(ms(2_999)));
        assert!(t.idle_expired(ms(3_000)), "idle since the first wait");
        // Input read, then a new wait: announced, the idle time starts again.
        t.fed(ms(2_600));
        assert!(t.observe(ms(2_640), vec![r(7, 14)]));
        assert!(!t.idle_expired(ms(5_599)));
        assert!(t.idle_expired(ms(5_600)));
    }

    #[test]
    fn idle_limit_counts_one_wait() {
        let t0 = Instant::now();
        let ms = |n| t0 + Duration::from_millis(n);
        let mut t = Tracker::new(Duration::from_secs(3));
        assert!(!t.idle_expired(ms(10_000)), "not waiting: no idle limit");
        t.observe(ms(0), vec![r(7, 10)]);
        assert!(!t.idle_expired(ms(2_999)));
        assert!(t.idle_expired(ms(3_000)));
        // A wait that ended without input (a signal) stops the idle clock too.
        t.observe(ms(2_000), vec![]);
        assert!(!t.idle_expired(ms(3_000)));
        assert_eq!(t.paused(ms(3_000)), Duration::from_millis(2_000));
    }

    /// The scan on this machine: a thread blocked reading an empty pipe is found, a sleeping
    /// one is not. Needs Linux's /proc (skipped where there is no syscall file).
    #[test]
    fn finds_a_reader_of_an_empty_pipe() {
        use std::os::fd::AsRawFd;
        let (read, write) = crate::process::pipe().unwrap();
        let id = FileId::of_fd(write.as_raw_fd()).unwrap();
        let reader = std::thread::spawn(move || {
            let mut f = std::fs::File::from(read);
            let mut buf = [0u8; 1];
            std::io::Read::read(&mut f, &mut buf).unwrap()
        });
        let sleeper = std::thread::spawn(|| std::thread::sleep(Duration::from_millis(1500)));
        let deadline = Instant::now() + Duration::from_secs(10);
        let found = loop {
            let mut found = Vec::new();
            let mut budget = MAX_TASKS;
            match readers_in(std::process::id(), id, &mut budget, &mut found) {
                Scan::Unsupported => return, // no /proc/PID/task/TID/syscall here
                Scan::TooMany => panic!("a test process has a few threads"),
                Scan::Done if found.len() == 1 => break found,
                Scan::Done => assert!(found.is_empty(), "{found:?}"),
            }
            assert!(
                Instant::now() < deadline,
                "the blocked reader was not found"
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        assert_eq!(found.len(), 1, "only the reader, not the sleeper");
        let mut w = std::fs::File::from(write);
        std::io::Write::write_all(&mut w, b"x").unwrap();
        assert_eq!(reader.join().unwrap(), 1);
        sleeper.join().unwrap();
    }
}
