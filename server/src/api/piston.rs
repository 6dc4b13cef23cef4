//! Piston API v2 (`GET /api/v2/runtimes`, `POST /api/v2/execute`), so tools written for Piston
//! work against this engine unchanged. Differences are listed in the README.

use crate::error::ApiError;
use crate::extract::{LenientJson, Metered};
use crate::runner::{self, LiveEvent};
use crate::state::SharedState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use pool::{Language, LimitOverrides, RunRequest, Verdict};
use serde::{Deserialize, Serialize};
use serde_json::json;
use warmrun_api::File;

/// One runtime as Piston lists it.
#[derive(Serialize)]
pub struct Runtime {
    pub language: String,
    pub version: String,
    pub aliases: Vec<String>,
}

/// `GET /api/v2/runtimes`.
pub async fn runtimes(State(state): State<SharedState>) -> Json<Vec<Runtime>> {
    Json(
        state
            .engine
            .catalog()
            .languages
            .iter()
            .map(|l| Runtime {
                // Versions of one language share its name, as in Piston's list.
                language: l.family().to_string(),
                version: l.version.clone(),
                aliases: l.aliases.clone(),
            })
            .collect(),
    )
}

/// A Piston file: the name is optional, the content may be base64 or hex encoded.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PistonFile {
    #[serde(default)]
    pub name: Option<String>,
    pub content: String,
    #[serde(default)]
    pub encoding: Option<String>,
}

/// The body of `POST /api/v2/execute`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExecuteBody {
    pub language: String,
    pub version: String,
    pub files: Vec<PistonFile>,
    #[serde(default)]
    pub stdin: Option<String>,
    #[serde(default)]
    pub args: Option<Vec<String>>,
    #[serde(default)]
    pub compile_timeout: Option<i64>,
    #[serde(default)]
    pub run_timeout: Option<i64>,
    #[serde(default)]
    pub compile_cpu_time: Option<i64>,
    #[serde(default)]
    pub run_cpu_time: Option<i64>,
    #[serde(default)]
    pub compile_memory_limit: Option<i64>,
    #[serde(default)]
    pub run_memory_limit: Option<i64>,
}

/// One stage's result in Piston's shape.
#[derive(Serialize, Default)]
pub struct Stage {
    pub stdout: String,
    pub stderr: String,
    pub output: String,
    pub code: Option<i32>,
    pub signal: Option<String>,
    pub message: Option<String>,
    pub status: Option<&'static str>,
    pub cpu_time: u64,
    pub wall_time: u64,
    pub memory: u64,
}

/// The answer of `POST /api/v2/execute`.
#[derive(Serialize)]
pub struct ExecuteResult {
    pub language: String,
    pub version: String,
    pub run: Stage,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compile: Option<Stage>,
}

/// Piston answers errors as `{"message"}`; the API's own `error` object rides along.
pub struct PistonError(ApiError);

impl From<ApiError> for PistonError {
    fn from(e: ApiError) -> Self {
        PistonError(e)
    }
}

impl IntoResponse for PistonError {
    fn into_response(self) -> Response {
        let mut body = self.0.body();
        body["message"] = json!(self.0.message);
        let mut resp = (self.0.status, Json(body)).into_response();
        if let Some(s) = self.0.retry_after_s {
            if let Ok(v) = s.to_string().parse() {
                resp.headers_mut()
                    .insert(axum::http::header::RETRY_AFTER, v);
            }
        }
        resp
    }
}

/// `POST /api/v2/execute`: runs to completion and answers in Piston's shape.
pub async fn execute(
    State(state): State<SharedState>,
    _client: Metered,
    body: Result<LenientJson<ExecuteBody>, ApiError>,
) -> Result<Json<ExecuteResult>, PistonError> {
    let LenientJson(body) = body?;
    let lang = find_runtime(state.engine.catalog(), &body.language, &body.version)?.clone();
    let req = to_request(&lang, body, &state.engine.config().max_limits)?;
    let mut live = runner::start(state.clone(), req, |_| {}).await?;
    let mut run = Stage::default();
    let mut compile = None;
    let mut exit = None;
    while let Some(ev) = live.next().await {
        match ev {
            LiveEvent::Stdout(s) => {
                run.stdout += &s;
                run.output += &s;
            }
            LiveEvent::Stderr(s) => {
                run.stderr += &s;
                run.output += &s;
            }
            LiveEvent::Compiled(c) => {
                let mut stage = Stage {
                    stdout: String::from_utf8_lossy(&c.stdout).into_owned(),
                    stderr: String::from_utf8_lossy(&c.stderr).into_owned(),
                    ..Stage::default()
                };
                stage.output = format!("{}{}", stage.stdout, stage.stderr);
                judge(&mut stage, &c.exit);
                compile = Some(stage);
            }
            LiveEvent::Exit(o) => exit = Some(o),
            LiveEvent::Started | LiveEvent::WaitingForInput => {}
        }
    }
    let exit = exit.expect("a live run ends with its exit");
    if exit.exit.verdict == Verdict::CompileError {
        // The program never ran: Piston reports an empty run stage.
        run.message = Some("compilation failed".into());
    } else {
        judge(&mut run, &exit.exit);
    }
    Ok(Json(ExecuteResult {
        language: lang.family().to_string(),
        version: lang.version.clone(),
        run,
        compile: (!lang.compile.is_empty()).then(|| compile.unwrap_or_default()),
    }))
}

/// Fills a stage's code, signal, status and usage from an exit report.
fn judge(stage: &mut Stage, exit: &pool::ExitReport) {
    stage.code = exit.exit_code;
    stage.signal = exit.signal.map(signal_name);
    stage.wall_time = exit.wall_ms;
    stage.cpu_time = exit.cpu_ms;
    stage.memory = exit.memory_kb * 1024;
    let (status, message) = match exit.verdict {
        // Piston runs carry no tests, so they are never judged; mapped for completeness.
        Verdict::Ok | Verdict::Accepted => (None, None),
        Verdict::WrongAnswer => (Some("RE"), Some("wrong answer")),
        Verdict::RuntimeError if exit.signal.is_some() => (Some("SG"), None),
        Verdict::RuntimeError | Verdict::CompileError => (Some("RE"), None),
        Verdict::TimeLimit => (Some("TO"), Some("wall-time limit exceeded")),
        Verdict::CpuLimit => (Some("TO"), Some("cpu-time limit exceeded")),
        Verdict::MemoryLimit => (Some("SG"), Some("memory limit exceeded")),
        Verdict::OutputLimit => (Some("OL"), Some("output limit exceeded")),
        Verdict::Killed => (Some("SG"), Some("killed")),
        Verdict::InternalError => (Some("XX"), Some("internal error")),
        // Piston runs close stdin, so they never wait for input; mapped for completeness.
        Verdict::IdleLimit => (Some("TO"), Some("idle limit exceeded")),
    };
    stage.status = status;
    stage.message = message.map(str::to_string);
    if stage.signal.is_none() && exit.verdict.is_limit() {
        stage.signal = Some("SIGKILL".into());
    }
}

fn signal_name(sig: i32) -> String {
    match sig {
        1 => "SIGHUP",
        2 => "SIGINT",
        3 => "SIGQUIT",
        4 => "SIGILL",
        5 => "SIGTRAP",
        6 => "SIGABRT",
        7 => "SIGBUS",
        8 => "SIGFPE",
        9 => "SIGKILL",
        10 => "SIGUSR1",
        11 => "SIGSEGV",
        12 => "SIGUSR2",
        13 => "SIGPIPE",
        14 => "SIGALRM",
        15 => "SIGTERM",
        24 => "SIGXCPU",
        25 => "SIGXFSZ",
        _ => return format!("SIG{sig}"),
    }
    .to_string()
}

/// Finds the runtime Piston's way: the language by id or alias, the version by exact
/// match or semver range (`*`, `3.x`, `>=3.10`, `^18`).
pub fn find_runtime<'a>(
    catalog: &'a pool::Catalog,
    language: &str,
    version: &str,
) -> Result<&'a Language, ApiError> {
    let versions = catalog.versions(language);
    if versions.is_empty() {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "unknown_language",
            format!("{language}-{version} runtime is unknown"),
        ));
    }
    // Newest first, as Piston picks the highest version a range allows.
    match versions
        .iter()
        .find(|l| version_matches(&l.version, version))
    {
        Some(lang) => Ok(lang),
        None => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "unknown_version",
            format!(
                "{language}-{version} runtime is unknown (available: {})",
                versions
                    .iter()
                    .map(|l| l.version.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )),
    }
}

/// Whether `have` satisfies the requested `want`, as node-semver does it: a full version
/// means exactly that version; anything else is a range.
pub fn version_matches(have: &str, want: &str) -> bool {
    let want = want.trim();
    let Ok(have) = semver::Version::parse(have) else {
        return want == "*" || want == have;
    };
    if let Ok(exact) = semver::Version::parse(want.trim_start_matches('v')) {
        return exact == have;
    }
    // node-semver's "1.2.3 - 2" style and "||" are rare in Piston clients; `||` is handled.
    want.split("||").any(|alt| {
        let alt = alt.trim();
        let alt = if alt.is_empty() { "*" } else { alt };
        // node-semver separates comparators with spaces, the semver crate with commas.
        let alt = alt.split_whitespace().collect::<Vec<_>>().join(", ");
        semver::VersionReq::parse(&alt).is_ok_and(|req| req.matches(&have))
    })
}

fn to_request(
    lang: &Language,
    body: ExecuteBody,
    max: &pool::Limits,
) -> Result<RunRequest, ApiError> {
    if body.files.is_empty() {
        return Err(ApiError::bad_request(
            "files must contain at least one file",
        ));
    }
    let mut files = Vec::with_capacity(body.files.len());
    for (i, f) in body.files.into_iter().enumerate() {
        let content = decode(&f.content, f.encoding.as_deref())?;
        let name = match f.name {
            Some(n) if !n.is_empty() => n,
            _ if i == 0 => String::new(),
            _ => format!("file{i}.code"),
        };
        files.push(File { name, content });
    }
    warmrun_api::check_files(&files)?;
    let ms = |name: &str, v: Option<i64>, cap: u64| -> Result<Option<u64>, ApiError> {
        match v {
            None | Some(-1) => Ok(None),
            Some(v) if v >= 1 && v as u64 <= cap => Ok(Some(v as u64)),
            Some(v) => Err(ApiError::bad_request(format!(
                "{name} cannot exceed the configured limit of {cap} (got {v})"
            ))),
        }
    };
    let memory_mb = match body.run_memory_limit {
        None | Some(-1) => None,
        Some(b) if b >= 1 => Some(
            (b as u64)
                .div_ceil(1024 * 1024)
                .max(pool::catalog::MIN_MEMORY_MB),
        ),
        Some(b) => {
            return Err(ApiError::bad_request(format!(
                "run_memory_limit {b} is invalid"
            )))
        }
    };
    if let Some(mb) = memory_mb {
        if mb > max.memory_mb {
            return Err(ApiError::bad_request(format!(
                "run_memory_limit cannot exceed the configured limit of {} bytes",
                max.memory_mb * 1024 * 1024
            )));
        }
    }
    let _ = ms(
        "compile_cpu_time",
        body.compile_cpu_time,
        max.compile_wall_ms,
    )?;
    let limits = LimitOverrides {
        wall_ms: ms("run_timeout", body.run_timeout, max.wall_ms)?,
        cpu_ms: ms("run_cpu_time", body.run_cpu_time, max.cpu_ms)?,
        memory_mb,
        output_kb: None,
        compile_wall_ms: ms("compile_timeout", body.compile_timeout, max.compile_wall_ms)?,
        // Piston runs close stdin: they never wait for input.
        idle_ms: None,
    };
    // A short wall limit must not be outlived by the (larger) default CPU limit either.
    let limits = LimitOverrides {
        cpu_ms: limits.cpu_ms.or(limits.wall_ms.map(|w| w.min(max.cpu_ms))),
        ..limits
    };
    Ok(RunRequest {
        language: lang.id.to_string(),
        version: None,
        files,
        stdin: body.stdin.unwrap_or_default().into_bytes(),
        close_stdin: true,
        args: body.args.unwrap_or_default(),
        compile_options: Vec::new(),
        tty: None,
        limits,
        tests: None,
    })
}

fn decode(content: &str, encoding: Option<&str>) -> Result<String, ApiError> {
    let bytes = match encoding.unwrap_or("utf8") {
        "utf8" => return Ok(content.to_string()),
        "hex" => (0..content.len())
            .step_by(2)
            .map(|i| {
                content
                    .get(i..i + 2)
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
            })
            .collect::<Option<Vec<u8>>>()
            .ok_or_else(|| ApiError::bad_request("file content is not valid hex"))?,
        "base64" => {
            use base64::Engine as _;
            base64::engine::general_purpose::STANDARD
                .decode(content)
                .map_err(|_| ApiError::bad_request("file content is not valid base64"))?
        }
        other => {
            return Err(ApiError::bad_request(format!(
                "encoding {other:?} is not one of utf8, base64, hex"
            )))
        }
    };
    String::from_utf8(bytes).map_err(|_| ApiError::bad_request("file content is not UTF-8 text"))
}

#[cfg(test)]
mod tests {
    use super::version_matches;

    #[test]
    fn versions_match_like_piston() {
        assert!(version_matches("3.11.2", "3.11.2"));
        assert!(!version_matches("3.11.2", "3.11.1"));
        assert!(version_matches("3.11.2", "*"));
        assert!(version_matches("3.11.2", "3.x"));
        assert!(version_matches("3.11.2", "3"));
        assert!(version_matches("3.11.2", ">=3.10"));
        assert!(version_matches("3.11.2", ">=3.10 <4"));
        assert!(version_matches("18.20.4", "^18"));
        assert!(!version_matches("18.20.4", "^16 || ^20"));
        assert!(version_matches("18.20.4", "^16 || ^18"));
        assert!(!version_matches("3.11.2", "2.x"));
    }
}
