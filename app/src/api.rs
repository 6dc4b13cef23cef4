//! What the UI needs on top of the API's shapes (`warmrun_api`, re-exported here): verdicts
//! and numbers in words, API URLs, the language to show, share messages, the footer's
//! statistics line. Pure functions, so they are tested on the host.

pub use warmrun_api::{
    Artifact, ClientFrame, CompileJson, Created, ErrorBody, ExitJson, FormatRequest,
    FormatResponse, Language, NewSnippet, RunBody, RunFrame, ServerFrame, Snippet, SnippetOutput,
    Stats, Verdict,
};

/// The `run` frame for one file of `code`, on a terminal when `tty`.
pub fn run_frame(
    language: String,
    code: String,
    tty: bool,
    size: Option<(u16, u16)>,
) -> ClientFrame {
    ClientFrame::Run(RunFrame {
        run: RunBody {
            language,
            code: Some(code),
            ..RunBody::default()
        },
        tty,
        cols: size.map(|s| s.0),
        rows: size.map(|s| s.1),
    })
}

/// A client frame as the JSON text frame it is sent as.
pub fn frame_json(frame: &ClientFrame) -> String {
    serde_json::to_string(frame).expect("client frames always serialize")
}

/// A server text frame; `None` when it is not a frame at all.
pub fn parse_server_frame(text: &str) -> Option<ServerFrame> {
    serde_json::from_str(text).ok()
}

/// How a verdict is shown: `ok`, `bad` (the program failed) or `limit` (a limit hit).
pub fn verdict_class(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Ok | Verdict::Accepted => "ok",
        v if v.is_limit() => "limit",
        _ => "bad",
    }
}

/// A verdict in words, e.g. `time_limit` → `Time limit exceeded`.
pub fn verdict_label(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Ok => "OK",
        Verdict::RuntimeError => "Runtime error",
        Verdict::CompileError => "Compile error",
        Verdict::TimeLimit => "Time limit exceeded",
        Verdict::CpuLimit => "CPU limit exceeded",
        Verdict::MemoryLimit => "Memory limit exceeded",
        Verdict::OutputLimit => "Output limit exceeded",
        Verdict::Killed => "Stopped",
        Verdict::InternalError => "Internal error",
        Verdict::IdleLimit => "Idle limit exceeded (no input)",
        Verdict::Accepted => "Accepted",
        Verdict::WrongAnswer => "Wrong answer",
    }
}

/// Whether input sent to a program that waits for it answers the wait: a line's end or
/// EOF (Ctrl+D). Keystrokes of a terminal run that complete no line do not.
pub fn ends_a_wait(data: &str) -> bool {
    data.contains(['\n', '\r', '\u{4}'])
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

/// The language menu's groups: languages that compile first, then those that run as they
/// are, each by name (older versions right after their newest), so that 35 and more stay
/// easy to scan; a group without languages is left out.
pub fn language_groups(languages: &[Language]) -> Vec<(&'static str, Vec<&Language>)> {
    let family = |l: &Language| l.version_of.clone().unwrap_or_else(|| l.id.clone());
    let name_of = |l: &Language| {
        languages
            .iter()
            .find(|n| n.id == family(l))
            .map_or_else(|| l.name.to_lowercase(), |n| n.name.to_lowercase())
    };
    let mut groups = Vec::new();
    for (label, compiled) in [("Compiled", true), ("Interpreted", false)] {
        let mut group: Vec<&Language> = languages
            .iter()
            .filter(|l| l.compiled == compiled)
            .collect();
        group.sort_by_key(|l| (name_of(l), family(l), l.version_of.is_some()));
        if !group.is_empty() {
            groups.push((label, group));
        }
    }
    groups
}

/// The `code` and `message` of an API error body, if it is one.
pub fn parse_api_error(body: &str) -> Option<(String, String)> {
    ErrorBody::parse(body).map(|b| (b.error.code, b.error.message))
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

/// What to tell the user when formatting failed with HTTP `status`: a formatter's refusal
/// (`format_error`, e.g. a syntax error) in its own words.
pub fn format_error_message(status: u16, body: &str) -> String {
    let (code, message) = parse_api_error(body).unwrap_or_default();
    match (status, code.as_str()) {
        (422, _) | (_, "format_error") if !message.is_empty() => {
            format!("Could not format: {message}")
        }
        (429, _) | (_, "rate_limited") => "Too many requests just now; try again soon.".into(),
        _ if !message.is_empty() => format!("Could not format: {message} (HTTP {status})."),
        _ => format!("Could not format (HTTP {status})."),
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
    /// What was typed into the program's stdin (offered when sharing).
    pub stdin: String,
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

/// `runs` as a share (0..1) of all runs. (Computed from the counts rather than read from
/// the server's rounded `share` fields.)
fn share_of(stats: &Stats, runs: u64) -> f64 {
    if stats.total_runs == 0 {
        0.0
    } else {
        runs as f64 / stats.total_runs as f64
    }
}

/// One line for the page footer, e.g. `1,234 runs · 92% ok · top: python 60%`.
pub fn stats_summary(stats: &Stats) -> String {
    if stats.total_runs == 0 {
        return "No runs yet".into();
    }
    let mut parts = vec![format!(
        "{} run{}",
        format_count(stats.total_runs),
        if stats.total_runs == 1 { "" } else { "s" }
    )];
    let ok = stats
        .verdicts
        .iter()
        .find(|v| v.verdict == Verdict::Ok)
        .map_or(0, |v| v.runs);
    parts.push(format!("{} ok", format_share(share_of(stats, ok))));
    if let Some(top) = stats.languages.iter().max_by_key(|l| l.runs) {
        parts.push(format!(
            "top: {} {}",
            top.language,
            format_share(share_of(stats, top.runs))
        ));
    }
    parts.join(" · ")
}

/// A longer breakdown per language (the footer's tooltip).
pub fn stats_detail(stats: &Stats) -> String {
    let langs: Vec<String> = stats
        .languages
        .iter()
        .map(|l| {
            format!(
                "{} {} ({} run{})",
                l.language,
                format_share(share_of(stats, l.runs)),
                format_count(l.runs),
                if l.runs == 1 { "" } else { "s" }
            )
        })
        .collect();
    let window = match (&stats.days, &stats.since) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_as_the_playground_sends_and_reads_them() {
        // The JSON shapes themselves are pinned in the api crate (api/tests/shapes.rs).
        assert_eq!(
            frame_json(&run_frame(
                "python".into(),
                "print(1)".into(),
                false,
                Some((80, 24))
            )),
            r#"{"type":"run","language":"python","code":"print(1)","cols":80,"rows":24}"#
        );
        assert_eq!(
            frame_json(&run_frame("c".into(), String::new(), true, None)),
            r#"{"type":"run","language":"c","code":"","tty":true}"#
        );
        assert_eq!(frame_json(&ClientFrame::Kill {}), r#"{"type":"kill"}"#);
        assert_eq!(
            parse_server_frame(r#"{"type":"queued","position":2}"#),
            Some(ServerFrame::Queued { position: 2 })
        );
        assert_eq!(
            parse_server_frame(r#"{"type":"future_thing","x":1}"#),
            Some(ServerFrame::Unknown)
        );
        assert_eq!(parse_server_frame("not json"), None);
    }

    #[test]
    fn every_verdict_has_words_and_a_class() {
        for v in Verdict::ALL {
            assert!(!verdict_label(v).is_empty());
            let class = verdict_class(v);
            assert!(["ok", "bad", "limit"].contains(&class), "{v}");
        }
        assert_eq!(verdict_class(Verdict::Killed), "limit");
        assert_eq!(verdict_class(Verdict::CompileError), "bad");
        assert_eq!(verdict_label(Verdict::Killed), "Stopped");
        assert_eq!(verdict_class(Verdict::IdleLimit), "limit");
        assert_eq!(
            parse_server_frame(r#"{"type":"waiting_for_input"}"#),
            Some(ServerFrame::WaitingForInput)
        );
    }

    #[test]
    fn a_line_or_eof_answers_a_wait() {
        assert!(ends_a_wait("Ada\n"));
        assert!(ends_a_wait("\r"));
        assert!(ends_a_wait("\u{4}"));
        assert!(!ends_a_wait("A"));
        assert!(!ends_a_wait(""));
    }

    #[test]
    fn created_times() {
        assert_eq!(
            format_created("2026-11-22T09:15:02.123Z"),
            "2026-11-22 09:15 UTC"
        );
        assert_eq!(format_created("x"), "x");
        assert_eq!(
            http_url("", "http://127.0.0.1:18080", "/s/olYjEeaGrV58"),
            "http://127.0.0.1:18080/s/olYjEeaGrV58"
        );
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
        assert_eq!(verdict_label(Verdict::TimeLimit), "Time limit exceeded");
        assert_eq!(verdict_class(Verdict::MemoryLimit), "limit");
        assert_eq!(verdict_class(Verdict::RuntimeError), "bad");
    }

    #[test]
    fn language_menu_groups_by_compile_step_then_name() {
        let l = |id: &str, name: &str, compiled: bool, version_of: Option<&str>| Language {
            id: id.into(),
            name: name.into(),
            compiled,
            version_of: version_of.map(Into::into),
            ..Language::default()
        };
        let cat = vec![
            l("python-3.11", "Python 3", false, Some("python")),
            l("rust", "Rust", true, None),
            l("bash", "Bash", false, None),
            l("python", "Python 3", false, None),
            l("c", "C (GCC)", true, None),
        ];
        let groups: Vec<(&str, Vec<&str>)> = language_groups(&cat)
            .into_iter()
            .map(|(g, ls)| (g, ls.iter().map(|l| l.id.as_str()).collect()))
            .collect();
        assert_eq!(
            groups,
            [
                ("Compiled", vec!["c", "rust"]),
                ("Interpreted", vec!["bash", "python", "python-3.11"]),
            ]
        );
        assert!(language_groups(&cat[1..2]).len() == 1, "no empty group");
    }

    #[test]
    fn language_choice() {
        let l = |id: &str| Language {
            id: id.into(),
            name: id.to_uppercase(),
            version: String::new(),
            ..Language::default()
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
    fn format_errors() {
        let refused = r#"{"error":{"code":"format_error","message":"error: cannot format -: Cannot parse: 1:6"}}"#;
        assert_eq!(
            format_error_message(422, refused),
            "Could not format: error: cannot format -: Cannot parse: 1:6"
        );
        let none = r#"{"error":{"code":"no_formatter","message":"lua has no formatter"}}"#;
        assert_eq!(
            format_error_message(400, none),
            "Could not format: lua has no formatter (HTTP 400)."
        );
        assert_eq!(
            format_error_message(502, ""),
            "Could not format (HTTP 502)."
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
            stdin: String::new(),
            output: SnippetOutput {
                verdict: Verdict::Ok,
                stdout: String::new(),
                stderr: String::new(),
                exit_code: None,
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
        assert_eq!(
            stats_summary(&stats),
            "1,234 runs · 92% ok · top: python 60%"
        );
        assert_eq!(
            stats_detail(&stats),
            "Finished runs, since 2026-11-22: bash 40% (494 runs) · python 60% (740 runs)"
        );
        let none: Stats = serde_json::from_str(
            r#"{"total_runs":0,"days":7,"since":null,"verdicts":[],"languages":[]}"#,
        )
        .unwrap();
        assert_eq!(stats_summary(&none), "No runs yet");
        assert_eq!(stats_detail(&none), "Finished runs, last 7 days");
        let one: Stats = serde_json::from_str(
            r#"{"total_runs":1,"verdicts":[{"verdict":"killed","runs":1,"share":1.0}],"languages":[{"language":"c","runs":1,"share":1.0,"avg_wall_ms":null,"verdicts":[]}]}"#,
        )
        .unwrap();
        assert_eq!(stats_summary(&one), "1 run · 0% ok · top: c 100%");
        assert_eq!(
            stats_detail(&one),
            "Finished runs, all time: c 100% (1 run)"
        );
        assert_eq!(format_count(0), "0");
        assert_eq!(format_count(999), "999");
        assert_eq!(format_count(1000), "1,000");
        assert_eq!(format_count(1234567), "1,234,567");
        assert_eq!(format_share(0.004), "<1%");
        assert_eq!(format_share(0.0), "0%");
        assert_eq!(format_share(0.925), "93%");
    }
}
