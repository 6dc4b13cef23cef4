//! How a new snippet is checked, what is stored of it, and its id. The shapes clients see
//! (`NewSnippet`, `Snippet`, …) are the API crate's.

use super::db::StoreError;
use pool::Catalog;
use rand::distr::{Alphanumeric, SampleString};
use serde::{Deserialize, Serialize};
use warmrun_api::{
    check_code_or_files, check_files, File, Invalid, NewSnippet, SnippetOutput, MAX_CODE_BYTES,
    MAX_STDIN_BYTES,
};

/// Characters of a snippet id: base62, 12 of them (about 71 random bits).
pub const ID_LEN: usize = 12;
/// Longest title, in characters.
pub const MAX_TITLE_CHARS: usize = 200;

/// Why a snippet could not be saved or loaded.
#[derive(Debug, thiserror::Error)]
pub enum SnippetError {
    #[error("unknown language {0:?}")]
    UnknownLanguage(String),
    /// The snippet breaks a rule of the API.
    #[error("{0}")]
    Invalid(String),
    /// The snippet or a part of it is over its size limit.
    #[error("{0}")]
    TooLarge(String),
    /// Not shaped like a snippet id.
    #[error("{0:?} is not a snippet id ({ID_LEN} letters and digits)")]
    BadId(String),
    #[error("no snippet {0}")]
    NotFound(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<Invalid> for SnippetError {
    fn from(e: Invalid) -> SnippetError {
        SnippetError::Invalid(e.0)
    }
}

/// A fresh, unguessable snippet id (the thread RNG is a CSPRNG seeded by the OS).
pub fn new_id() -> String {
    Alphanumeric.sample_string(&mut rand::rng(), ID_LEN)
}

/// Whether `id` has the shape of a snippet id.
pub fn is_valid_id(id: &str) -> bool {
    id.len() == ID_LEN && id.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// The share link of a snippet (a page path of the playground).
pub fn share_url(id: &str) -> String {
    format!("/s/{id}")
}

/// What is stored as the `body` JSON column: everything but id, language and time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredBody {
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    pub files: Option<Vec<File>>,
    #[serde(default)]
    pub stdin: Option<String>,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub output: Option<SnippetOutput>,
}

/// A checked new snippet, ready to store.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidSnippet {
    /// Catalog id.
    pub language: String,
    pub body: StoredBody,
}

/// Checks a new snippet against the catalog, the API's rules for programs and the size
/// limits (`max_bytes` bounds the whole: code, stdin, title and output).
pub fn validate(
    new: NewSnippet,
    catalog: &Catalog,
    max_bytes: usize,
) -> Result<ValidSnippet, SnippetError> {
    let language = catalog
        .find(&new.language)
        .ok_or_else(|| SnippetError::UnknownLanguage(new.language.clone()))?
        .id
        .to_string();
    check_code_or_files(&new.code, &new.files)?;
    let code_bytes = match (&new.code, &new.files) {
        (Some(code), _) => code.len(),
        (None, Some(files)) => {
            check_files(files)?;
            files.iter().map(|f| f.name.len() + f.content.len()).sum()
        }
        (None, None) => 0, // refused above
    };
    if code_bytes > MAX_CODE_BYTES {
        return Err(SnippetError::TooLarge(format!(
            "code is {code_bytes} bytes; at most {MAX_CODE_BYTES} are allowed"
        )));
    }
    let stdin = new.stdin.filter(|s| !s.is_empty());
    let stdin_bytes = stdin.as_ref().map_or(0, String::len);
    if stdin_bytes > MAX_STDIN_BYTES {
        return Err(SnippetError::TooLarge(format!(
            "stdin is {stdin_bytes} bytes; at most {MAX_STDIN_BYTES} are allowed"
        )));
    }
    let title = new
        .title
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty());
    if let Some(t) = &title {
        if t.chars().count() > MAX_TITLE_CHARS {
            return Err(SnippetError::Invalid(format!(
                "the title has more than {MAX_TITLE_CHARS} characters"
            )));
        }
        if t.chars().any(char::is_control) {
            return Err(SnippetError::Invalid(
                "the title must not contain control characters".into(),
            ));
        }
    }
    let total = code_bytes
        + stdin_bytes
        + title.as_ref().map_or(0, String::len)
        + new.output.as_ref().map_or(0, |o| {
            o.stdout.len() + o.stderr.len() + o.verdict.as_str().len()
        });
    if total > max_bytes {
        return Err(SnippetError::TooLarge(format!(
            "the snippet is {total} bytes; at most {max_bytes} are allowed"
        )));
    }
    Ok(ValidSnippet {
        language,
        body: StoredBody {
            code: new.code,
            files: new.files,
            stdin,
            title,
            output: new.output,
        },
    })
}

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// The UTC day (days since the epoch) of a time in milliseconds.
pub fn utc_day(ms: i64) -> i64 {
    ms.div_euclid(86_400_000)
}

/// (year, month, day) of a day since the epoch (proleptic Gregorian; H. Hinnant's
/// `civil_from_days`).
pub(crate) fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// `YYYY-MM-DD` of a UTC day.
pub fn format_day(day: i64) -> String {
    let (y, m, d) = civil_from_days(day);
    format!("{y:04}-{m:02}-{d:02}")
}

/// RFC 3339 in UTC with milliseconds, e.g. `2025-11-22T09:15:02.123Z`.
pub fn format_rfc3339(ms: i64) -> String {
    let day = utc_day(ms);
    let in_day = ms - day * 86_400_000;
    let (h, rest) = (in_day / 3_600_000, in_day % 3_600_000);
    let (min, rest) = (rest / 60_000, rest % 60_000);
    let (s, milli) = (rest / 1000, rest % 1000);
    format!("{}T{h:02}:{min:02}:{s:02}.{milli:03}Z", format_day(day))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalog() -> Catalog {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        Catalog::load(&root.join("images/languages.toml")).unwrap()
    }

    fn new(v: serde_json::Value) -> Result<NewSnippet, serde_json::Error> {
        serde_json::from_value(v)
    }

    #[test]
    fn ids_are_base62_and_distinct() {
        let a = new_id();
        let b = new_id();
        assert!(is_valid_id(&a) && is_valid_id(&b), "{a} {b}");
        assert_ne!(a, b);
        assert!(!is_valid_id("short"));
        assert!(!is_valid_id("abcdefghijk!"));
        assert!(!is_valid_id("abcdefghijklm"));
    }

    #[test]
    fn times_format_as_utc() {
        assert_eq!(format_rfc3339(0), "1970-01-01T00:00:00.000Z");
        // 2000-02-29T12:34:56.789Z
        assert_eq!(format_rfc3339(951_827_696_789), "2000-02-29T12:34:56.789Z");
        // 2024-12-31T23:59:59.999Z
        assert_eq!(
            format_rfc3339(1_735_689_599_999),
            "2024-12-31T23:59:59.999Z"
        );
        assert_eq!(format_day(utc_day(1_735_689_600_000)), "2025-01-01");
        assert_eq!(format_day(-1), "1969-12-31");
    }

    #[test]
    fn validation_resolves_aliases_and_checks_sizes() {
        let cat = catalog();
        let check = |v: serde_json::Value, max: usize| validate(new(v).unwrap(), &cat, max);
        let alias = cat
            .languages
            .iter()
            .find_map(|l| l.aliases.first().map(|a| (a.clone(), l.id.to_string())));
        if let Some((alias, id)) = alias {
            let v = check(serde_json::json!({"language": alias, "code": "x"}), 1 << 20).unwrap();
            assert_eq!(v.language, id);
        }
        let e = check(
            serde_json::json!({"language": "cobol-77", "code": "x"}),
            1 << 20,
        );
        assert!(matches!(e, Err(SnippetError::UnknownLanguage(_))), "{e:?}");
        let e = check(
            serde_json::json!({"language": "python", "code": "x".repeat(100)}),
            50,
        );
        assert!(matches!(e, Err(SnippetError::TooLarge(_))), "{e:?}");
        let e = check(
            serde_json::json!({"language": "python", "code": "x", "files": []}),
            1 << 20,
        );
        assert!(matches!(e, Err(SnippetError::Invalid(_))), "{e:?}");
        let e = check(
            serde_json::json!({"language": "python",
            "files": [{"name": "a.py", "content": ""}, {"name": "../b.py", "content": ""}]}),
            1 << 20,
        );
        assert!(matches!(e, Err(SnippetError::Invalid(_))), "{e:?}");
        // Not a verdict: refused when the body is read (see api::snippets).
        assert!(new(serde_json::json!({"language": "python", "code": "x",
            "output": {"verdict": "great", "stdout": ""}}))
        .is_err());
        assert!(new(serde_json::json!({"language": "python", "code": "x", "extra": 1})).is_err());
        let v = check(
            serde_json::json!({"language": "python", "code": "x", "title": "  hi  ",
            "stdin": "", "output": {"verdict": "ok", "stdout": "1\n"}}),
            1 << 20,
        )
        .unwrap();
        assert_eq!(v.body.title.as_deref(), Some("hi"));
        assert_eq!(v.body.stdin, None);
    }
}
