//! The language catalog: which languages exist, their images, commands, default limits and
//! pool sizes, loaded from a TOML file at start.

use crate::error::PoolError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

/// A language's id as used in APIs and labels (`python`, `cpp`, …).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct LanguageId(pub String);

impl fmt::Display for LanguageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl LanguageId {
    /// The id as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Resource limits of one run, with their units in the names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    pub wall_ms: u64,
    pub cpu_ms: u64,
    pub memory_mb: u64,
    pub output_kb: u64,
    #[serde(default = "default_compile_wall_ms")]
    pub compile_wall_ms: u64,
    /// Interactive runs (stdin left open): how long one wait of the program for input may
    /// last before it ends with `idle_limit`. The time it waits does not count against
    /// `wall_ms`.
    #[serde(default = "default_idle_ms")]
    pub idle_ms: u64,
}

fn default_compile_wall_ms() -> u64 {
    30_000
}

/// Per-run overrides a client may ask for (the API's shape); each is checked against the
/// server's maxima by [`Limits::with_overrides`].
pub use warmrun_api::LimitOverrides;

/// Five minutes for a person to answer a prompt.
pub fn default_idle_ms() -> u64 {
    300_000
}

impl Limits {
    /// Applies a client's overrides on top of these defaults, refusing values outside
    /// `1..=max` with a message that names the field.
    pub fn with_overrides(self, o: &LimitOverrides, max: &Limits) -> Result<Limits, PoolError> {
        fn pick(name: &str, default: u64, asked: Option<u64>, max: u64) -> Result<u64, PoolError> {
            match asked {
                None => Ok(default.min(max)),
                Some(v) if v >= 1 && v <= max => Ok(v),
                Some(v) => Err(PoolError::InvalidRequest(format!(
                    "limits.{name} = {v} is out of range 1..={max}"
                ))),
            }
        }
        Ok(Limits {
            wall_ms: pick("wall_ms", self.wall_ms, o.wall_ms, max.wall_ms)?,
            cpu_ms: pick("cpu_ms", self.cpu_ms, o.cpu_ms, max.cpu_ms)?,
            memory_mb: pick("memory_mb", self.memory_mb, o.memory_mb, max.memory_mb)?
                .max(MIN_MEMORY_MB),
            output_kb: pick("output_kb", self.output_kb, o.output_kb, max.output_kb)?,
            compile_wall_ms: pick(
                "compile_wall_ms",
                self.compile_wall_ms,
                o.compile_wall_ms,
                max.compile_wall_ms,
            )?,
            idle_ms: pick("idle_ms", self.idle_ms, o.idle_ms, max.idle_ms)?,
        })
    }
}

/// Below this Docker refuses the memory limit (and the agent itself needs some).
pub const MIN_MEMORY_MB: u64 = 16;

/// How many containers of a language to keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PoolSize {
    /// Prewarmed idle containers to keep ready.
    pub min_idle: usize,
    /// Containers of this language at most (idle + leased).
    pub max: usize,
}

/// One language of the catalog.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Language {
    pub id: LanguageId,
    pub name: String,
    pub version: String,
    pub image: String,
    /// Name of the file the user's code is written to.
    pub file: String,
    #[serde(default)]
    pub compile: Vec<String>,
    pub run: Vec<String>,
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    #[serde(default)]
    pub aliases: Vec<String>,
    /// An interpreter the agent keeps started between runs (`"python"`), so a run skips
    /// its start-up.
    #[serde(default)]
    pub zygote: Option<agent::ZygoteKind>,
    #[serde(default)]
    pub example: String,
    pub limits: Limits,
    pub pool: PoolSize,
}

/// All languages, in catalog order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Catalog {
    #[serde(rename = "language")]
    pub languages: Vec<Language>,
}

impl Catalog {
    /// Parses and checks a catalog file.
    pub fn load(path: &Path) -> Result<Catalog, PoolError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| PoolError::Config(format!("reading {}: {e}", path.display())))?;
        Catalog::parse(&text)
    }

    /// Parses and checks catalog text.
    pub fn parse(text: &str) -> Result<Catalog, PoolError> {
        let catalog: Catalog =
            toml::from_str(text).map_err(|e| PoolError::Config(format!("catalog: {e}")))?;
        let mut seen = std::collections::HashSet::new();
        for lang in &catalog.languages {
            let id = lang.id.as_str();
            if id.is_empty()
                || !id
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_+-".contains(&b))
            {
                return Err(PoolError::Config(format!(
                    "catalog: bad language id {id:?}"
                )));
            }
            if !seen.insert(id) {
                return Err(PoolError::Config(format!("catalog: duplicate id {id}")));
            }
            if lang.run.is_empty() {
                return Err(PoolError::Config(format!(
                    "catalog: {id} has no run command"
                )));
            }
            if lang.pool.max == 0 || lang.pool.min_idle > lang.pool.max {
                return Err(PoolError::Config(format!(
                    "catalog: {id} needs 0 <= min_idle <= max and max >= 1"
                )));
            }
        }
        Ok(catalog)
    }

    /// Looks a language up by id or alias.
    pub fn find(&self, name: &str) -> Option<&Language> {
        self.languages
            .iter()
            .find(|l| l.id.as_str() == name)
            .or_else(|| {
                self.languages
                    .iter()
                    .find(|l| l.aliases.iter().any(|a| a == name))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repo_catalog_parses() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../images/languages.toml");
        let catalog = Catalog::load(&path).unwrap();
        for id in [
            "python",
            "javascript",
            "c",
            "cpp",
            "go",
            "rust",
            "java",
            "bash",
        ] {
            assert!(catalog.find(id).is_some(), "{id} missing");
        }
    }

    #[test]
    fn overrides_are_clamped_and_checked() {
        let d = Limits {
            wall_ms: 5000,
            cpu_ms: 5000,
            memory_mb: 256,
            output_kb: 64,
            compile_wall_ms: 10000,
            idle_ms: 300_000,
        };
        let max = Limits {
            wall_ms: 10000,
            ..d
        };
        let o = LimitOverrides {
            wall_ms: Some(8000),
            ..Default::default()
        };
        assert_eq!(d.with_overrides(&o, &max).unwrap().wall_ms, 8000);
        let bad = LimitOverrides {
            wall_ms: Some(20000),
            ..Default::default()
        };
        assert!(d.with_overrides(&bad, &max).is_err());
        let idle = LimitOverrides {
            idle_ms: Some(3000),
            ..Default::default()
        };
        assert_eq!(d.with_overrides(&idle, &max).unwrap().idle_ms, 3000);
    }

    /// A catalog without `idle_ms` gets the default; one with it keeps its value.
    #[test]
    fn idle_limit_defaults() {
        let lang = |limits: &str| {
            format!(
                "[[language]]\nid = \"x\"\nname = \"X\"\nversion = \"1\"\nimage = \"i\"\n\
                 file = \"m\"\nrun = [\"m\"]\n[language.limits]\nwall_ms = 1\ncpu_ms = 1\n\
                 memory_mb = 16\noutput_kb = 1\n{limits}[language.pool]\nmin_idle = 0\nmax = 1\n"
            )
        };
        let c = Catalog::parse(&lang("")).unwrap();
        assert_eq!(c.languages[0].limits.idle_ms, default_idle_ms());
        let c = Catalog::parse(&lang("idle_ms = 60000\n")).unwrap();
        assert_eq!(c.languages[0].limits.idle_ms, 60_000);
    }
}
