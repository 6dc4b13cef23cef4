//! The output directory: created empty before a run step, and its files sent back after it
//! ([`agent::Event::Artifact`]), within the run's [`ArtifactLimits`].
//!
//! Everything here runs as the sandbox uid, with names relative to a directory opened
//! without following links: a program that replaces the directory or its files with
//! symbolic links (to `/etc/shadow`, to the agent's own files) gets back nothing it could
//! not read itself, and nothing from outside the directory at all.

use crate::sandbox::{dir_names, Sandbox};
use agent::{ArtifactLimits, Event, OUTPUT_DIR};
use std::ffi::CString;

/// Creates the (empty: the reset wiped the workspace) output directory for the program.
/// A user file of the same name wins; the run then simply has no artifacts.
pub fn prepare(sandbox: &Sandbox, limits: ArtifactLimits) {
    if limits.files == 0 {
        return;
    }
    let path = CString::new(OUTPUT_DIR).expect("no NUL in the path");
    sandbox.as_sandbox(|| {
        // SAFETY: mkdir on a valid C string.
        unsafe { libc::mkdir(path.as_ptr(), 0o755) };
    });
}

/// Sends the regular files of the output directory, in name order, until one would pass
/// a bound; then [`Event::ArtifactsTruncated`]. Sub-directories, links, pipes and devices
/// are skipped.
pub fn send(sandbox: &Sandbox, limits: ArtifactLimits, send: &mut dyn FnMut(Event)) {
    if limits.files == 0 {
        return;
    }
    let path = CString::new(OUTPUT_DIR).expect("no NUL in the path");
    sandbox.as_sandbox(|| {
        // SAFETY: plain *at syscalls on descriptors this block opens and closes.
        unsafe {
            let dir = libc::open(
                path.as_ptr(),
                libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC,
            );
            if dir < 0 {
                return;
            }
            // gVisor (runsc 20221219) opens a symbolic link to a directory despite
            // O_NOFOLLOW: the path must name the very directory opened, not a link to one.
            let (mut by_path, mut opened) = (
                std::mem::zeroed::<libc::stat>(),
                std::mem::zeroed::<libc::stat>(),
            );
            if libc::lstat(path.as_ptr(), &mut by_path) != 0
                || libc::fstat(dir, &mut opened) != 0
                || by_path.st_mode & libc::S_IFMT != libc::S_IFDIR
                || (by_path.st_dev, by_path.st_ino) != (opened.st_dev, opened.st_ino)
            {
                libc::close(dir);
                return;
            }
            let mut names = dir_names(dir);
            names.sort();
            let (mut files, mut bytes) = (0u32, 0u64);
            for name in names {
                let Some(file) = open_regular(dir, &name) else {
                    continue;
                };
                let size = file.metadata().map(|m| m.len()).unwrap_or(u64::MAX);
                if files >= limits.files || size > limits.bytes - bytes {
                    send(Event::ArtifactsTruncated);
                    break;
                }
                let Some(data) = read_at_most(file, limits.bytes - bytes) else {
                    continue;
                };
                files += 1;
                bytes += data.len() as u64;
                send(Event::Artifact {
                    name: String::from_utf8_lossy(name.to_bytes()).into_owned(),
                    data,
                });
            }
            libc::close(dir);
        }
    });
}

/// The entry `name` of the open directory `dir` if it is a regular file (never following a
/// link, never blocking on a pipe).
///
/// # Safety
/// `dir` must be an open directory descriptor.
unsafe fn open_regular(dir: libc::c_int, name: &std::ffi::CStr) -> Option<std::fs::File> {
    use std::os::fd::FromRawFd;
    let fd = libc::openat(
        dir,
        name.as_ptr(),
        libc::O_RDONLY | libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY | libc::O_CLOEXEC,
    );
    if fd < 0 {
        return None;
    }
    let file = std::fs::File::from_raw_fd(fd);
    file.metadata().ok().filter(|m| m.is_file()).map(|_| file)
}

/// The file's content, or `None` when it cannot be read or holds more than `cap` bytes
/// (every process of the sandbox is gone, so it cannot grow; this only guards the bound).
fn read_at_most(file: std::fs::File, cap: u64) -> Option<Vec<u8>> {
    use std::io::Read;
    let mut data = Vec::new();
    file.take(cap.saturating_add(1))
        .read_to_end(&mut data)
        .ok()?;
    (data.len() as u64 <= cap).then_some(data)
}
