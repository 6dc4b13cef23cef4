//! The server's API as the browser sees it: the language catalog
//! (`GET /api/v1/languages`), the WebSocket frames of `GET /api/v1/ws`, snippets
//! (`POST /api/v1/snippets`, `GET /api/v1/snippets/{id}`) and run statistics
//! (`GET /api/v1/stats`). Plain data and pure functions, so they are tested on the host.

use serde::{Deserialize, Serialize};

/// One language of the catalog (`GET /api/v1/languages`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct Language {
    /// Catalog id, e.g. `python`; what `run` frames name.
    pub id: String,
    /// Display name, e.g. `Python 3`.
    pub name: String,
    /// Compiler or interpreter version.
    #[serde(default)]
    pub version: String,
    /// File name the code is saved as, e.g. `main.py`.
    #[serde(default)]
    pub file: String,
    /// A small program that prints a prompt and reads a name from stdin.
    #[serde(default)]
    pub example: String,
}

/// Limits a run may lower (the server clamps them to its own maximums).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Limits {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wall_ms: Option<u64>,
}

/// A frame the browser sends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMsg {
    Run {
        language: String,
        code: String,
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        tty: bool,
        #[serde(skip_serializing_if = "Option::is_none")]
        cols: Option<u16>,
        #[serde(skip_serializing_if = "Option::is_none")]
        rows: Option<u16>,
    },
    Stdin {
        data: String,
    },
    Eof,
    Kill,
    Resize {
        cols: u16,
        rows: u16,
    },
}

impl ClientMsg {
    /// The JSON text frame.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("client frames always serialize")
    }
}

/// The compile step of a compiled language (sent before `started`/`exit`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct CompileInfo {
    pub verdict: String,
    #[serde(default)]
    pub exit_code: Option<i32>,
    #[serde(default)]
    pub signal: Option<i32>,
    #[serde(default)]
    pub wall_ms: u64,
    #[serde(default)]
    pub stdout: String,
    #[serde(default)]
    pub stderr: String,
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ExitInfo {
    /// ok, runtime_error, compile_error, time_limit, cpu_limit, memory_limit,
    /// output_limit, killed or internal_error.
    pub verdict: String,
    #[serde(default)]
    pub exit_code: Option<i32>,
    #[serde(default)]
    pub signal: Option<i32>,
    #[serde(default)]
    pub wall_ms: u64,
    #[serde(default)]
    pub cpu_ms: u64,
    #[serde(default)]
    pub memory_kb: u64,
    #[serde(default)]
    pub truncated: bool,
    /// warm, cold or queued.
    #[serde(default)]
    pub lease: String,
    #[serde(default)]
    pub total_ms: u64,
}

/// A frame the server sends.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMsg {
    Queued {
        position: u32,
    },
    Compile(CompileInfo),
    Started,
    Stdout {
        data: String,
    },
    Stderr {
        data: String,
    },
    Exit(ExitInfo),
    Error {
        code: String,
        #[serde(default)]
        message: String,
    },
    /// A frame type this client does not know (ignored).
    #[serde(other)]
    Unknown,
}

impl ServerMsg {
    /// Parses a text frame; `None` when it is not a frame at all.
    pub fn parse(text: &str) -> Option<ServerMsg> {
        serde_json::from_str(text).ok()
    }
}

/// How a verdict is shown: `ok`, `bad` (the program failed) or `limit` (a limit hit).
pub fn verdict_class(verdict: &str) -> &'static str {
    match verdict {
        "ok" => "ok",
        "time_limit" | "cpu_limit" | "memory_limit" | "output_limit" | "killed" => "limit",
        _ => "bad",
    }
}

/// A verdict in words, e.g. `time_limit` → `Time limit exceeded`.
pub fn verdict_label(verdict: &str) -> String {
    match verdict {
        "ok" => "OK".into(),
        "runtime_error" => "Runtime error".into(),
        "compile_error" => "Compile error".into(),
        "time_limit" => "Time limit exceeded".into(),
        "cpu_limit" => "CPU limit exceeded".into(),
        "memory_limit" => "Memory limit exceeded".into(),
        "output_limit" => "Output limit exceeded".into(),
        "killed" => "Stopped".into(),
        "internal_error" => "Internal error".into(),
        other => other.replace('_', " "),
    }
}

/// Milliseconds for people: `850 ms`, `1.25 s`.
pub fn format_ms(ms: u64) -> String {
    if ms < 1000 {
        format!("{ms} ms")
    } else {
        format!("{:.2} s", ms as f64 / 1000.0)
    }
}

/// Kibibytes for people: `900 KiB`, `9.1 MiB`.
pub fn format_kb(kb: u64) -> String {
    if kb < 1024 {
        format!("{kb} KiB")
    } else {
        format!("{:.1} MiB", kb as f64 / 1024.0)
    }
}

/// The URL of an API path: `server_url` (e.g. `https://play.example.com`, no
/// trailing slash needed) or, when it is empty, the page's own origin (`origin`,
/// e.g. `http://127.0.0.1:8080`).
/// A server URL that is only a path (`/warmrun`) is taken on the page's origin.
pub fn http_url(server_url: &str, origin: &str, path: &str) -> String {
    let server_url = server_url.trim();
    let base = if server_url.is_empty() {
        origin.trim_end_matches('/').to_string()
    } else if server_url.starts_with('/') && !server_url.starts_with("//") {
        format!("{}{}", origin.trim_end_matches('/'), server_url)
    } else {
        server_url.to_string()
    };
    format!("{}{}", base.trim_end_matches('/'), path)
}

/// The WebSocket URL of the run API (`/api/v1/ws`), `ws:` or `wss:` after the
/// scheme of the server URL (or of the page's origin when it is empty).
pub fn ws_url(server_url: &str, origin: &str) -> String {
    let http = http_url(server_url, origin, "/api/v1/ws");
    if let Some(rest) = http.strip_prefix("https://") {
        format!("wss://{rest}")
    } else if let Some(rest) = http.strip_prefix("http://") {
        format!("ws://{rest}")
    } else if http.starts_with("ws://") || http.starts_with("wss://") {
        http
    } else if let Some(rest) = http.strip_prefix("//") {
        // scheme-relative: as secure as the page
        let scheme = if origin.starts_with("https:") {
            "wss"
        } else {
            "ws"
        };
        format!("{scheme}://{rest}")
    } else {
        http
    }
}

/// Picks the language to show: the wanted id (or an alias-free match by name),
/// else python, else the first in the catalog.
pub fn pick_language<'a>(languages: &'a [Language], wanted: Option<&str>) -> Option<&'a Language> {
    let wanted = wanted.map(str::to_ascii_lowercase);
    wanted
        .as_deref()
        .and_then(|w| {
            languages
                .iter()
                .find(|l| l.id == w)
                .or_else(|| languages.iter().find(|l| l.name.to_ascii_lowercase() == w))
        })
        .or_else(|| languages.iter().find(|l| l.id == "python"))
        .or_else(|| languages.first())
}

/// A run's output kept with a snippet (`output` of a snippet).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnippetOutput {
    /// One of the verdicts (`ok`, `runtime_error`, …).
    pub verdict: String,
    #[serde(default)]
    pub stdout: String,
    #[serde(default)]
    pub stderr: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
}

/// The body of `POST /api/v1/snippets` (the server refuses unknown fields).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewSnippet {
    pub language: String,
    pub code: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stdin: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output: Option<SnippetOutput>,
}

impl NewSnippet {
    /// The JSON body.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("snippets always serialize")
    }
}

/// `201` answer of `POST /api/v1/snippets`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Created {
    pub id: String,
    /// The share link's path, `/s/{id}`.
    pub url: String,
}

/// One file of a multi-file snippet.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SnippetFile {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub content: String,
}

/// `GET /api/v1/snippets/{id}`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Snippet {
    pub id: String,
    #[serde(default)]
    pub url: String,
    pub language: String,
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    pub files: Option<Vec<SnippetFile>>,
    #[serde(default)]
    pub stdin: Option<String>,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub output: Option<SnippetOutput>,
    /// RFC 3339, UTC.
    #[serde(default)]
    pub created_at: String,
}

impl Snippet {
    /// The text for the editor: `code`, or the first (main) file of `files`.
    pub fn main_code(&self) -> String {
        match (&self.code, &self.files) {
            (Some(code), _) => code.clone(),
            (None, Some(files)) => files.first().map(|f| f.content.clone()).unwrap_or_default(),
            (None, None) => String::new(),
        }
    }

    /// Files beyond the main one (the playground edits and runs one file).
    pub fn extra_files(&self) -> usize {
        match (&self.code, &self.files) {
            (None, Some(files)) => files.len().saturating_sub(1),
            _ => 0,
        }
    }
}

/// `{"error": {"code", "message"}}`, the body of every API error.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
struct ErrorDetail {
    #[serde(default)]
    code: String,
    #[serde(default)]
    message: String,
}

/// The `code` and `message` of an API error body, if it is one.
pub fn parse_api_error(body: &str) -> Option<(String, String)> {
    serde_json::from_str::<ErrorBody>(body)
        .ok()
        .map(|b| (b.error.code, b.error.message))
}

/// What to tell the user when saving a snippet failed with HTTP `status`.
pub fn share_error_message(status: u16, body: &str) -> String {
    let (code, message) = parse_api_error(body).unwrap_or_default();
    let detail = if message.is_empty() {
        String::new()
    } else {
        format!(" ({message})")
    };
    match (status, code.as_str()) {
        (413, _) | (_, "too_large") => format!("Too large to share{detail}."),
        (429, _) | (_, "rate_limited") => {
            "Too many snippets shared just now; try again in a minute.".into()
        }
        (400, "unknown_language") => format!("This language can't be shared{detail}."),
        _ if !message.is_empty() => format!("Could not share: {message} (HTTP {status})."),
        _ => format!("Could not share (HTTP {status})."),
    }
}

/// Output kept with a shared snippet is cut to this many bytes per stream, so that a
/// chatty program does not make the snippet too large to save.
pub const MAX_KEPT_OUTPUT: usize = 64 * 1024;

/// Appends `text` to `buf`, keeping `buf` at most `max` bytes (cut on a char boundary).
pub fn push_capped(buf: &mut String, text: &str, max: usize) {
    let room = max.saturating_sub(buf.len());
    if text.len() <= room {
        buf.push_str(text);
    } else {
        let mut end = room;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        buf.push_str(&text[..end]);
    }
}

/// The last finished run: what ran and what it printed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastRun {
    pub language: String,
    pub code: String,
    pub output: SnippetOutput,
}

/// The output to keep with a snippet of `language` and `code`: the last run's, if that
/// run was of exactly this program (nothing was edited since).
pub fn output_to_share(
    last: Option<&LastRun>,
    language: &str,
    code: &str,
) -> Option<SnippetOutput> {
    last.filter(|l| l.language == language && l.code == code)
        .map(|l| l.output.clone())
}

/// `2026-11-22T09:15:02.123Z` → `2026-11-22 09:15 UTC` (anything else unchanged).
pub fn format_created(at: &str) -> String {
    let b = at.as_bytes();
    if b.len() >= 16 && b[4] == b'-' && b[10] == b'T' && b[13] == b':' {
        format!("{} {} UTC", &at[..10], &at[11..16])
    } else {
        at.to_string()
    }
}

/// Runs of one verdict. (The server's `share` fields are not read: shares are computed
/// from the counts, which keeps float parsing out of the wasm.)
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct VerdictRuns {
    pub verdict: String,
    pub runs: u64,
}

/// Runs of one language.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct LanguageRuns {
    pub language: String,
    pub runs: u64,
}

/// `GET /api/v1/stats` (the parts the footer shows).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Stats {
    pub total_runs: u64,
    #[serde(default)]
    pub days: Option<u32>,
    #[serde(default)]
    pub since: Option<String>,
    /// Most frequent first.
    #[serde(default)]
    pub verdicts: Vec<VerdictRuns>,
    /// Most frequent first.
    #[serde(default)]
    pub languages: Vec<LanguageRuns>,
}

/// `1234567` → `1,234,567`.
pub fn format_count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A share (0..1) as a whole percentage; `<1%` for small non-zero shares.
pub fn format_share(share: f64) -> String {
    let pct = (share * 100.0).round();
    if pct < 1.0 && share > 0.0 {
        "<1%".into()
    } else {
        format!("{pct:.0}%")
    }
}

impl Stats {
    /// `runs` as a share (0..1) of all runs.
    fn share(&self, runs: u64) -> f64 {
        if self.total_runs == 0 {
            0.0
        } else {
            runs as f64 / self.total_runs as f64
        }
    }

    /// One line for the page footer, e.g. `1,234 runs · 92% ok · top: python 60%`.
    pub fn summary(&self) -> String {
        if self.total_runs == 0 {
            return "No runs yet".into();
        }
        let mut parts = vec![format!(
            "{} run{}",
            format_count(self.total_runs),
            if self.total_runs == 1 { "" } else { "s" }
        )];
        let ok = self
            .verdicts
            .iter()
            .find(|v| v.verdict == "ok")
            .map_or(0, |v| v.runs);
        parts.push(format!("{} ok", format_share(self.share(ok))));
        if let Some(top) = self.languages.iter().max_by_key(|l| l.runs) {
            parts.push(format!(
                "top: {} {}",
                top.language,
                format_share(self.share(top.runs))
            ));
        }
        parts.join(" · ")
    }

    /// A longer breakdown per language (the footer's tooltip).
    pub fn detail(&self) -> String {
        let langs: Vec<String> = self
            .languages
            .iter()
            .map(|l| {
                format!(
                    "{} {} ({} run{})",
                    l.language,
                    format_share(self.share(l.runs)),
                    format_count(l.runs),
                    if l.runs == 1 { "" } else { "s" }
                )
            })
            .collect();
        let window = match (&self.days, &self.since) {
            (Some(d), _) => format!("last {d} days"),
            (None, Some(since)) => format!("since {since}"),
            (None, None) => "all time".into(),
        };
        if langs.is_empty() {
            format!("Finished runs, {window}")
        } else {
            format!("Finished runs, {window}: {}", langs.join(" · "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_frame_matches_the_server() {
        let run = ClientMsg::Run {
            language: "python".into(),
            code: "print(1)".into(),
            tty: false,
            cols: Some(80),
            rows: Some(24),
        };
        assert_eq!(
            run.to_json(),
            r#"{"type":"run","language":"python","code":"print(1)","cols":80,"rows":24}"#
        );
        let tty = ClientMsg::Run {
            language: "c".into(),
            code: String::new(),
            tty: true,
            cols: None,
            rows: None,
        };
        assert_eq!(
            tty.to_json(),
            r#"{"type":"run","language":"c","code":"","tty":true}"#
        );
        assert_eq!(ClientMsg::Eof.to_json(), r#"{"type":"eof"}"#);
        assert_eq!(ClientMsg::Kill.to_json(), r#"{"type":"kill"}"#);
        assert_eq!(
            ClientMsg::Stdin {
                data: "Ada\n".into()
            }
            .to_json(),
            r#"{"type":"stdin","data":"Ada\n"}"#
        );
        assert_eq!(
            ClientMsg::Resize {
                cols: 100,
                rows: 30
            }
            .to_json(),
            r#"{"type":"resize","cols":100,"rows":30}"#
        );
    }

    #[test]
    fn server_frames_parse() {
        assert_eq!(
            ServerMsg::parse(r#"{"type":"queued","position":2}"#),
            Some(ServerMsg::Queued { position: 2 })
        );
        assert_eq!(
            ServerMsg::parse(r#"{"type":"started"}"#),
            Some(ServerMsg::Started)
        );
        assert_eq!(
            ServerMsg::parse(r#"{"type":"stderr","data":"x"}"#),
            Some(ServerMsg::Stderr { data: "x".into() })
        );
        let exit = ServerMsg::parse(
            r#"{"type":"exit","verdict":"ok","exit_code":0,"signal":null,"wall_ms":12,"cpu_ms":10,"memory_kb":9000,"truncated":false,"lease":"warm","total_ms":15}"#,
        );
        match exit {
            Some(ServerMsg::Exit(e)) => {
                assert_eq!(e.verdict, "ok");
                assert_eq!(e.exit_code, Some(0));
                assert_eq!(e.memory_kb, 9000);
                assert_eq!(e.lease, "warm");
            }
            other => panic!("{other:?}"),
        }
        let compile = ServerMsg::parse(
            r#"{"type":"compile","verdict":"compile_error","exit_code":1,"signal":null,"wall_ms":123,"stdout":"","stderr":"main.c:1: error"}"#,
        );
        assert!(matches!(compile, Some(ServerMsg::Compile(c)) if c.stderr == "main.c:1: error"));
        assert_eq!(
            ServerMsg::parse(r#"{"type":"error","code":"queue_full","message":"busy"}"#),
            Some(ServerMsg::Error {
                code: "queue_full".into(),
                message: "busy".into()
            })
        );
        assert_eq!(
            ServerMsg::parse(r#"{"type":"future_thing","x":1}"#),
            Some(ServerMsg::Unknown)
        );
        assert_eq!(ServerMsg::parse("not json"), None);
    }

    #[test]
    fn urls() {
        assert_eq!(
            ws_url("", "http://127.0.0.1:8080"),
            "ws://127.0.0.1:8080/api/v1/ws"
        );
        assert_eq!(
            ws_url("https://play.example.com/", "http://x"),
            "wss://play.example.com/api/v1/ws"
        );
        assert_eq!(
            ws_url("/warmrun", "https://example.com"),
            "wss://example.com/warmrun/api/v1/ws"
        );
        assert_eq!(
            http_url("", "http://a:1", "/api/v1/languages"),
            "http://a:1/api/v1/languages"
        );
        assert_eq!(
            http_url("/warmrun/", "http://a:1", "/api/v1/languages"),
            "http://a:1/warmrun/api/v1/languages"
        );
        assert_eq!(ws_url("//x.org", "https://y"), "wss://x.org/api/v1/ws");
    }

    #[test]
    fn formatting() {
        assert_eq!(format_ms(12), "12 ms");
        assert_eq!(format_ms(1250), "1.25 s");
        assert_eq!(format_kb(900), "900 KiB");
        assert_eq!(format_kb(9216), "9.0 MiB");
        assert_eq!(verdict_label("time_limit"), "Time limit exceeded");
        assert_eq!(verdict_class("memory_limit"), "limit");
        assert_eq!(verdict_class("runtime_error"), "bad");
    }

    #[test]
    fn language_choice() {
        let l = |id: &str| Language {
            id: id.into(),
            name: id.to_uppercase(),
            version: String::new(),
            file: String::new(),
            example: String::new(),
        };
        let cat = vec![l("c"), l("python"), l("go")];
        assert_eq!(pick_language(&cat, Some("go")).unwrap().id, "go");
        assert_eq!(pick_language(&cat, Some("GO")).unwrap().id, "go");
        assert_eq!(pick_language(&cat, Some("cobol")).unwrap().id, "python");
        assert_eq!(pick_language(&cat, None).unwrap().id, "python");
        assert_eq!(pick_language(&cat[..1], None).unwrap().id, "c");
        assert!(pick_language(&[], None).is_none());
    }

    #[test]
    fn snippet_bodies() {
        let body = NewSnippet {
            language: "python".into(),
            code: "print(1)".into(),
            stdin: None,
            title: None,
            output: Some(SnippetOutput {
                verdict: "ok".into(),
                stdout: "1\n".into(),
                stderr: String::new(),
                exit_code: Some(0),
            }),
        };
        assert_eq!(
            body.to_json(),
            r#"{"language":"python","code":"print(1)","output":{"verdict":"ok","stdout":"1\n","stderr":"","exit_code":0}}"#
        );
        let bare = NewSnippet {
            output: None,
            ..body
        };
        assert_eq!(bare.to_json(), r#"{"language":"python","code":"print(1)"}"#);

        let s: Snippet = serde_json::from_str(
            r#"{"id":"olYjEeaGrV58","url":"/s/olYjEeaGrV58","language":"python","code":"print(1)","files":null,"stdin":null,"title":null,"output":{"verdict":"ok","stdout":"1\n","stderr":"","exit_code":0},"created_at":"2026-11-22T09:15:02.123Z"}"#,
        )
        .unwrap();
        assert_eq!(s.main_code(), "print(1)");
        assert_eq!(s.extra_files(), 0);
        assert_eq!(s.output.unwrap().stdout, "1\n");
        assert_eq!(format_created(&s.created_at), "2026-11-22 09:15 UTC");

        let multi: Snippet = serde_json::from_str(
            r#"{"id":"a","url":"/s/a","language":"c","code":null,"files":[{"name":"main.c","content":"int main;"},{"name":"x.h","content":""}],"stdin":null,"title":"T","output":null,"created_at":"x"}"#,
        )
        .unwrap();
        assert_eq!(multi.main_code(), "int main;");
        assert_eq!(multi.extra_files(), 1);
        assert_eq!(format_created("x"), "x");

        let created: Created =
            serde_json::from_str(r#"{"id":"olYjEeaGrV58","url":"/s/olYjEeaGrV58"}"#).unwrap();
        assert_eq!(
            http_url("", "http://127.0.0.1:18080", &created.url),
            "http://127.0.0.1:18080/s/olYjEeaGrV58"
        );
    }

    #[test]
    fn share_errors() {
        let big = r#"{"error":{"code":"too_large","message":"code is 600000 bytes; at most 524288 are allowed"}}"#;
        assert_eq!(
            share_error_message(413, big),
            "Too large to share (code is 600000 bytes; at most 524288 are allowed)."
        );
        assert_eq!(share_error_message(413, ""), "Too large to share.");
        assert!(share_error_message(429, "{}").starts_with("Too many snippets"));
        assert_eq!(
            share_error_message(500, r#"{"error":{"code":"internal","message":"db down"}}"#),
            "Could not share: db down (HTTP 500)."
        );
        assert_eq!(
            share_error_message(502, "<html>"),
            "Could not share (HTTP 502)."
        );
        assert_eq!(
            parse_api_error(r#"{"error":{"code":"not_found","message":"no snippet x"}}"#),
            Some(("not_found".into(), "no snippet x".into()))
        );
    }

    #[test]
    fn kept_output() {
        let mut buf = String::new();
        push_capped(&mut buf, "abc", 5);
        push_capped(&mut buf, "dé€f", 5);
        assert_eq!(buf, "abcd");
        push_capped(&mut buf, "x", 5);
        assert_eq!(buf, "abcdx");
        push_capped(&mut buf, "y", 5);
        assert_eq!(buf, "abcdx");

        let last = LastRun {
            language: "python".into(),
            code: "print(1)".into(),
            output: SnippetOutput {
                verdict: "ok".into(),
                ..Default::default()
            },
        };
        assert!(output_to_share(Some(&last), "python", "print(1)").is_some());
        assert!(output_to_share(Some(&last), "python", "print(2)").is_none());
        assert!(output_to_share(Some(&last), "bash", "print(1)").is_none());
        assert!(output_to_share(None, "python", "print(1)").is_none());
    }

    #[test]
    fn stats_lines() {
        let stats: Stats = serde_json::from_str(
            r#"{"total_runs":1234,"days":null,"since":"2026-11-22","verdicts":[{"verdict":"ok","runs":1135,"share":0.9198},{"verdict":"runtime_error","runs":99,"share":0.0802}],"languages":[{"language":"bash","runs":494,"share":0.4003,"avg_wall_ms":5.0,"verdicts":[]},{"language":"python","runs":740,"share":0.5997,"avg_wall_ms":31.4,"verdicts":[{"verdict":"ok","runs":740,"share":1.0}]}]}"#,
        )
        .unwrap();
        assert_eq!(stats.summary(), "1,234 runs · 92% ok · top: python 60%");
        assert_eq!(
            stats.detail(),
            "Finished runs, since 2026-11-22: bash 40% (494 runs) · python 60% (740 runs)"
        );
        let none: Stats = serde_json::from_str(
            r#"{"total_runs":0,"days":7,"since":null,"verdicts":[],"languages":[]}"#,
        )
        .unwrap();
        assert_eq!(none.summary(), "No runs yet");
        assert_eq!(none.detail(), "Finished runs, last 7 days");
        let one: Stats = serde_json::from_str(
            r#"{"total_runs":1,"verdicts":[{"verdict":"killed","runs":1,"share":1.0}],"languages":[{"language":"c","runs":1,"share":1.0,"avg_wall_ms":null,"verdicts":[]}]}"#,
        )
        .unwrap();
        assert_eq!(one.summary(), "1 run · 0% ok · top: c 100%");
        assert_eq!(one.detail(), "Finished runs, all time: c 100% (1 run)");
        assert_eq!(format_count(0), "0");
        assert_eq!(format_count(999), "999");
        assert_eq!(format_count(1000), "1,000");
        assert_eq!(format_count(1234567), "1,234,567");
        assert_eq!(format_share(0.004), "<1%");
        assert_eq!(format_share(0.0), "0%");
        assert_eq!(format_share(0.925), "93%");
    }
}
