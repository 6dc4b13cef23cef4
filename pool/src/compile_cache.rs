//! The compile cache: a byte-identical compile (language, its image, compile command with
//! options, environment, every file's name and bytes) reuses what an earlier one left in the
//! workspace instead of compiling again.
//!
//! Content-addressed (the key is a SHA-256 over all of that), one file per entry in a
//! directory of this node, bounded in bytes with least-recently-used eviction. What is kept
//! is what the agent read from the workspace right after the compile step and before the
//! program started ([`agent::RunSpec::capture_compiled_bytes`]), so nothing written at run
//! time can be in it. Only languages whose catalog entry sets `compile_cache = true` take
//! part, and only compiles that succeeded are kept.

use crate::catalog::{Language, LanguageId};
use crate::metrics::PoolMetrics;
use agent::{CompileReport, CompiledFile, ExitReport, RunSpec, Verdict};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tracing::{debug, info, warn};

/// Largest entry kept (all files of one compile): it travels in one agent frame
/// (at most `agent::MAX_FRAME_BYTES`), and in every run that reuses it.
pub const MAX_ENTRY_BYTES: u64 = 32 * 1024 * 1024;

/// Bumped when the entry format or the key's inputs change: older entries are then
/// simply never found (and age out).
const FORMAT: &str = "warmrun-compile-cache-v1";

/// Suffix of entry files; anything else in the directory is left alone.
const SUFFIX: &str = ".entry";

/// A content address: the hex SHA-256 of everything a compile depends on.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CacheKey(String);

impl CacheKey {
    /// The key of compiling `spec` (its files, compile command and environment) for `lang`
    /// in the image `image_id`.
    pub fn of(lang: &Language, image_id: &str, spec: &RunSpec) -> CacheKey {
        let mut h = Sha256::new();
        // Every part is length-prefixed, so no two different inputs hash the same stream.
        let mut part = |bytes: &[u8]| {
            h.update((bytes.len() as u64).to_le_bytes());
            h.update(bytes);
        };
        part(FORMAT.as_bytes());
        part(lang.id.as_str().as_bytes());
        part(lang.version.as_bytes());
        part(image_id.as_bytes());
        part(&(spec.compile.len() as u64).to_le_bytes());
        for arg in &spec.compile {
            part(arg.as_bytes());
        }
        part(&(spec.env.len() as u64).to_le_bytes());
        for (k, v) in &spec.env {
            part(k.as_bytes());
            part(v.as_bytes());
        }
        // Names are unique; their order does not change what the workspace holds.
        let mut files: Vec<_> = spec.files.iter().collect();
        files.sort_by(|a, b| a.name.cmp(&b.name));
        part(&(files.len() as u64).to_le_bytes());
        for f in files {
            part(f.name.as_bytes());
            part(&f.content);
        }
        CacheKey(format!("{:x}", h.finalize()))
    }

    /// The key as hex.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    fn parse(name: &str) -> Option<CacheKey> {
        let hex = name.strip_suffix(SUFFIX)?;
        (hex.len() == 64
            && hex
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()))
        .then(|| CacheKey(hex.to_string()))
    }
}

/// One kept compile: the files it left and what the compiler said.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CachedCompile {
    pub files: Vec<CompiledFile>,
    #[serde(with = "serde_bytes")]
    pub stdout: Vec<u8>,
    #[serde(with = "serde_bytes")]
    pub stderr: Vec<u8>,
}

impl CachedCompile {
    /// The compile report a reuse shows: the compiler's own messages, nothing measured
    /// (nothing ran), and `cached`.
    pub fn report(&self) -> CompileReport {
        CompileReport {
            exit: ExitReport {
                exit_code: Some(0),
                ..ExitReport::unmeasured(Verdict::Ok)
            },
            stdout: self.stdout.clone(),
            stderr: self.stderr.clone(),
            cached: true,
        }
    }
}

/// An entry file: the format and key first, so a renamed or foreign file is never used.
#[derive(Serialize, Deserialize)]
struct Stored {
    format: String,
    key: String,
    compile: CachedCompile,
}

/// Which entries exist, their sizes, and the order they were last used in: evicts the least
/// recently used until the total fits the bound.
#[derive(Debug, Default)]
pub struct LruIndex {
    max_bytes: u64,
    total: u64,
    tick: u64,
    /// key → (bytes, tick of its last use)
    entries: HashMap<CacheKey, (u64, u64)>,
    /// tick of last use → key (oldest first)
    order: BTreeMap<u64, CacheKey>,
}

impl LruIndex {
    pub fn new(max_bytes: u64) -> LruIndex {
        LruIndex {
            max_bytes,
            ..LruIndex::default()
        }
    }

    /// Bytes of all entries together.
    pub fn total_bytes(&self) -> u64 {
        self.total
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn contains(&self, key: &CacheKey) -> bool {
        self.entries.contains_key(key)
    }

    /// Marks `key` as just used; false when it is not in the index.
    pub fn touch(&mut self, key: &CacheKey) -> bool {
        self.tick += 1;
        let tick = self.tick;
        let Some((_, used)) = self.entries.get_mut(key) else {
            return false;
        };
        self.order.remove(used);
        *used = tick;
        self.order.insert(tick, key.clone());
        true
    }

    /// Adds (or replaces) an entry as the most recently used one and returns the keys
    /// evicted to make room, oldest first. An entry larger than the whole bound is not
    /// added: it comes back as evicted itself.
    pub fn insert(&mut self, key: CacheKey, bytes: u64) -> Vec<CacheKey> {
        self.remove(&key);
        if bytes > self.max_bytes {
            return vec![key];
        }
        let mut evicted = Vec::new();
        while self.total + bytes > self.max_bytes {
            let Some((_, oldest)) = self.order.pop_first() else {
                break;
            };
            if let Some((size, _)) = self.entries.remove(&oldest) {
                self.total -= size;
            }
            evicted.push(oldest);
        }
        self.tick += 1;
        self.entries.insert(key.clone(), (bytes, self.tick));
        self.order.insert(self.tick, key);
        self.total += bytes;
        evicted
    }

    /// Forgets an entry (its file is gone or unreadable).
    pub fn remove(&mut self, key: &CacheKey) {
        if let Some((size, used)) = self.entries.remove(key) {
            self.order.remove(&used);
            self.total -= size;
        }
    }
}

/// The cache of one engine: its directory, its index and the image ids the keys include.
pub struct CompileCache {
    dir: PathBuf,
    index: Mutex<LruIndex>,
    /// Language id → id of the image its containers run (so a rebuilt image starts afresh).
    images: Mutex<HashMap<LanguageId, String>>,
    metrics: PoolMetrics,
}

impl CompileCache {
    /// Opens (creating it if needed) the cache directory and indexes the entries an earlier
    /// engine of this node left, the most recently used last; past the bound the oldest go.
    pub fn open(dir: &Path, max_bytes: u64, metrics: PoolMetrics) -> std::io::Result<CompileCache> {
        std::fs::create_dir_all(dir)?;
        let mut found = Vec::new();
        for item in std::fs::read_dir(dir)? {
            let item = item?;
            let Some(key) = item.file_name().to_str().and_then(CacheKey::parse) else {
                continue;
            };
            let Ok(meta) = item.metadata() else { continue };
            if meta.is_file() {
                found.push((meta.modified().ok(), key, meta.len()));
            }
        }
        found.sort();
        let mut index = LruIndex::new(max_bytes);
        for (_, key, bytes) in found {
            for gone in index.insert(key, bytes) {
                let _ = std::fs::remove_file(entry_path(dir, &gone));
            }
        }
        info!(
            dir = %dir.display(),
            entries = index.len(),
            bytes = index.total_bytes(),
            "compile cache opened"
        );
        let cache = CompileCache {
            dir: dir.to_path_buf(),
            index: Mutex::new(index),
            images: Mutex::new(HashMap::new()),
            metrics,
        };
        cache.update_gauges();
        Ok(cache)
    }

    /// Records the image a language's containers run (its id, or its name when the runtime
    /// does not tell).
    pub fn set_image(&self, lang: &LanguageId, image_id: String) {
        self.images
            .lock()
            .expect("images lock")
            .insert(lang.clone(), image_id);
    }

    /// The key of compiling `spec` for `lang`.
    pub fn key(&self, lang: &Language, spec: &RunSpec) -> CacheKey {
        let image = self
            .images
            .lock()
            .expect("images lock")
            .get(&lang.id)
            .cloned()
            .unwrap_or_else(|| lang.image.clone());
        CacheKey::of(lang, &image, spec)
    }

    /// The kept compile of `key`, marked as used; `None` when there is none (or its file
    /// went missing or is damaged: then it is forgotten).
    pub fn get(&self, key: &CacheKey) -> Option<CachedCompile> {
        if !self.index.lock().expect("index lock").touch(key) {
            return None;
        }
        let path = entry_path(&self.dir, key);
        let found = std::fs::read(&path)
            .ok()
            .and_then(|bytes| postcard::from_bytes::<Stored>(&bytes).ok())
            .filter(|s| s.format == FORMAT && s.key == key.0);
        match found {
            Some(stored) => {
                // The file's time is the last use, for the order after a restart.
                if let Ok(f) = std::fs::File::options().append(true).open(&path) {
                    let _ = f.set_modified(std::time::SystemTime::now());
                }
                Some(stored.compile)
            }
            None => {
                warn!(key = %key.0, "compile cache entry missing or damaged; dropping it");
                self.index.lock().expect("index lock").remove(key);
                let _ = std::fs::remove_file(&path);
                self.update_gauges();
                None
            }
        }
    }

    /// Keeps a compile under `key`, evicting the least recently used entries past the bound.
    pub fn put(&self, key: &CacheKey, compile: CachedCompile) {
        let stored = Stored {
            format: FORMAT.to_string(),
            key: key.0.clone(),
            compile,
        };
        let bytes = match postcard::to_stdvec(&stored) {
            Ok(b) => b,
            Err(e) => {
                warn!("encoding a compile cache entry failed: {e}");
                return;
            }
        };
        let path = entry_path(&self.dir, key);
        // A unique temporary name, then a rename: readers never see half an entry, and two
        // engines sharing the directory never write into the same file.
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let tmp = self
            .dir
            .join(format!(".{}.{}.{n}.tmp", key.0, std::process::id()));
        if let Err(e) = std::fs::write(&tmp, &bytes).and_then(|_| std::fs::rename(&tmp, &path)) {
            warn!("writing a compile cache entry failed: {e}");
            let _ = std::fs::remove_file(&tmp);
            return;
        }
        let evicted = self
            .index
            .lock()
            .expect("index lock")
            .insert(key.clone(), bytes.len() as u64);
        for gone in &evicted {
            let _ = std::fs::remove_file(entry_path(&self.dir, gone));
            if gone != key {
                self.metrics.compile_cache_evictions.inc();
            }
        }
        debug!(key = %key.0, bytes = bytes.len(), evicted = evicted.len(), "compile kept");
        self.update_gauges();
    }

    fn update_gauges(&self) {
        let (entries, bytes) = {
            let index = self.index.lock().expect("index lock");
            (index.len(), index.total_bytes())
        };
        self.metrics.compile_cache_entries.set(entries as i64);
        self.metrics.compile_cache_bytes.set(bytes as i64);
    }
}

fn entry_path(dir: &Path, key: &CacheKey) -> PathBuf {
    dir.join(format!("{}{SUFFIX}", key.0))
}

/// How a run's compile step goes.
#[derive(Debug)]
pub(crate) enum CompilePlan {
    /// Compiled as always, nothing kept (no compile step, the language does not take part,
    /// or the cache is off).
    Plain,
    /// Compiled, and kept under this key if it succeeds.
    Miss(CacheKey),
    /// Not compiled: the spec carries the kept files; this is the report to show.
    Hit(CompileReport),
}

impl CompilePlan {
    /// Looks the run up in the cache (off the async threads: it reads a file) and adjusts
    /// its spec: a hit carries the kept files instead of a compile step, a miss asks the
    /// agent for what the compile leaves.
    pub(crate) async fn make(
        cache: Option<&Arc<CompileCache>>,
        lang: Option<&Language>,
        spec: &mut RunSpec,
    ) -> CompilePlan {
        let (Some(cache), Some(lang)) = (cache, lang) else {
            return CompilePlan::Plain;
        };
        if !lang.compile_cache || spec.compile.is_empty() {
            return CompilePlan::Plain;
        }
        let key = cache.key(lang, spec);
        let lookup = {
            let (cache, key) = (cache.clone(), key.clone());
            tokio::task::spawn_blocking(move || cache.get(&key))
        };
        let m = &cache.metrics;
        match lookup.await.ok().flatten() {
            Some(kept) => {
                m.compile_cache_hits
                    .with_label_values(&[lang.id.as_str()])
                    .inc();
                spec.compile = Vec::new();
                spec.capture_compiled_bytes = 0;
                let report = kept.report();
                spec.compiled = kept.files;
                CompilePlan::Hit(report)
            }
            None => {
                m.compile_cache_misses
                    .with_label_values(&[lang.id.as_str()])
                    .inc();
                spec.capture_compiled_bytes = MAX_ENTRY_BYTES;
                CompilePlan::Miss(key)
            }
        }
    }

    /// After the compile step: keeps what it left when it succeeded (in the background).
    pub(crate) fn keep(
        &self,
        cache: Option<&Arc<CompileCache>>,
        report: &CompileReport,
        files: Option<Vec<CompiledFile>>,
    ) {
        let (CompilePlan::Miss(key), Some(cache), Some(files)) = (self, cache, files) else {
            return;
        };
        if report.exit.verdict != Verdict::Ok {
            return;
        }
        let kept = CachedCompile {
            files,
            stdout: report.stdout.clone(),
            stderr: report.stderr.clone(),
        };
        let (cache, key) = (cache.clone(), key.clone());
        tokio::task::spawn_blocking(move || cache.put(&key, kept));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u8) -> CacheKey {
        CacheKey(format!("{n:064x}"))
    }

    #[test]
    fn evicts_least_recently_used_at_the_bound() {
        let mut lru = LruIndex::new(100);
        assert!(lru.insert(key(1), 40).is_empty());
        assert!(lru.insert(key(2), 40).is_empty());
        // 1 is used again: 2 is now the oldest and goes first.
        assert!(lru.touch(&key(1)));
        assert_eq!(lru.insert(key(3), 40), vec![key(2)]);
        assert_eq!(lru.total_bytes(), 80);
        assert!(lru.contains(&key(1)) && lru.contains(&key(3)));
        // Room for a big one takes both older entries.
        assert_eq!(lru.insert(key(4), 90), vec![key(1), key(3)]);
        assert_eq!((lru.len(), lru.total_bytes()), (1, 90));
        // Larger than the bound: not kept, nothing else lost.
        assert_eq!(lru.insert(key(5), 101), vec![key(5)]);
        assert_eq!((lru.len(), lru.total_bytes()), (1, 90));
        // Replacing an entry counts its new size only.
        assert!(lru.insert(key(4), 50).is_empty());
        assert_eq!(lru.total_bytes(), 50);
        lru.remove(&key(4));
        assert!(lru.is_empty());
        assert_eq!(lru.total_bytes(), 0);
        assert!(!lru.touch(&key(4)));
    }

    fn spec(files: &[(&str, &str)], compile: &[&str]) -> RunSpec {
        RunSpec {
            files: files
                .iter()
                .map(|(n, c)| agent::SourceFile {
                    name: n.to_string(),
                    content: c.as_bytes().to_vec(),
                })
                .collect(),
            compile: compile.iter().map(|s| s.to_string()).collect(),
            run: vec!["./main".into()],
            env: vec![],
            stdin: vec![],
            close_stdin: true,
            tty: None,
            limits: agent::RunLimits {
                wall_ms: 1,
                cpu_ms: 1,
                output_bytes: 1,
                compile_wall_ms: 1,
                file_size_bytes: 1,
                processes: 1,
                open_files: 1,
                idle_ms: 1,
            },
            cases: false,
            artifacts: agent::ArtifactLimits::NONE,
            compiled: vec![],
            capture_compiled_bytes: 0,
        }
    }

    #[test]
    fn key_covers_what_a_compile_depends_on() {
        let catalog =
            crate::catalog::Catalog::parse(include_str!("../../images/languages.toml")).unwrap();
        let c = catalog.resolve("c", None).unwrap();
        let base = spec(&[("main.c", "int main(){}")], &["gcc", "main.c"]);
        let k = CacheKey::of(c, "sha256:1", &base);
        assert_eq!(k.as_str().len(), 64);
        assert_eq!(k, CacheKey::of(c, "sha256:1", &base));
        // Input and arguments of the run are not part of it.
        let mut other_run = base.clone();
        other_run.stdin = b"x".to_vec();
        other_run.run.push("arg".into());
        assert_eq!(k, CacheKey::of(c, "sha256:1", &other_run));
        // Each of these is.
        assert_ne!(k, CacheKey::of(c, "sha256:2", &base));
        let cpp = catalog.resolve("cpp", None).unwrap();
        assert_ne!(k, CacheKey::of(cpp, "sha256:1", &base));
        let options = spec(&[("main.c", "int main(){}")], &["gcc", "-O0", "main.c"]);
        assert_ne!(k, CacheKey::of(c, "sha256:1", &options));
        let source = spec(&[("main.c", "int main(){ }")], &["gcc", "main.c"]);
        assert_ne!(k, CacheKey::of(c, "sha256:1", &source));
        let renamed = spec(&[("other.c", "int main(){}")], &["gcc", "main.c"]);
        assert_ne!(k, CacheKey::of(c, "sha256:1", &renamed));
        // Boundaries between parts matter.
        let a = spec(&[("a", "bc")], &["gcc"]);
        let b = spec(&[("ab", "c")], &["gcc"]);
        assert_ne!(CacheKey::of(c, "i", &a), CacheKey::of(c, "i", &b));
        assert!(CacheKey::parse(&format!("{}{SUFFIX}", k.as_str())).is_some());
        assert!(CacheKey::parse("../x.entry").is_none());
    }

    #[test]
    fn entries_survive_a_restart_and_respect_the_bound() {
        let dir = std::env::temp_dir().join(format!(
            "warmrun-compile-cache-test-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        let metrics = PoolMetrics::new(&prometheus::Registry::new()).unwrap();
        let kept = |n: u8| CachedCompile {
            files: vec![CompiledFile {
                name: "main".into(),
                mode: 0o755,
                content: vec![n; 1000],
            }],
            stdout: vec![],
            stderr: b"warning".to_vec(),
        };
        let cache = CompileCache::open(&dir, 2500, metrics.clone()).unwrap();
        cache.put(&key(1), kept(1));
        cache.put(&key(2), kept(2));
        assert_eq!(cache.get(&key(1)), Some(kept(1)));
        let report = cache.get(&key(1)).unwrap().report();
        assert!(report.cached && report.exit.verdict == Verdict::Ok);
        assert_eq!(report.stderr, b"warning");
        // A third does not fit: 2, the least recently used, goes (file and all).
        cache.put(&key(3), kept(3));
        assert_eq!(cache.get(&key(2)), None);
        assert!(!entry_path(&dir, &key(2)).exists());
        assert_eq!(metrics.compile_cache_evictions.get(), 1);
        assert_eq!(metrics.compile_cache_entries.get(), 2);
        drop(cache);
        // Reopened: both survivors are there; a damaged file is dropped when read.
        let cache = CompileCache::open(&dir, 2500, metrics.clone()).unwrap();
        assert_eq!(cache.get(&key(3)), Some(kept(3)));
        std::fs::write(entry_path(&dir, &key(1)), b"garbage").unwrap();
        assert_eq!(cache.get(&key(1)), None);
        assert!(!entry_path(&dir, &key(1)).exists());
        // Reopened with a smaller bound: only the newest fits.
        drop(cache);
        let cache = CompileCache::open(&dir, 1500, metrics).unwrap();
        assert_eq!(cache.index.lock().unwrap().len(), 1);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
