//! What a snippet is on the wire and in the database, how a new one is checked, and its id.

use crate::error::ApiError;
use axum::http::StatusCode;
use pool::run::{MAX_CODE_BYTES, MAX_FILES, MAX_STDIN_BYTES};
use pool::{Catalog, File, Verdict};
use rand::distr::{Alphanumeric, SampleString};
use serde::{Deserialize, Serialize};

/// Characters of a snippet id: base62, 12 of them (about 71 random bits).
pub const ID_LEN: usize = 12;
/// Longest title, in characters.
pub const MAX_TITLE_CHARS: usize = 200;

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

/// The body of `POST /api/v1/snippets`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewSnippet {
    /// Language id or alias (stored as the catalog id).
    pub language: String,
    /// The program as one file; exactly one of `code` and `files`.
    #[serde(default)]
    pub code: Option<String>,
    /// The program as files; the first is the main file.
    #[serde(default)]
    pub files: Option<Vec<File>>,
    #[serde(default)]
    pub stdin: Option<String>,
    #[serde(default)]
    pub title: Option<String>,
    /// The last run's output, if the client wants it kept.
    #[serde(default)]
    pub output: Option<SnippetOutput>,
}

/// A run's output kept with a snippet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SnippetOutput {
    /// One of the API's verdicts (`ok`, `runtime_error`, …).
    pub verdict: String,
    #[serde(default)]
    pub stdout: String,
    #[serde(default)]
    pub stderr: String,
    #[serde(default)]
    pub exit_code: Option<i32>,
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

/// `GET /api/v1/snippets/{id}`: a snippet as saved. `code` and `files` come back as they
/// were sent (one of them is null); absent optional parts are null.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snippet {
    pub id: String,
    /// The share link, `/s/{id}`.
    pub url: String,
    pub language: String,
    pub code: Option<String>,
    pub files: Option<Vec<File>>,
    pub stdin: Option<String>,
    pub title: Option<String>,
    pub output: Option<SnippetOutput>,
    /// RFC 3339, UTC, e.g. `2025-11-22T09:15:02.123Z`.
    pub created_at: String,
}

/// `201` answer of `POST /api/v1/snippets`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Created {
    pub id: String,
    /// The share link, `/s/{id}`.
    pub url: String,
}

fn too_large(message: String) -> ApiError {
    ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "too_large", message)
}

impl NewSnippet {
    /// Checks the snippet against the catalog and the size limits: unknown languages are
    /// 400 `unknown_language`, malformed parts 400 `bad_request`, anything too big 413
    /// `too_large` (`max_bytes` bounds the whole: code, stdin, title and output).
    pub fn validate(self, catalog: &Catalog, max_bytes: usize) -> Result<ValidSnippet, ApiError> {
        let language = catalog
            .find(&self.language)
            .ok_or_else(|| ApiError::from(pool::PoolError::UnknownLanguage(self.language.clone())))?
            .id
            .to_string();
        crate::wire::check_code_or_files(&self.code, &self.files)?;
        let code_bytes = match (&self.code, &self.files) {
            (Some(code), _) => code.len(),
            (None, Some(files)) => {
                check_files(files)?;
                files.iter().map(|f| f.name.len() + f.content.len()).sum()
            }
            (None, None) => 0, // refused above
        };
        if code_bytes > MAX_CODE_BYTES {
            return Err(too_large(format!(
                "code is {code_bytes} bytes; at most {MAX_CODE_BYTES} are allowed"
            )));
        }
        let stdin = self.stdin.filter(|s| !s.is_empty());
        let stdin_bytes = stdin.as_ref().map_or(0, String::len);
        if stdin_bytes > MAX_STDIN_BYTES {
            return Err(too_large(format!(
                "stdin is {stdin_bytes} bytes; at most {MAX_STDIN_BYTES} are allowed"
            )));
        }
        let title = self
            .title
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty());
        if let Some(t) = &title {
            if t.chars().count() > MAX_TITLE_CHARS {
                return Err(ApiError::bad_request(format!(
                    "the title has more than {MAX_TITLE_CHARS} characters"
                )));
            }
            if t.chars().any(char::is_control) {
                return Err(ApiError::bad_request(
                    "the title must not contain control characters",
                ));
            }
        }
        if let Some(o) = &self.output {
            if !Verdict::ALL.iter().any(|v| v.as_str() == o.verdict) {
                return Err(ApiError::bad_request(format!(
                    "output.verdict {:?} is not a verdict",
                    o.verdict
                )));
            }
        }
        let total = code_bytes
            + stdin_bytes
            + title.as_ref().map_or(0, String::len)
            + self
                .output
                .as_ref()
                .map_or(0, |o| o.stdout.len() + o.stderr.len() + o.verdict.len());
        if total > max_bytes {
            return Err(too_large(format!(
                "the snippet is {total} bytes; at most {max_bytes} are allowed"
            )));
        }
        Ok(ValidSnippet {
            language,
            body: StoredBody {
                code: self.code,
                files: self.files,
                stdin,
                title,
                output: self.output,
            },
        })
    }
}

/// File names as the engine accepts them (relative, no `.`/`..`, no duplicates; only the
/// first may be unnamed, meaning the language's file name).
fn check_files(files: &[File]) -> Result<(), ApiError> {
    if files.is_empty() {
        return Err(ApiError::bad_request("files must not be empty"));
    }
    if files.len() > MAX_FILES {
        return Err(ApiError::bad_request(format!(
            "{} files given; at most {MAX_FILES} are allowed",
            files.len()
        )));
    }
    for (i, f) in files.iter().enumerate() {
        let n = &f.name;
        let ok = (n.is_empty() && i == 0)
            || (n.len() <= 255
                && !n.starts_with('/')
                && !n.contains('\0')
                && n.split('/').all(|c| !c.is_empty() && c != "." && c != ".."));
        if !ok {
            return Err(ApiError::bad_request(format!("invalid file name {n:?}")));
        }
        if files[..i].iter().any(|g| g.name == *n) {
            return Err(ApiError::bad_request(format!(
                "file name {n:?} given twice"
            )));
        }
    }
    Ok(())
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
fn civil_from_days(days: i64) -> (i64, u32, u32) {
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
        let alias = cat
            .languages
            .iter()
            .find_map(|l| l.aliases.first().map(|a| (a.clone(), l.id.to_string())));
        if let Some((alias, id)) = alias {
            let v = new(serde_json::json!({"language": alias, "code": "x"}))
                .unwrap()
                .validate(&cat, 1 << 20)
                .unwrap();
            assert_eq!(v.language, id);
        }
        let e = new(serde_json::json!({"language": "cobol-77", "code": "x"}))
            .unwrap()
            .validate(&cat, 1 << 20)
            .unwrap_err();
        assert_eq!((e.status.as_u16(), e.code), (400, "unknown_language"));
        let e = new(serde_json::json!({"language": "python", "code": "x".repeat(100)}))
            .unwrap()
            .validate(&cat, 50)
            .unwrap_err();
        assert_eq!((e.status.as_u16(), e.code), (413, "too_large"));
        let e = new(serde_json::json!({"language": "python", "code": "x", "files": []}))
            .unwrap()
            .validate(&cat, 1 << 20)
            .unwrap_err();
        assert_eq!(e.status.as_u16(), 400);
        let e = new(serde_json::json!({"language": "python",
            "files": [{"name": "a.py", "content": ""}, {"name": "../b.py", "content": ""}]}))
        .unwrap()
        .validate(&cat, 1 << 20)
        .unwrap_err();
        assert_eq!(e.status.as_u16(), 400);
        let e = new(serde_json::json!({"language": "python", "code": "x",
            "output": {"verdict": "great", "stdout": ""}}))
        .unwrap()
        .validate(&cat, 1 << 20)
        .unwrap_err();
        assert_eq!(e.status.as_u16(), 400);
        assert!(new(serde_json::json!({"language": "python", "code": "x", "extra": 1})).is_err());
        let v = new(
            serde_json::json!({"language": "python", "code": "x", "title": "  hi  ",
            "stdin": "", "output": {"verdict": "ok", "stdout": "1\n"}}),
        )
        .unwrap()
        .validate(&cat, 1 << 20)
        .unwrap();
        assert_eq!(v.body.title.as_deref(), Some("hi"));
        assert_eq!(v.body.stdin, None);
    }
}
