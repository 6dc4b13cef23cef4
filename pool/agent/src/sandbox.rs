//! The sandbox uid's world: writing the user's files as that uid, killing every process it
//! has, and wiping everything it can leave behind (files, IPC objects).

use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path};
use std::time::{Duration, Instant};

/// Where the user's files go; the working directory of every step.
pub const WORKSPACE: &str = "/workspace";

/// Every place the sandbox uid can write to (each is a tmpfs or a kernel filesystem).
const WRITABLE_DIRS: [&str; 4] = [WORKSPACE, "/tmp", "/dev/shm", "/dev/mqueue"];

/// The unprivileged identity that user code runs as, unique per container.
pub struct Sandbox {
    pub uid: u32,
}

impl Sandbox {
    /// A sandbox for `uid` (also used as its gid).
    pub fn new(uid: u32) -> Sandbox {
        Sandbox { uid }
    }

    /// Writes the program's files as the sandbox uid, so that it owns them.
    pub fn write_files(&self, files: &[agent::SourceFile]) -> Result<(), String> {
        for f in files {
            if !is_safe_relative(&f.name) {
                return Err(format!("invalid file name {:?}", f.name));
            }
        }
        self.as_sandbox(|| -> io::Result<()> {
            for f in files {
                let path = Path::new(WORKSPACE).join(&f.name);
                if let Some(parent) = path.parent() {
                    fs::create_dir_all(parent)?;
                }
                fs::write(&path, &f.content)?;
            }
            Ok(())
        })
        .map_err(|e| format!("writing files: {e}"))
    }

    /// Kills every process of the sandbox uid and waits until none is left.
    pub fn kill_all(&self) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(5);
        // Checking first spares the fork of a kill round in the common case (on every run's
        // latency path): the program exited and left nothing running. With no live process
        // of the uid, none can appear.
        while self.has_live_processes() {
            if Instant::now() > deadline {
                return Err("sandbox processes survive SIGKILL".into());
            }
            self.kill_round();
            if !self.has_live_processes() {
                break;
            }
            // Killed processes may take a moment to die; forks under way when the signal
            // went out are caught by the next round.
            std::thread::sleep(Duration::from_millis(1));
        }
        Ok(())
    }

    /// One `kill(-1, SIGKILL)` from a child that has become the sandbox uid, so the kernel
    /// picks exactly that uid's processes (even ones that detached or changed group). The
    /// kernel also delivers it to children being forked meanwhile.
    ///
    /// Its result cannot tell when the sandbox is empty: `kill(-1)` reports success whenever
    /// any other process exists in the namespace (the agent counts; EPERM is not reported),
    /// so [`Sandbox::kill_all`] looks at /proc instead.
    fn kill_round(&self) {
        let uid = self.uid;
        // SAFETY: between fork and _exit the child calls only async-signal-safe syscalls.
        unsafe {
            let pid = libc::fork();
            if pid == 0 {
                if libc::syscall(libc::SYS_setgroups, 0, std::ptr::null::<libc::gid_t>()) != 0
                    || libc::syscall(libc::SYS_setresgid, uid, uid, uid) != 0
                    || libc::syscall(libc::SYS_setresuid, uid, uid, uid) != 0
                {
                    libc::_exit(1);
                }
                libc::kill(-1, libc::SIGKILL);
                libc::_exit(0);
            }
            if pid > 0 {
                let mut status = 0;
                libc::waitpid(pid, &mut status, 0);
            }
        }
    }

    /// Whether any process of the sandbox uid is alive (zombies awaiting their reaper are not).
    fn has_live_processes(&self) -> bool {
        let Ok(entries) = fs::read_dir("/proc") else {
            return false;
        };
        let uid_prefix = format!("Uid:\t{}\t", self.uid);
        entries.flatten().any(|e| {
            let name = e.file_name();
            let Some(pid) = name
                .to_str()
                .filter(|s| s.bytes().all(|b| b.is_ascii_digit()))
            else {
                return false;
            };
            let Ok(status) = fs::read_to_string(format!("/proc/{pid}/status")) else {
                return false;
            };
            let zombie = status.lines().any(|l| l.starts_with("State:\tZ"));
            // A group leader that exited before its threads shows as a zombie while the
            // threads still run; its `Threads:` count includes them.
            let threads = status
                .lines()
                .find_map(|l| l.strip_prefix("Threads:"))
                .and_then(|n| n.trim().parse::<u32>().ok())
                .unwrap_or(1);
            status.lines().any(|l| l.starts_with(&uid_prefix)) && (!zombie || threads > 1)
        })
    }

    /// Removes every file and IPC object the sandbox uid left behind.
    pub fn wipe(&self) -> Result<(), String> {
        self.as_sandbox(|| {
            remove_sysv_ipc();
            // The workspace belongs to the sandbox uid, which may have locked it.
            let _ = fs::set_permissions(WORKSPACE, fs::Permissions::from_mode(0o755));
            for dir in WRITABLE_DIRS {
                clear_dir(Path::new(dir));
            }
        });
        for dir in WRITABLE_DIRS {
            if let Ok(mut entries) = fs::read_dir(dir) {
                if let Some(Ok(left)) = entries.next() {
                    return Err(format!("could not remove {}", left.path().display()));
                }
            }
        }
        Ok(())
    }

    /// Runs `f` on this thread with the effective uid/gid of the sandbox, then switches back
    /// to root. Raw syscalls change only the calling thread's credentials (libc would
    /// broadcast the change to every thread with signals, which gVisor mishandles), so the
    /// agent's other threads stay root throughout.
    fn as_sandbox<T>(&self, f: impl FnOnce() -> T) -> T {
        let keep = u32::MAX; // -1: leave that id as it is
                             // SAFETY: plain credential syscalls; the saved uid stays 0 so we can switch back.
        unsafe {
            libc::syscall(libc::SYS_setresgid, keep, self.uid, keep);
            libc::syscall(libc::SYS_setresuid, keep, self.uid, keep);
        }
        let out = f();
        // SAFETY: as above; euid 0 restores the permitted capabilities to effective.
        unsafe {
            libc::syscall(libc::SYS_setresuid, keep, 0, keep);
            libc::syscall(libc::SYS_setresgid, keep, 0, keep);
        }
        out
    }
}

/// A path that stays inside the workspace: relative, no `..`, not empty.
fn is_safe_relative(name: &str) -> bool {
    let p = Path::new(name);
    !name.is_empty()
        && name.len() <= 255
        && !name.contains('\0')
        && p.components().all(|c| matches!(c, Component::Normal(_)))
}

/// Empties a directory without removing it, making sub-directories writable first (the
/// program may have chmod-ed them to keep us out).
fn clear_dir(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let is_dir = entry.file_type().map(|t| t.is_dir()).unwrap_or(false);
        if is_dir {
            let _ = fs::set_permissions(&path, fs::Permissions::from_mode(0o700));
            clear_dir(&path);
            let _ = fs::remove_dir(&path);
        } else {
            let _ = fs::remove_file(&path);
        }
    }
}

/// Removes SysV shared memory, message queues and semaphores (the container has its own IPC
/// namespace, so everything listed belongs to the sandbox).
fn remove_sysv_ipc() {
    for (file, kind) in [
        ("/proc/sysvipc/shm", 0),
        ("/proc/sysvipc/msg", 1),
        ("/proc/sysvipc/sem", 2),
    ] {
        let Ok(text) = fs::read_to_string(file) else {
            continue;
        };
        for id in text
            .lines()
            .skip(1)
            .filter_map(|l| l.split_whitespace().nth(1)?.parse::<i32>().ok())
        {
            // SAFETY: IPC_RMID with a null buffer is the documented way to remove an object.
            unsafe {
                match kind {
                    0 => libc::shmctl(id, libc::IPC_RMID, std::ptr::null_mut()),
                    1 => libc::msgctl(id, libc::IPC_RMID, std::ptr::null_mut()),
                    _ => libc::semctl(id, 0, libc::IPC_RMID),
                };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::is_safe_relative;

    #[test]
    fn file_names_stay_inside() {
        assert!(is_safe_relative("main.py"));
        assert!(is_safe_relative("src/lib.rs"));
        assert!(!is_safe_relative("../etc/passwd"));
        assert!(!is_safe_relative("/etc/passwd"));
        assert!(!is_safe_relative("a/../../b"));
        assert!(!is_safe_relative(""));
        assert!(!is_safe_relative("./x"));
    }
}
