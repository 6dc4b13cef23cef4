//! The sandbox uid's world: writing the user's files as that uid, killing every process it
//! has, and wiping everything it can leave behind (files, IPC objects).

use std::fs;
use std::io;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
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

    /// Writes what an earlier compile left (the engine's compile cache) as the sandbox uid,
    /// with its modes, after the program's files.
    pub fn write_compiled(&self, files: &[agent::CompiledFile]) -> Result<(), String> {
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
                fs::set_permissions(&path, fs::Permissions::from_mode(f.mode & 0o777))?;
            }
            Ok(())
        })
        .map_err(|e| format!("writing compiled files: {e}"))
    }

    /// What the compile step left in the workspace besides the program's files (`sources`)
    /// and the output directory, read as the sandbox uid: `None` when it holds anything
    /// but regular files and directories (a link, a pipe: not worth reproducing) or more
    /// than `max_bytes`. Every process of the step is gone, so nothing changes meanwhile.
    pub fn collect_compiled(
        &self,
        sources: &[agent::SourceFile],
        max_bytes: u64,
    ) -> Option<Vec<agent::CompiledFile>> {
        let output_dir = Path::new(agent::OUTPUT_DIR)
            .strip_prefix(WORKSPACE)
            .expect("the output directory is in the workspace")
            .to_path_buf();
        self.as_sandbox(|| {
            let mut files = Vec::new();
            let mut bytes = 0u64;
            let mut dirs = vec![std::path::PathBuf::new()];
            while let Some(rel) = dirs.pop() {
                for item in fs::read_dir(Path::new(WORKSPACE).join(&rel)).ok()? {
                    let item = item.ok()?;
                    let path = rel.join(item.file_name());
                    let meta = item.metadata().ok()?; // lstat: links are not followed
                    let ft = meta.file_type();
                    if ft.is_dir() {
                        if path != output_dir {
                            dirs.push(path);
                        }
                        continue;
                    }
                    if !ft.is_file() {
                        return None;
                    }
                    let name = path.to_str()?.to_string();
                    if sources.iter().any(|s| s.name == name) {
                        continue;
                    }
                    bytes += meta.len();
                    if bytes > max_bytes {
                        return None;
                    }
                    use std::io::Read;
                    let mut content = Vec::new();
                    let file = fs::OpenOptions::new()
                        .read(true)
                        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
                        .open(item.path())
                        .ok()?;
                    file.take(meta.len() + 1).read_to_end(&mut content).ok()?;
                    if content.len() as u64 != meta.len() {
                        return None;
                    }
                    files.push(agent::CompiledFile {
                        name,
                        mode: meta.permissions().mode() & 0o777,
                        content,
                    });
                }
            }
            files.sort_by(|a, b| a.name.cmp(&b.name));
            Some(files)
        })
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
                clear_dir(Path::new(dir), CLEAR_BUDGET);
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
    pub fn as_sandbox<T>(&self, f: impl FnOnce() -> T) -> T {
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

/// Most bytes of files a judged run's workspace may hold to be kept for its cases (the agent
/// keeps them in its memory, which counts against the container's limit).
const SNAPSHOT_MAX_BYTES: u64 = 128 * 1024 * 1024;

/// The workspace as the compile step left it, restored before each case of a judged run.
pub struct Snapshot {
    /// Parents before their contents.
    entries: Vec<(std::path::PathBuf, Entry)>,
}

enum Entry {
    Dir { mode: u32 },
    File { mode: u32, content: Vec<u8> },
    Symlink { target: std::path::PathBuf },
}

impl Sandbox {
    /// Copies the workspace (directories, files, symbolic links; nothing else survives a
    /// restore) into memory, as the sandbox uid.
    pub fn snapshot_workspace(&self) -> Result<Snapshot, String> {
        self.as_sandbox(|| {
            let mut entries = Vec::new();
            let mut bytes = 0u64;
            let mut dirs = vec![std::path::PathBuf::new()];
            while let Some(rel) = dirs.pop() {
                let dir = Path::new(WORKSPACE).join(&rel);
                let list = fs::read_dir(&dir).map_err(|e| format!("reading {dir:?}: {e}"))?;
                for item in list {
                    let item = item.map_err(|e| format!("reading {dir:?}: {e}"))?;
                    let path = rel.join(item.file_name());
                    let meta = item
                        .metadata()
                        .map_err(|e| format!("reading {path:?}: {e}"))?;
                    let mode = meta.permissions().mode() & 0o7777;
                    let ft = meta.file_type();
                    if ft.is_dir() {
                        entries.push((path.clone(), Entry::Dir { mode }));
                        dirs.push(path);
                    } else if ft.is_file() {
                        bytes += meta.len();
                        if bytes > SNAPSHOT_MAX_BYTES {
                            return Err(format!(
                                "the workspace holds more than {SNAPSHOT_MAX_BYTES} bytes \
                                 after compiling: too much to keep for test cases"
                            ));
                        }
                        let content =
                            fs::read(item.path()).map_err(|e| format!("reading {path:?}: {e}"))?;
                        entries.push((path, Entry::File { mode, content }));
                    } else if ft.is_symlink() {
                        let target = fs::read_link(item.path())
                            .map_err(|e| format!("reading {path:?}: {e}"))?;
                        entries.push((path, Entry::Symlink { target }));
                    }
                }
            }
            Ok(Snapshot { entries })
        })
    }

    /// Writes the snapshot back into the (wiped) workspace, as the sandbox uid; directory
    /// modes last, so that read-only directories are filled first.
    pub fn restore_workspace(&self, snap: &Snapshot) -> Result<(), String> {
        let root = Path::new(WORKSPACE);
        self.as_sandbox(|| -> io::Result<()> {
            for (rel, entry) in &snap.entries {
                let path = root.join(rel);
                match entry {
                    Entry::Dir { .. } => fs::create_dir(&path)?,
                    Entry::File { mode, content } => {
                        fs::write(&path, content)?;
                        fs::set_permissions(&path, fs::Permissions::from_mode(*mode))?;
                    }
                    Entry::Symlink { target } => std::os::unix::fs::symlink(target, &path)?,
                }
            }
            for (rel, entry) in snap.entries.iter().rev() {
                if let Entry::Dir { mode } = entry {
                    fs::set_permissions(root.join(rel), fs::Permissions::from_mode(*mode))?;
                }
            }
            Ok(())
        })
        .map_err(|e| format!("restoring the workspace: {e}"))
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

/// How long a reset may spend emptying one writable directory.
const CLEAR_BUDGET: Duration = Duration::from_secs(4);

/// Empties a directory without removing it, making sub-directories writable first (the
/// program may have chmod-ed them to keep us out).
///
/// Works on names relative to open directories and never descends more than one level:
/// the sub-directories of a directory being emptied are moved up into `dir` (renamed) and
/// emptied in a later round. So a chain of directories deeper than PATH_MAX (which no path
/// can name) goes too, with two descriptors open at most and no recursion.
///
/// Stops after `budget`: a reset must end, and what is left then fails the wipe (the
/// container is replaced).
fn clear_dir(dir: &Path, budget: Duration) {
    use std::os::unix::ffi::OsStrExt;
    let Ok(top) = std::ffi::CString::new(dir.as_os_str().as_bytes()) else {
        return;
    };
    // SAFETY: plain *at syscalls on descriptors this function opens and closes.
    unsafe {
        let top = libc::open(
            top.as_ptr(),
            libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC,
        );
        if top < 0 {
            return;
        }
        let deadline = Instant::now() + budget;
        let mut moved: u64 = 0;
        loop {
            let names = dir_names(top);
            if names.is_empty() || Instant::now() > deadline {
                break;
            }
            for name in names {
                if libc::unlinkat(top, name.as_ptr(), 0) == 0 {
                    continue;
                }
                // A directory: open it to us, move its sub-directories up, empty it.
                libc::fchmodat(top, name.as_ptr(), 0o700, 0);
                let sub = libc::openat(
                    top,
                    name.as_ptr(),
                    libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC,
                );
                if sub >= 0 {
                    for child in dir_names(sub) {
                        if libc::unlinkat(sub, child.as_ptr(), 0) == 0 {
                            continue;
                        }
                        // Moving a directory rewrites its "..": it must be writable.
                        libc::fchmodat(sub, child.as_ptr(), 0o700, 0);
                        moved += 1;
                        let up = std::ffi::CString::new(format!(".warmrun-wipe-{moved}"))
                            .expect("no NUL in the name");
                        libc::renameat(sub, child.as_ptr(), top, up.as_ptr());
                    }
                    libc::close(sub);
                }
                libc::unlinkat(top, name.as_ptr(), libc::AT_REMOVEDIR);
            }
        }
        libc::close(top);
    }
}

/// The entry names of the open directory `fd` (without `.` and `..`).
///
/// # Safety
/// `fd` must be an open directory descriptor; it stays open.
pub(crate) unsafe fn dir_names(fd: libc::c_int) -> Vec<std::ffi::CString> {
    let mut names = Vec::new();
    let own = libc::dup(fd);
    if own < 0 {
        return names;
    }
    let stream = libc::fdopendir(own);
    if stream.is_null() {
        libc::close(own);
        return names;
    }
    // A duplicate shares the offset with `fd`: start from the beginning.
    libc::rewinddir(stream);
    loop {
        let entry = libc::readdir(stream);
        if entry.is_null() {
            break;
        }
        let name = std::ffi::CStr::from_ptr((*entry).d_name.as_ptr());
        if name.to_bytes() != b"." && name.to_bytes() != b".." {
            names.push(name.to_owned());
        }
    }
    libc::closedir(stream);
    names
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

    /// A chain of directories deeper than PATH_MAX, locked directories and plenty of files:
    /// all removed, the directory itself kept.
    #[test]
    fn clear_dir_removes_what_no_path_can_name() {
        use std::os::unix::fs::PermissionsExt;
        let top = std::env::temp_dir().join(format!("warmrun-clear-{}", std::process::id()));
        std::fs::create_dir_all(&top).unwrap();
        for i in 0..500 {
            std::fs::write(top.join(format!("f{i}")), b"x").unwrap();
        }
        // SAFETY: mkdirat/openat on descriptors this test opens and closes.
        unsafe {
            let c = std::ffi::CString::new(top.to_str().unwrap()).unwrap();
            let mut fd = libc::open(c.as_ptr(), libc::O_RDONLY | libc::O_DIRECTORY);
            for _ in 0..2100 {
                assert_eq!(libc::mkdirat(fd, c"dd".as_ptr(), 0o755), 0);
                let next = libc::openat(fd, c"dd".as_ptr(), libc::O_RDONLY | libc::O_DIRECTORY);
                assert!(next >= 0);
                libc::close(fd);
                fd = next;
            }
            libc::close(fd);
        }
        std::fs::create_dir_all(top.join("locked/inner")).unwrap();
        std::fs::set_permissions(top.join("locked"), std::fs::Permissions::from_mode(0o000))
            .unwrap();
        // What goes is under test here, not how fast: a loaded machine takes longer than a
        // reset's budget.
        super::clear_dir(&top, std::time::Duration::from_secs(120));
        assert_eq!(std::fs::read_dir(&top).unwrap().count(), 0);
        std::fs::remove_dir(&top).unwrap();
    }

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
