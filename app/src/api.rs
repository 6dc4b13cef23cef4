//! The server's API as the browser sees it: the language catalog
//! (`GET /api/v1/languages`) and the WebSocket frames of `GET /api/v1/ws`.
//! Plain data and pure functions, so they are tested on the host.

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
}
