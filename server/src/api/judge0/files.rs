//! Judge0's `additional_files`: a zip whose files Judge0 unzips into the program's working
//! directory. Here they become files of the run after the main one. The archive comes from
//! the client, so nothing it declares is trusted: paths must stay inside the workspace,
//! and sizes are counted while reading, not taken from its headers.

use std::io::Read;
use warmrun_api::File;

/// Bytes of all unpacked files together at most.
pub const MAX_UNPACKED_BYTES: u64 = 1024 * 1024;

/// The files of a zip, in the archive's order, directories skipped. `main`: the program's
/// own file name, which no entry may take; `room`: how many files the run may still have.
/// The error is a message for the `additional_files` field.
pub fn unpack(zip_bytes: &[u8], main: &str, room: usize) -> Result<Vec<File>, String> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip_bytes))
        .map_err(|e| format!("is not a valid zip archive: {e}"))?;
    let mut files: Vec<File> = Vec::new();
    let mut left = MAX_UNPACKED_BYTES;
    for i in 0..archive.len() {
        let mut entry = archive
            .by_index(i)
            .map_err(|e| format!("entry {i} cannot be read: {e}"))?;
        let raw = entry.name().to_string();
        if entry.is_dir() {
            continue;
        }
        if entry.is_symlink() {
            return Err(format!(
                "{raw:?} is a symbolic link; only files are allowed"
            ));
        }
        let name = workspace_path(&raw)?;
        if name == main {
            return Err(format!(
                "{raw:?} would replace the program's own file {main:?}"
            ));
        }
        if files.iter().any(|f| f.name == name) {
            return Err(format!("{raw:?} is in the archive twice"));
        }
        if files.len() >= room {
            return Err(format!("has more than {room} files"));
        }
        // One byte past what is left tells "too big" without reading further.
        let mut bytes = Vec::new();
        (&mut entry)
            .take(left + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| format!("{raw:?} cannot be unpacked: {e}"))?;
        left = left
            .checked_sub(bytes.len() as u64)
            .ok_or_else(|| format!("unpacks to more than {MAX_UNPACKED_BYTES} bytes"))?;
        let content = String::from_utf8(bytes).map_err(|_| {
            format!("{raw:?} is not UTF-8 text (files are given to programs as text)")
        })?;
        files.push(File { name, content });
    }
    Ok(files)
}

/// An entry's path made a workspace file name (`./a//b` → `a/b`), or why it may not be one.
fn workspace_path(raw: &str) -> Result<String, String> {
    let absolute =
        raw.starts_with('/') || raw.starts_with('\\') || raw.as_bytes().get(1) == Some(&b':');
    if absolute {
        return Err(format!("{raw:?} is an absolute path"));
    }
    let parts: Vec<&str> = raw
        .split(['/', '\\'])
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    if parts.contains(&"..") {
        return Err(format!("{raw:?} leaves the working directory (..)"));
    }
    let name = parts.join("/");
    warmrun_api::check_file_name(&name, false).map_err(|e| e.0)?;
    Ok(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use zip::write::SimpleFileOptions;

    fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        for (name, content) in entries {
            if name.ends_with('/') {
                w.add_directory(*name, SimpleFileOptions::default())
                    .unwrap();
            } else {
                w.start_file(*name, SimpleFileOptions::default()).unwrap();
                w.write_all(content).unwrap();
            }
        }
        w.finish().unwrap().into_inner()
    }

    #[test]
    fn files_come_out_in_order_without_directories() {
        let z = zip_of(&[("lib/", b""), ("lib/a.py", b"A"), ("./data.txt", b"D")]);
        let files = unpack(&z, "main.py", 31).unwrap();
        let names: Vec<&str> = files.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["lib/a.py", "data.txt"]);
        assert_eq!(files[1].content, "D");
    }

    #[test]
    fn unsafe_or_oversized_archives_are_refused() {
        let err = |entries: &[(&str, &[u8])], room| unpack(&zip_of(entries), "main.py", room);
        assert!(err(&[("../evil", b"x")], 31).unwrap_err().contains(".."));
        assert!(err(&[("a/../../evil", b"x")], 31)
            .unwrap_err()
            .contains(".."));
        assert!(err(&[("/etc/passwd", b"x")], 31)
            .unwrap_err()
            .contains("absolute"));
        assert!(err(&[("main.py", b"x")], 31)
            .unwrap_err()
            .contains("program's own"));
        assert!(err(&[("a", b"x"), ("b", b"y")], 1)
            .unwrap_err()
            .contains("more than 1 files"));
        assert!(err(&[("bin", &[0xff, 0xfe])], 31)
            .unwrap_err()
            .contains("UTF-8"));
        let big = vec![b'x'; MAX_UNPACKED_BYTES as usize / 2 + 1];
        assert!(err(&[("a", &big), ("b", &big)], 31)
            .unwrap_err()
            .contains("more than"));
        assert!(unpack(b"not a zip", "main.py", 31)
            .unwrap_err()
            .contains("zip"));
    }
}
