//! The Python fork server (on by default, `fork_server` in the engine's config): one
//! interpreter per container, root, never running user code, forking a child per run.
//! Programs attack it (signals, ptrace, its memory, its descriptors, its limits, its control
//! socket) and fail; it survives resets and runs, is replaced when it dies, and every run's
//! child starts from the same state as a plain `python3 main.py` (environment, credentials,
//! limits, modules, stdio), whatever the runs before it did.
//!
//! Skipped (passing) when `WARMRUN_FORK_SERVER=0` runs the suite with the zygote.

mod common;

use common::{describe, exec, exec_limited, run, text};
use pool::{Engine, LimitOverrides, Verdict};
use std::time::Duration;

async fn engine() -> Engine {
    // One container, so consecutive runs share it (and its fork server).
    common::engine("forkserver", &[("python", 1)]).await
}

fn runsc() -> bool {
    common::runtime_from_env() == pool::Runtime::Runsc
}

fn fork_server_on() -> bool {
    std::env::var("WARMRUN_FORK_SERVER").as_deref() != Ok("0")
}

/// The tests take turns: they share the one container and look at its server.
static TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Prints the process that forked this run: its pid, start time, command name, real uid,
/// and the command name of its parent (the agent).
const SERVER: &str = r#"
import os
def stat(pid):
    return open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
def comm(pid):
    return open(f"/proc/{pid}/comm").read().strip()
def uid(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("Uid:"):
            return line.split()[1]
server = os.getppid()
print(server, stat(server)[19], comm(server), uid(server), comm(int(stat(server)[1])))
"#;

/// Everything a run's process starts from that a program can see, as one JSON line.
const FINGERPRINT: &str = r#"
import sys
modules = sorted(sys.modules)
import ctypes, json, os, resource, signal
status = dict(l.split(":", 1) for l in open("/proc/self/status").read().splitlines() if ":" in l)
keys = ["Uid", "Gid", "Groups", "CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb",
        "NoNewPrivs", "Seccomp", "SigBlk", "SigIgn", "SigCgt"]
stdio = [(s.encoding, s.errors, s.line_buffering, s.write_through, s.isatty(), s.seekable(),
          type(s.buffer).__name__) for s in (sys.stdin, sys.stdout, sys.stderr)]
print(json.dumps({
    "modules": modules,
    "status": {k: status.get(k, "").strip() for k in keys},
    "rlimits": {n: resource.getrlimit(getattr(resource, n)) for n in sorted(dir(resource)) if n.startswith("RLIMIT_")},
    "env": dict(os.environ),
    "cwd": os.getcwd(),
    "umask": os.umask(0o22),
    "nice": os.getpriority(os.PRIO_PROCESS, 0),
    "fds": sorted(os.listdir("/proc/self/fd")),
    "session_leader": os.getsid(0) == os.getpid() == os.getpgrp(),
    "oom_score_adj": open("/proc/self/oom_score_adj").read().strip(),
    "dumpable": ctypes.CDLL(None).prctl(3, 0, 0, 0, 0),
    "path": sys.path, "argv": sys.argv, "orig_argv": sys.orig_argv, "flags": str(sys.flags),
    "stdio": stdio,
    "signals": {int(s): str(signal.getsignal(s)) for s in signal.valid_signals()
                if s not in (signal.SIGKILL, signal.SIGSTOP)},
    "main": sorted(k for k in globals() if k.startswith("__")),
}, sort_keys=True))
"#;

/// Attacks the server (the run's parent); prints one line per attempt.
const ATTACKS: &str = r#"
import ctypes, os, resource, signal
libc = ctypes.CDLL(None, use_errno=True)
server = os.getppid()
def call(name, *args):
    r = getattr(libc, name)(*args)
    if r == -1:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))
    return r
def attempt(what, f):
    try:
        f()
        print(what, "DONE")
    except OSError as e:
        print(what, "refused" if e.errno in (1, 13) else "failed", e.errno)
for who, pid in (("server", server),):
    for sig in (signal.SIGKILL, signal.SIGTERM, signal.SIGSTOP, signal.SIGCONT, signal.SIGINT, 0):
        attempt(f"{who} kill {int(sig)}", lambda: os.kill(pid, sig))
    attempt(f"{who} ptrace attach", lambda: call("ptrace", 16, pid, 0, 0))
    attempt(f"{who} ptrace seize", lambda: call("ptrace", 0x4206, pid, 0, 0))
    for f in ("mem", "environ", "maps", "fd/3", "fd/0"):
        attempt(f"{who} open {f}", lambda: open(f"/proc/{pid}/{f}", "rb").read(1))
    attempt(f"{who} list fd", lambda: os.listdir(f"/proc/{pid}/fd"))
    attempt(f"{who} readlink fd", lambda: os.readlink(f"/proc/{pid}/fd/3"))
    attempt(f"{who} prlimit get", lambda: resource.prlimit(pid, resource.RLIMIT_NOFILE))
    attempt(f"{who} prlimit set", lambda: resource.prlimit(pid, resource.RLIMIT_NPROC, (0, 0)))
    attempt(f"{who} setpriority", lambda: os.setpriority(os.PRIO_PROCESS, pid, 19))
    buf = ctypes.create_string_buffer(8)
    iov = (ctypes.c_void_p * 2)(ctypes.addressof(buf), 8)
    remote = (ctypes.c_void_p * 2)(0x400000, 8)
    attempt(f"{who} process_vm_readv", lambda: call("syscall", 310, pid, iov, 1, remote, 1, 0))
    def getfd():
        pidfd = call("syscall", 434, pid, 0)
        try:
            call("syscall", 438, pidfd, 3, 0)
        finally:
            os.close(pidfd)
    attempt(f"{who} pidfd_getfd", getfd)
attempt("setuid 0", lambda: os.setuid(0))
open_fds = []
for fd in range(3, 1024):
    try:
        os.fstat(fd)
        open_fds.append(fd)
    except OSError:
        pass
print("open fds above 2:", open_fds)
"#;

async fn server_of_run(engine: &Engine) -> String {
    let r = exec(engine, "python", SERVER, "").await;
    assert_eq!(r.outcome.exit.verdict, Verdict::Ok, "{}", describe(&r));
    text(&r.stdout).trim().to_string()
}

async fn fingerprint(engine: &Engine, plain: bool) -> serde_json::Value {
    // A run with other limits than the language's defaults does not fit the server and
    // starts `python3 -u main.py` the plain way. The wall limit is no rlimit: the process
    // starts with the same limits either way.
    let r = if plain {
        let limits = LimitOverrides {
            wall_ms: Some(7000),
            ..Default::default()
        };
        exec_limited(engine, "python", FINGERPRINT, limits).await
    } else {
        exec(engine, "python", FINGERPRINT, "").await
    };
    assert_eq!(r.outcome.exit.verdict, Verdict::Ok, "{}", describe(&r));
    assert_eq!(text(&r.stderr), "", "{}", describe(&r));
    serde_json::from_str(text(&r.stdout).trim()).expect("one JSON line")
}

/// The fork server is up after the reset that follows a run: wait until a run comes from it.
async fn wait_for_server(engine: &Engine) -> String {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let line = server_of_run(engine).await;
        // pid, start, "python3", uid 0, the agent's name.
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() == 5 && f[2] == "python3" && f[3] == "0" && f[4] == "agent" {
            return line;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no run came from a fork server: {line}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[test]
fn runs_fork_from_one_root_server_that_outlives_resets() {
    if !fork_server_on() {
        return;
    }
    run(async {
        let _turn = TURN.lock().await;
        let engine = engine().await;
        let first = wait_for_server(&engine).await;
        for _ in 0..3 {
            assert_eq!(server_of_run(&engine).await, first, "the same server");
        }
    });
}

#[test]
fn a_child_starts_exactly_as_plain_python_does() {
    if !fork_server_on() {
        return;
    }
    run(async {
        let _turn = TURN.lock().await;
        let engine = engine().await;
        wait_for_server(&engine).await;
        let mut forked = fingerprint(&engine, false).await;
        let mut plain = fingerprint(&engine, true).await;
        // The one intended difference: the fork server's child sets it as root, before the
        // uid change; a plain step's write in pre_exec comes after setuid, when its /proc
        // files are root's (not dumpable until the exec), and fails under runc.
        assert_eq!(forked["oom_score_adj"], "1000");
        forked["oom_score_adj"] = plain["oom_score_adj"].take();
        plain["oom_score_adj"] = forked["oom_score_adj"].clone();
        let differ: Vec<String> = plain
            .as_object()
            .unwrap()
            .iter()
            .filter(|(key, value)| &forked[key.as_str()] != *value)
            .map(|(key, value)| format!("{key}: forked {} plain {value}", forked[key.as_str()]))
            .collect();
        assert!(differ.is_empty(), "{differ:#?}");
        assert_eq!(forked, plain);
        assert_eq!(forked["status"]["CapEff"], "0000000000000000");
        assert_eq!(forked["status"]["CapPrm"], "0000000000000000");
        // gVisor's /proc/self/status has neither line (seccomp and no_new_privs hold there
        // too, the same as for a plain run: compared above).
        if !runsc() {
            assert_eq!(forked["status"]["NoNewPrivs"], "1");
            assert_eq!(forked["status"]["Seccomp"], "2");
        }
        assert_eq!(forked["dumpable"], 1);
    });
}

#[test]
fn attacks_on_the_server_fail_and_change_nothing() {
    if !fork_server_on() {
        return;
    }
    run(async {
        let _turn = TURN.lock().await;
        let engine = engine().await;
        let server = wait_for_server(&engine).await;
        let before = fingerprint(&engine, false).await;
        let r = exec(&engine, "python", ATTACKS, "").await;
        assert_eq!(r.outcome.exit.verdict, Verdict::Ok, "{}", describe(&r));
        let out = text(&r.stdout);
        // 20 attempts on the server, and setuid.
        let attempts = out
            .lines()
            .filter(|l| l.contains(" refused ") || l.contains(" failed ") || l.ends_with(" DONE"))
            .count();
        assert_eq!(attempts, 21, "{out}");
        // gVisor (runsc 20221219) does not apply Linux's ptrace access checks to /proc nor
        // the uid check to setpriority (as for the agent, see hostile.rs): the server's
        // environment (the language's, which every run has), its memory map (the layout
        // every child shares, see the README) and the names of its descriptors are
        // readable, and it can be reniced, which its next child undoes. Its descriptors
        // cannot be opened, its memory not read, and the next child starts the same (below).
        let tolerated: &[&str] = if runsc() {
            &[
                "open environ",
                "open maps",
                "list fd",
                "readlink fd",
                "setpriority",
            ]
        } else {
            &[]
        };
        for line in out.lines().filter(|l| l.ends_with(" DONE")) {
            let what = line.trim_end_matches(" DONE").split_once(' ').unwrap().1;
            assert!(tolerated.contains(&what), "{line}:\n{out}");
        }
        for must_be_refused in [
            "server kill 9 refused",
            "server kill 18 refused",
            "server kill 0 refused",
            "server ptrace attach refused",
            "server open mem refused",
            "server list fd refused",
            "server prlimit set refused",
            "setuid 0 refused",
        ] {
            if tolerated.iter().any(|t| must_be_refused.contains(t)) {
                continue;
            }
            assert!(out.contains(must_be_refused), "{must_be_refused}: {out}");
        }
        assert!(out.contains("open fds above 2: []"), "{out}");
        // The server is untouched: the same process, and the next child starts as before.
        assert_eq!(server_of_run(&engine).await, server);
        assert_eq!(fingerprint(&engine, false).await, before);
    });
}

#[test]
fn one_runs_doings_do_not_reach_the_next_child() {
    if !fork_server_on() {
        return;
    }
    run(async {
        let _turn = TURN.lock().await;
        let engine = engine().await;
        wait_for_server(&engine).await;
        let before = fingerprint(&engine, false).await;
        let r = exec(
            &engine,
            "python",
            r#"
import os, random, sys, json, hashlib, builtins
random.seed(1)
os.environ["LEAK"] = "1"
os.umask(0o077)
sys.path.insert(0, "/tmp")
builtins.LEAK = 1
open("/tmp/planted.py", "w").write("print('planted')")
print(random.random(), os.urandom(8).hex(), hash("warmrun"), hash(b"warmrun"))
"#,
            "",
        )
        .await;
        assert_eq!(r.outcome.exit.verdict, Verdict::Ok, "{}", describe(&r));
        let a = text(&r.stdout);
        let probe = r#"
import os, random, builtins
print(random.random(), os.urandom(8).hex(), hash("warmrun"), hash(b"warmrun"))
print("LEAK" in os.environ, hasattr(builtins, "LEAK"), os.path.exists("/tmp/planted.py"))
"#;
        let r = exec(&engine, "python", probe, "").await;
        let b = text(&r.stdout);
        let r = exec(&engine, "python", probe, "").await;
        let c = text(&r.stdout);
        let fields = |s: &str| -> Vec<String> {
            s.split_whitespace().map(str::to_string).collect::<Vec<_>>()
        };
        let (a, b, c) = (fields(&a), fields(&b), fields(&c));
        assert_eq!(b[4..], ["False", "False", "False"], "{b:?}");
        // Python reseeds `random` from the OS in every process; os.urandom never repeats.
        assert_ne!(a[0], b[0]);
        assert_ne!(b[0], c[0]);
        assert_ne!(a[1], b[1]);
        assert_ne!(b[1], c[1]);
        // The string hash secret is the server's (drawn when it started, the same for every
        // child of one server; see the README's threat analysis): no run chooses or changes it.
        assert_eq!(a[2..4], b[2..4]);
        assert_eq!(b[2..4], c[2..4]);
        assert_eq!(fingerprint(&engine, false).await, before);
    });
}

#[test]
fn a_dead_server_is_replaced_and_runs_go_on() {
    if !fork_server_on() {
        return;
    }
    run(async {
        let _turn = TURN.lock().await;
        let engine = engine().await;
        let old = wait_for_server(&engine).await;
        let pid = old.split_whitespace().next().unwrap().to_string();
        // Only root in the container can do this (the agent's uid, not the sandbox's).
        let ids =
            common::containers_of(common::docker(&engine), &common::instance("forkserver")).await;
        let mut killed = false;
        for id in ids {
            let status = std::process::Command::new("docker")
                .args(["exec", &id, "sh", "-c", &format!("kill -9 {pid}")])
                .output()
                .expect("docker exec");
            killed |= status.status.success();
        }
        assert!(killed, "the server {pid} was killed");
        // The next run starts the plain way (or from the new server); later ones fork again.
        let r = exec(&engine, "python", "print('still')", "").await;
        assert_eq!(text(&r.stdout), "still\n", "{}", describe(&r));
        let new = wait_for_server(&engine).await;
        assert_ne!(new, old);
    });
}
