//! A small seccomp filter the agent puts on every step it starts, on top of the container's
//! own (Docker's default profile under runc; none under gVisor, which ignores it).
//!
//! - The kernel keyring (`add_key`, `request_key`, `keyctl`) is refused with EPERM, as
//!   Docker's default profile does: keys of the sandbox uid would outlive the session and no
//!   reset could list them.
//! - Where the reset cannot list and remove SysV IPC objects (no `/proc/sysvipc`) or POSIX
//!   message queues (no mqueue filesystem on `/dev/mqueue`), as under gVisor (runsc), creating
//!   them (`shmget`, `msgget`, `semget`, `mq_open`) fails with ENOSYS: objects left behind would
//!   be seen by the next session. Under runc both are listed and removed, and they work.

use std::sync::OnceLock;

const AUDIT_ARCH_X86_64: u32 = 0xC000_003E;
const X32_SYSCALL_BIT: u32 = 0x4000_0000;
const SECCOMP_RET_ALLOW: u32 = 0x7fff_0000;
const SECCOMP_RET_ERRNO: u32 = 0x0005_0000;
// Classic BPF opcodes.
const BPF_LD_W_ABS: u16 = 0x20; // BPF_LD | BPF_W | BPF_ABS
const BPF_JEQ_K: u16 = 0x15; // BPF_JMP | BPF_JEQ | BPF_K
const BPF_JSET_K: u16 = 0x45; // BPF_JMP | BPF_JSET | BPF_K
const BPF_RET_K: u16 = 0x06; // BPF_RET | BPF_K
                             // Offsets in `struct seccomp_data`.
const OFFSET_NR: u32 = 0;
const OFFSET_ARCH: u32 = 4;

/// The filter's instructions, decided once (the container's mounts do not change).
pub fn filter() -> &'static [libc::sock_filter] {
    static FILTER: OnceLock<Vec<libc::sock_filter>> = OnceLock::new();
    FILTER.get_or_init(|| build(&blocked(sysv_ipc_wipeable(), mqueue_wipeable())))
}

/// Installs `filter` on the calling process; async-signal-safe (for `pre_exec`).
///
/// # Safety
/// Only raw syscalls; `filter` must stay alive for the call (it is copied by the kernel).
pub unsafe fn install(filter: &[libc::sock_filter]) -> bool {
    let prog = libc::sock_fprog {
        len: filter.len() as u16,
        filter: filter.as_ptr() as *mut libc::sock_filter,
    };
    // Docker's no-new-privileges already holds; setting it again lets an unprivileged
    // process install the filter whatever the container's options.
    libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0
        && libc::prctl(
            libc::PR_SET_SECCOMP,
            libc::SECCOMP_MODE_FILTER,
            &prog as *const libc::sock_fprog,
        ) == 0
}

/// Whether the reset can list SysV IPC objects (Linux's /proc/sysvipc; gVisor has none).
fn sysv_ipc_wipeable() -> bool {
    std::fs::metadata("/proc/sysvipc/shm").is_ok()
}

/// Whether /dev/mqueue is an mqueue filesystem the reset can empty (gVisor ignores the mount).
fn mqueue_wipeable() -> bool {
    std::fs::read_to_string("/proc/self/mounts")
        .map(|m| {
            m.lines().any(|l| {
                let mut f = l.split_whitespace();
                f.nth(1) == Some("/dev/mqueue") && f.next() == Some("mqueue")
            })
        })
        .unwrap_or(false)
}

/// (syscall number, errno) pairs refused.
fn blocked(sysv_wipeable: bool, mqueue_wipeable: bool) -> Vec<(i64, i32)> {
    let mut list = vec![
        (libc::SYS_add_key, libc::EPERM),
        (libc::SYS_request_key, libc::EPERM),
        (libc::SYS_keyctl, libc::EPERM),
    ];
    if !sysv_wipeable {
        for nr in [libc::SYS_shmget, libc::SYS_msgget, libc::SYS_semget] {
            list.push((nr, libc::ENOSYS));
        }
    }
    if !mqueue_wipeable {
        list.push((libc::SYS_mq_open, libc::ENOSYS));
    }
    list
}

fn stmt(code: u16, k: u32) -> libc::sock_filter {
    libc::sock_filter {
        code,
        jt: 0,
        jf: 0,
        k,
    }
}

fn jump(code: u16, k: u32, jt: u8, jf: u8) -> libc::sock_filter {
    libc::sock_filter { code, jt, jf, k }
}

/// The BPF program: x86-64 syscalls in `blocked` get their errno, x32 ones ENOSYS, the rest
/// (and other architectures, which Docker's profile or gVisor's lack of them govern) pass.
fn build(blocked: &[(i64, i32)]) -> Vec<libc::sock_filter> {
    let mut p = vec![
        stmt(BPF_LD_W_ABS, OFFSET_ARCH),
        jump(BPF_JEQ_K, AUDIT_ARCH_X86_64, 1, 0),
        stmt(BPF_RET_K, SECCOMP_RET_ALLOW),
        stmt(BPF_LD_W_ABS, OFFSET_NR),
        jump(BPF_JSET_K, X32_SYSCALL_BIT, 0, 1),
        stmt(BPF_RET_K, SECCOMP_RET_ERRNO | libc::ENOSYS as u32),
    ];
    for &(nr, errno) in blocked {
        p.push(jump(BPF_JEQ_K, nr as u32, 0, 1));
        p.push(stmt(BPF_RET_K, SECCOMP_RET_ERRNO | (errno as u32 & 0xffff)));
    }
    p.push(stmt(BPF_RET_K, SECCOMP_RET_ALLOW));
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The filter, installed in a child process, refuses what it lists and passes the rest.
    #[test]
    fn filter_refuses_listed_syscalls_only() {
        let prog = build(&blocked(false, false));
        // SAFETY: fork; the child makes raw syscalls only and leaves with _exit.
        unsafe {
            let pid = libc::fork();
            assert!(pid >= 0);
            if pid == 0 {
                if !install(&prog) {
                    libc::_exit(10);
                }
                let key = libc::syscall(libc::SYS_keyctl, 0, 0, 0, 0, 0);
                if key != -1 || *libc::__errno_location() != libc::EPERM {
                    libc::_exit(11);
                }
                let shm = libc::shmget(libc::IPC_PRIVATE, 4096, 0o600);
                if shm != -1 || *libc::__errno_location() != libc::ENOSYS {
                    libc::_exit(12);
                }
                if libc::getpid() <= 0 {
                    libc::_exit(13);
                }
                libc::_exit(0);
            }
            let mut status = 0;
            libc::waitpid(pid, &mut status, 0);
            assert!(libc::WIFEXITED(status), "status {status}");
            assert_eq!(libc::WEXITSTATUS(status), 0);
        }
    }

    #[test]
    fn wipeable_ipc_stays_available() {
        let list = blocked(true, true);
        assert!(list.iter().all(|(nr, _)| *nr != libc::SYS_shmget));
        assert!(list.iter().all(|(nr, _)| *nr != libc::SYS_mq_open));
        assert!(list.iter().any(|(nr, _)| *nr == libc::SYS_keyctl));
    }
}
