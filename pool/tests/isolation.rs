//! The sandbox holds: nothing of one session survives into the next on the same container,
//! there is no network, the root filesystem is read-only, and user code runs as an
//! unprivileged uid without capabilities.

mod common;

use common::{describe, exec, run, text};
use pool::{Engine, Verdict};

/// Bash (max 1) serves only the reset-leak test, so both of its sessions get the one
/// container; python serves the rest.
const LANGS: &[(&str, usize)] = &[("python", 2), ("bash", 1)];

async fn engine() -> Engine {
    common::engine("isolation", LANGS).await
}

/// Prints the session's view of everything a program can leave behind.
const INSPECT: &str = r#"
echo "host $(cat /proc/sys/kernel/hostname)"
for d in /workspace /tmp /dev/shm /dev/mqueue; do
    echo "ls $d: $(ls -A "$d" | tr '\n' ' ')"
done
echo "sysv shm=$(($(wc -l < /proc/sysvipc/shm) - 1)) msg=$(($(wc -l < /proc/sysvipc/msg) - 1)) sem=$(($(wc -l < /proc/sysvipc/sem) - 1))"
for p in /proc/[0-9]*; do
    c=$(tr '\0' ' ' < "$p/cmdline" 2>/dev/null)
    case "$c" in "sleep 3133"*) echo "process ${p#/proc/}: $c";; esac
done
echo "owned: $(find / \( -path /proc -o -path /sys \) -prune -o -user "$(id -u)" -print 2>/dev/null | sort | tr '\n' ' ')"
"#;

/// Session A leaves a file in every writable place, background processes (nohup, setsid,
/// double fork), SysV shared memory, a message queue and a semaphore set, and a POSIX
/// queue and shared-memory object; session B on the same container finds none of them.
#[test]
fn reset_leaves_nothing_behind() {
    run(async {
        let engine = engine().await;
        let session_a = format!(
            r#"
for d in /workspace /tmp /dev/shm; do echo leak > "$d/leak-file"; done
: > /dev/mqueue/leak-queue
mkdir -p /tmp/locked/deeper && echo x > /tmp/locked/deeper/f && chmod 0 /tmp/locked/deeper /tmp/locked
mkdir /workspace/sub && echo y > /workspace/sub/.hidden
nohup sleep 31337 >/dev/null 2>&1 &
setsid sleep 31338 >/dev/null 2>&1 < /dev/null &
( ( exec sleep 31339 >/dev/null 2>&1 < /dev/null ) & )
setsid nohup bash -c 'trap "" TERM HUP INT; exec sleep 31336' >/dev/null 2>&1 < /dev/null &
ipcmk -M 4096 >/dev/null
ipcmk -Q >/dev/null
ipcmk -S 2 >/dev/null
sleep 0.3
{INSPECT}
"#
        );
        let a = exec(&engine, "bash", &session_a, "").await;
        assert_eq!(a.outcome.exit.verdict, Verdict::Ok, "A: {}", describe(&a));
        let a_out = text(&a.stdout);
        // Session A really left all of it.
        for needle in [
            "ls /workspace: leak-file main.sh output sub",
            "ls /tmp: leak-file locked",
            "ls /dev/shm: leak-file",
            "ls /dev/mqueue: leak-queue",
            "sysv shm=1 msg=1 sem=1",
            ": sleep 31337",
            ": sleep 31338",
            ": sleep 31339",
            ": sleep 31336",
        ] {
            assert!(
                a_out.contains(needle),
                "A lacks {needle:?}:\n{}",
                describe(&a)
            );
        }

        let b = exec(&engine, "bash", INSPECT, "").await;
        assert_eq!(b.outcome.exit.verdict, Verdict::Ok, "B: {}", describe(&b));
        let b_out = text(&b.stdout);
        let host = |out: &str| out.lines().next().unwrap_or_default().to_string();
        assert_eq!(
            host(&a_out),
            host(&b_out),
            "both sessions ran on one container"
        );
        let expected = [
            // The output directory is made afresh (empty) for every run.
            "ls /workspace: main.sh output ",
            "ls /tmp: ",
            "ls /dev/shm: ",
            "ls /dev/mqueue: ",
            "sysv shm=0 msg=0 sem=0",
            "owned: /workspace /workspace/main.sh /workspace/output ",
        ];
        let lines: Vec<&str> = b_out.lines().skip(1).collect();
        assert_eq!(lines, expected, "B sees leftovers:\n{b_out}");
    });
}

/// No route out, no DNS: only the loopback interface exists.
#[test]
fn network_is_unreachable() {
    run(async {
        let code = r#"
import socket
try:
    socket.create_connection(("1.1.1.1", 53), timeout=3)
    print("tcp connected")
except OSError as e:
    print("tcp failed", e.errno)
try:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.sendto(b"x", ("1.1.1.1", 53))
    print("udp sent")
except OSError as e:
    print("udp failed", e.errno)
try:
    socket.getaddrinfo("example.com", 80)
    print("dns resolved")
except OSError as e:
    print("dns failed")
print("interfaces", [name for _, name in socket.if_nameindex()])
"#;
        let r = exec(&engine().await, "python", code, "").await;
        assert_eq!(r.outcome.exit.verdict, Verdict::Ok, "{}", describe(&r));
        let out = text(&r.stdout);
        // 101 = ENETUNREACH.
        assert!(out.contains("tcp failed 101"), "{out}");
        assert!(out.contains("udp failed 101"), "{out}");
        assert!(out.contains("dns failed"), "{out}");
        assert!(out.contains("interfaces ['lo']"), "{out}");
    });
}

/// Nothing outside the tmpfs dirs can be written, and the root mount itself is read-only
/// (not merely closed to the sandbox uid by permissions), as is the agent's bind mount.
#[test]
fn root_filesystem_is_read_only() {
    run(async {
        let code = r#"
import os
for d in ["/usr", "/etc", "/bin", "/var/tmp", "/opt/warmrun", "/"]:
    try:
        open(os.path.join(d, "x"), "w")
        print(d, "writable")
    except OSError as e:
        print(d, "refused")
for line in open("/proc/self/mountinfo"):
    f = line.split()
    if f[4] in ("/", "/opt/warmrun/agent"):
        print("mount", f[4], f[5])
for d in ["/workspace", "/tmp"]:
    open(os.path.join(d, "ok"), "w").write("ok")
    print(d, "writable")
"#;
        let r = exec(&engine().await, "python", code, "").await;
        assert_eq!(r.outcome.exit.verdict, Verdict::Ok, "{}", describe(&r));
        let out = text(&r.stdout);
        for d in ["/usr", "/etc", "/bin", "/var/tmp", "/opt/warmrun", "/"] {
            assert!(out.contains(&format!("{d} refused\n")), "{d}: {out}");
        }
        for m in ["/", "/opt/warmrun/agent"] {
            let opts = out
                .lines()
                .find_map(|l| l.strip_prefix(&format!("mount {m} ")))
                .unwrap_or_else(|| panic!("no mount {m}: {out}"));
            assert!(opts.split(',').any(|o| o == "ro"), "{m} is mounted {opts}");
        }
        assert!(
            out.contains("/workspace writable\n/tmp writable\n"),
            "{out}"
        );
    });
}

/// User code runs as a non-root uid with no capabilities, no supplementary groups and
/// no way to gain privileges.
#[test]
fn runs_unprivileged_without_capabilities() {
    run(async {
        let code = r#"
import os
status = dict(l.split(":", 1) for l in open("/proc/self/status").read().splitlines())
for k in ["Uid", "Gid", "Groups", "CapInh", "CapPrm", "CapEff", "CapAmb", "NoNewPrivs", "Seccomp"]:
    print(k, status[k].split())
try:
    os.setuid(0)
    print("setuid worked")
except PermissionError:
    print("setuid refused")
"#;
        let r = exec(&engine().await, "python", code, "").await;
        assert_eq!(r.outcome.exit.verdict, Verdict::Ok, "{}", describe(&r));
        let out = text(&r.stdout);
        let field = |k: &str| -> Vec<String> {
            let line = out
                .lines()
                .find(|l| l.starts_with(&format!("{k} ")))
                .unwrap_or_else(|| panic!("{k} missing: {out}"));
            line[k.len() + 1..]
                .trim_matches(|c| c == '[' || c == ']')
                .split(", ")
                .filter(|s| !s.is_empty())
                .map(|s| s.trim_matches('\'').to_string())
                .collect()
        };
        let uids = field("Uid");
        assert_eq!(uids.len(), 4);
        assert!(uids.iter().all(|u| u == &uids[0] && u != "0"), "{uids:?}");
        let gids = field("Gid");
        assert!(gids.iter().all(|g| g != "0"), "{gids:?}");
        assert!(field("Groups").is_empty(), "no supplementary groups: {out}");
        for cap in ["CapInh", "CapPrm", "CapEff", "CapAmb"] {
            assert_eq!(field(cap), vec!["0000000000000000"], "{cap}: {out}");
        }
        assert_eq!(field("NoNewPrivs"), vec!["1"]);
        assert!(out.contains("setuid refused"), "{out}");
    });
}
