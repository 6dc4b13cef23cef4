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
    /// The engine may reuse a byte-identical earlier compile (see `compile_cache.rs`): set
    /// where the compile step's whole product is the files it leaves in the workspace.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub compile_cache: bool,
    pub run: Vec<String>,
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    #[serde(default)]
    pub aliases: Vec<String>,
    /// Set on an older version of a language kept beside its newest: the id of the
    /// newest's entry (`python-3.11` has `version_of = "python"`). Runs pick it by that
    /// language and a `version`, see [`Catalog::resolve`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_of: Option<LanguageId>,
    /// An interpreter the agent keeps started between runs (`"python"`), so a run skips
    /// its start-up.
    #[serde(default)]
    pub zygote: Option<agent::ZygoteKind>,
    /// The formatter: a command that reads the source on stdin and writes it formatted on
    /// stdout (`["black", "-q", "-"]`); it runs in a container of this language like a run.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub format: Vec<String>,
    /// Formats with another language's `format`, in that language's containers (`c` uses
    /// `c-clang`'s clang-format rather than carry LLVM in the gcc image). Ignored when that
    /// language is not in the catalog, see [`Catalog::formatter`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format_in: Option<LanguageId>,
    /// Programs to start from, in menu order; the first (`hello`: prompts for a name and
    /// greets it) is the one shown at start, see [`Language::example`].
    #[serde(default)]
    pub examples: Vec<Example>,
    /// An older catalog's single example program: [`Catalog::parse`] turns it into the
    /// `hello` example (a catalog sets this or `examples`, not both), so it is always
    /// empty after parsing and never written back.
    #[serde(default, rename = "example", skip_serializing)]
    pub legacy_example: String,
    pub limits: Limits,
    pub pool: PoolSize,
}

/// Whether `have` (`3.11.2`) is the version `want` asks for: the same, or `want` is a
/// leading part of it ending at a dot (`3`, `3.11`).
fn version_matches_prefix(have: &str, want: &str) -> bool {
    let want = want.trim_start_matches('v');
    have == want
        || have
            .strip_prefix(want)
            .is_some_and(|rest| rest.starts_with('.'))
}

/// A named program of a language's catalog entry, for people to start from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Example {
    /// Unique within its language, e.g. `hello`, `loop-and-function`.
    pub id: String,
    /// The label people choose it by, e.g. `A loop and a function`.
    pub name: String,
    pub code: String,
    /// Not offered by the language's older versions (it needs what only the newest's image
    /// has: matplotlib is in the python image, not in python-3.11's).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub newest_only: bool,
}

impl Language {
    /// The id of the language this entry is a version of (its own id for the newest).
    pub fn family(&self) -> &str {
        self.version_of.as_ref().unwrap_or(&self.id).as_str()
    }

    /// The program shown at start: the first example's code (empty when there is none).
    pub fn example(&self) -> &str {
        self.examples.first().map_or("", |e| e.code.as_str())
    }

    /// Folds an older catalog's `example` into `examples` and checks the examples: ids
    /// non-empty and unique, names and code non-empty.
    fn settle_examples(&mut self) -> Result<(), PoolError> {
        let id = &self.id;
        let legacy = std::mem::take(&mut self.legacy_example);
        if !legacy.is_empty() {
            if !self.examples.is_empty() {
                return Err(PoolError::Config(format!(
                    "catalog: {id} sets both `example` and `examples`; keep the program in \
                     one place (`[[language.examples]]`)"
                )));
            }
            self.examples.push(Example {
                id: "hello".into(),
                name: "Hello".into(),
                code: legacy,
                newest_only: false,
            });
        }
        let mut seen = std::collections::HashSet::new();
        for e in &self.examples {
            if e.id.trim().is_empty() {
                return Err(PoolError::Config(format!(
                    "catalog: {id} has an example without an id"
                )));
            }
            if !seen.insert(e.id.as_str()) {
                return Err(PoolError::Config(format!(
                    "catalog: {id} has two examples with id {:?}",
                    e.id
                )));
            }
            if e.name.trim().is_empty() || e.code.trim().is_empty() {
                return Err(PoolError::Config(format!(
                    "catalog: {id} example {:?} needs a name and code",
                    e.id
                )));
            }
        }
        Ok(())
    }
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
        let mut catalog: Catalog =
            toml::from_str(text).map_err(|e| PoolError::Config(format!("catalog: {e}")))?;
        for lang in &mut catalog.languages {
            lang.settle_examples()?;
        }
        let mut seen = std::collections::HashSet::new();
        for lang in &catalog.languages {
            let id = lang.id.as_str();
            if id.is_empty()
                || !id
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_+-.".contains(&b))
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
            if let Some(newest) = &lang.version_of {
                let ok = catalog
                    .languages
                    .iter()
                    .any(|l| l.id == *newest && l.version_of.is_none());
                if !ok {
                    return Err(PoolError::Config(format!(
                        "catalog: {id} has version_of = {newest:?}, which is not a language \
                         without version_of"
                    )));
                }
            }
            if lang.format.first().is_some_and(|c| c.trim().is_empty()) {
                return Err(PoolError::Config(format!(
                    "catalog: {id} has a format command without a program"
                )));
            }
            if !lang.format.is_empty() && lang.format_in.is_some() {
                return Err(PoolError::Config(format!(
                    "catalog: {id} sets both `format` and `format_in`"
                )));
            }
            if lang.pool.max == 0 || lang.pool.min_idle > lang.pool.max {
                return Err(PoolError::Config(format!(
                    "catalog: {id} needs 0 <= min_idle <= max and max >= 1"
                )));
            }
        }
        // An older version without examples of its own offers its newest's (but those only
        // the newest can run).
        let inherited: Vec<(usize, Vec<Example>)> = catalog
            .languages
            .iter()
            .enumerate()
            .filter(|(_, l)| l.examples.is_empty())
            .filter_map(|(i, l)| {
                let newest = l.version_of.as_ref()?;
                let newest = catalog.languages.iter().find(|n| n.id == *newest)?;
                let offered = newest.examples.iter().filter(|e| !e.newest_only);
                Some((i, offered.cloned().collect()))
            })
            .collect();
        for (i, examples) in inherited {
            catalog.languages[i].examples = examples;
        }
        Ok(catalog)
    }

    /// Every version of the language `name` (an id or alias of any of them) has, the newest
    /// (the entry the others are `version_of`) first, then the others in catalog order.
    pub fn versions(&self, name: &str) -> Vec<&Language> {
        self.find(name)
            .map_or_else(Vec::new, |lang| self.family_members(lang.family()))
    }

    /// The entries of the language `family`, the newest first.
    fn family_members(&self, family: &str) -> Vec<&Language> {
        let mut all: Vec<&Language> = self
            .languages
            .iter()
            .filter(|l| l.family() == family)
            .collect();
        all.sort_by_key(|l| l.version_of.is_some());
        all
    }

    /// The entry a run of `name` at `version` uses: without a version (or `latest`), the
    /// entry `name` names; with one, the first of [`Catalog::versions`] whose version is
    /// it or starts with it at a dot (`3.11` finds `3.11.2`).
    pub fn resolve(&self, name: &str, version: Option<&str>) -> Result<&Language, PoolError> {
        let lang = self
            .find(name)
            .ok_or_else(|| PoolError::UnknownLanguage(name.to_string()))?;
        let version = match version.map(str::trim) {
            None | Some("") | Some("latest") => return Ok(lang),
            Some(v) => v,
        };
        let versions = self.family_members(lang.family());
        versions
            .iter()
            .find(|l| version_matches_prefix(&l.version, version))
            .copied()
            .ok_or_else(|| PoolError::UnknownVersion {
                language: lang.family().to_string(),
                version: version.to_string(),
                available: versions.iter().map(|l| l.version.clone()).collect(),
            })
    }

    /// The entry whose `format` command formats `lang`'s code, in whose containers it runs:
    /// `lang` itself if it has one, else its `format_in` language, else (an older version)
    /// its newest version's formatter. `None`: the language has no formatter.
    pub fn formatter<'a>(&'a self, lang: &'a Language) -> Option<&'a Language> {
        if !lang.format.is_empty() {
            return Some(lang);
        }
        let by_id = |id: &LanguageId| self.languages.iter().find(|l| l.id == *id);
        if let Some(other) = lang.format_in.as_ref().and_then(by_id) {
            return (!other.format.is_empty()).then_some(other);
        }
        let newest = lang.version_of.as_ref().and_then(by_id)?;
        self.formatter(newest)
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
    fn versions_resolve_by_language_and_version() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../images/languages.toml");
        let catalog = Catalog::load(&path).unwrap();
        let newest = catalog.resolve("python", None).unwrap();
        assert_eq!(newest.id.as_str(), "python");
        assert_eq!(catalog.resolve("py", Some("latest")).unwrap().id, newest.id);
        let old = catalog.resolve("python", Some("3.11")).unwrap();
        assert_eq!(old.id.as_str(), "python-3.11");
        assert_eq!(old.family(), "python");
        assert_eq!(
            catalog.resolve("py", Some("3")).unwrap().id,
            newest.id,
            "newest first"
        );
        assert_eq!(
            catalog.resolve("python-3.11", None).unwrap().id,
            old.id,
            "an older version by its own id"
        );
        assert_eq!(
            catalog.resolve("java", Some("17")).unwrap().id.as_str(),
            "java-17"
        );
        let offered: Vec<&Example> = newest.examples.iter().filter(|e| !e.newest_only).collect();
        assert!(
            offered.len() < newest.examples.len(),
            "python's plot is newest_only"
        );
        assert_eq!(
            old.examples.iter().collect::<Vec<_>>(),
            offered,
            "the newest's examples but those only it can run"
        );
        let e = catalog.resolve("python", Some("3.1")).unwrap_err();
        assert!(
            matches!(&e, PoolError::UnknownVersion { available, .. } if available.len() == 2),
            "{e}"
        );
        assert!(matches!(
            catalog.resolve("cobol-85", None),
            Err(PoolError::UnknownLanguage(_))
        ));
        let versions: Vec<&str> = catalog
            .versions("java17")
            .iter()
            .map(|l| l.id.as_str())
            .collect();
        assert_eq!(versions, ["java", "java-17"]);
    }

    #[test]
    fn version_of_must_name_a_newest_version() {
        let lang = |id: &str, extra: &str| {
            format!(
                "[[language]]\nid = \"{id}\"\nname = \"x\"\nversion = \"1\"\nimage = \"i\"\n\
                 file = \"f\"\nrun = [\"r\"]\n{extra}[language.limits]\nwall_ms = 1\ncpu_ms = 1\n\
                 memory_mb = 16\noutput_kb = 1\n[language.pool]\nmin_idle = 0\nmax = 1\n"
            )
        };
        let ok = lang("a", "") + &lang("a-0", "version_of = \"a\"\n");
        assert!(Catalog::parse(&ok).is_ok());
        let dangling = lang("a", "") + &lang("a-0", "version_of = \"b\"\n");
        assert!(Catalog::parse(&dangling).is_err());
        let chained = lang("a", "")
            + &lang("a-1", "version_of = \"a\"\n")
            + &lang("a-0", "version_of = \"a-1\"\n");
        assert!(Catalog::parse(&chained).is_err());
    }

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

    /// A language table with `extra` keys and tables after its own keys.
    fn language_with(extra: &str) -> String {
        format!(
            "[[language]]\nid = \"x\"\nname = \"X\"\nversion = \"1\"\nimage = \"i\"\n\
             file = \"m\"\nrun = [\"m\"]\n{extra}\n[language.limits]\nwall_ms = 1\n\
             cpu_ms = 1\nmemory_mb = 16\noutput_kb = 1\n[language.pool]\nmin_idle = 0\nmax = 1\n"
        )
    }

    fn example(id: &str) -> String {
        format!(
            "[[language.examples]]\nid = \"{id}\"\nname = \"N {id}\"\ncode = 'print(\"{id}\")'\n"
        )
    }

    /// Examples keep their order; the first is the start program; ids must be unique and
    /// non-empty; the old single `example` becomes `hello`, but not beside `examples`.
    #[test]
    fn examples_are_checked() {
        let c = Catalog::parse(&language_with(&(example("hello") + &example("loop")))).unwrap();
        let ids: Vec<&str> = c.languages[0]
            .examples
            .iter()
            .map(|e| e.id.as_str())
            .collect();
        assert_eq!(ids, ["hello", "loop"]);
        assert_eq!(c.languages[0].example(), "print(\"hello\")");

        let dup = Catalog::parse(&language_with(&(example("a") + &example("a")))).unwrap_err();
        assert!(
            dup.to_string().contains("two examples with id \"a\""),
            "{dup}"
        );
        let empty = Catalog::parse(&language_with(&example(""))).unwrap_err();
        assert!(empty.to_string().contains("without an id"), "{empty}");
        let unknown = language_with(
            "[[language.examples]]\nid = \"a\"\nname = \"A\"\ncode = \"x\"\nlang = \"y\"\n",
        );
        assert!(Catalog::parse(&unknown).is_err());

        let old = Catalog::parse(&language_with("example = \"print(1)\"")).unwrap();
        assert_eq!(old.languages[0].example(), "print(1)");
        assert_eq!(old.languages[0].examples[0].id, "hello");
        assert!(old.languages[0].legacy_example.is_empty());
        let both = language_with(&format!("example = \"print(1)\"\n{}", example("hello")));
        assert!(Catalog::parse(&both)
            .unwrap_err()
            .to_string()
            .contains("both"));

        let none = Catalog::parse(&language_with("")).unwrap();
        assert_eq!(none.languages[0].example(), "");
    }

    /// The repository's catalog: every language has at least four examples, `hello` first,
    /// and written back (as tests and scripts cut the catalog down) it parses the same.
    #[test]
    fn repo_examples_round_trip() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../images/languages.toml");
        let catalog = Catalog::load(&path).unwrap();
        for lang in &catalog.languages {
            assert!(lang.examples.len() >= 4, "{}: {:?}", lang.id, lang.examples);
            assert_eq!(lang.examples[0].id, "hello", "{}", lang.id);
            for e in &lang.examples {
                assert!(e.code.lines().count() <= 30, "{} {} is long", lang.id, e.id);
            }
        }
        let again = Catalog::parse(&toml::to_string(&catalog).unwrap()).unwrap();
        assert_eq!(again, catalog);
    }

    /// Formatters: a language's own, another's by `format_in` (none when that one is not in
    /// the catalog), and an older version's newest's.
    #[test]
    fn formatters_resolve() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../images/languages.toml");
        let mut catalog = Catalog::load(&path).unwrap();
        let by = |c: &Catalog, id: &str| {
            let lang = c.find(id).unwrap();
            c.formatter(lang).map(|f| f.id.to_string())
        };
        assert_eq!(by(&catalog, "python").as_deref(), Some("python"));
        assert_eq!(by(&catalog, "python-3.11").as_deref(), Some("python"));
        assert_eq!(by(&catalog, "c").as_deref(), Some("c-clang"));
        assert_eq!(by(&catalog, "cpp").as_deref(), Some("cpp-clang"));
        assert_eq!(by(&catalog, "java"), None);
        catalog.languages.retain(|l| l.id.as_str() != "c-clang");
        assert_eq!(
            by(&catalog, "c"),
            None,
            "format_in a language that is not there"
        );
        let both = language_with("format = [\"f\"]\nformat_in = \"y\"");
        assert!(Catalog::parse(&both).is_err());
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
