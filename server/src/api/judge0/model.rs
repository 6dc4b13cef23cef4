//! Judge0 CE 1.13's shapes and rules, apart from HTTP: its language ids and statuses, how a
//! submission's JSON becomes one of our runs (and what of it only Judge0's answers need),
//! and how a run's result reads in Judge0's terms.

use pool::{Catalog, Language, Limits};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use warmrun_api::{CaseResultJson, ExitJson, RunBody, RunResultJson, TestsJson, Verdict};

/// The Judge0 version this API answers as (the SDK picks its language table by it).
pub const VERSION: &str = "1.13.1";
/// Submissions in one batch at most unless configured (Judge0's default).
pub const DEFAULT_MAX_BATCH: usize = 20;
/// Judge0's largest `number_of_runs` (its `MAX_NUMBER_OF_RUNS`).
pub const MAX_NUMBER_OF_RUNS: u32 = 20;
/// Judge0's longest `command_line_arguments` and `compiler_options`.
const MAX_OPTION_CHARS: usize = 512;

/// Judge0 CE ids of our catalog's languages, with the name Judge0 gives them up to the
/// version (`"C (GCC "` + `"12.2.0"` + `")"`). The first id of a language is its own; the
/// others are older Judge0 entries of the same language that clients still send.
const LANGUAGE_IDS: &[(&str, u32, &str)] = &[
    ("assembly", 45, "Assembly (NASM "),
    ("bash", 46, "Bash ("),
    ("c", 50, "C (GCC "),
    ("csharp", 51, "C# (Mono "),
    ("cpp", 54, "C++ (GCC "),
    ("cpp", 52, "C++ (GCC "),
    ("commonlisp", 55, "Common Lisp (SBCL "),
    ("d", 56, "D (GDC "),
    ("elixir", 57, "Elixir ("),
    ("erlang", 58, "Erlang ("),
    ("fortran", 59, "Fortran (GFortran "),
    ("go", 60, "Go ("),
    ("haskell", 61, "Haskell (GHC "),
    ("java", 62, "Java (OpenJDK "),
    ("javascript", 63, "JavaScript (Node.js "),
    ("lua", 64, "Lua ("),
    ("ocaml", 65, "OCaml ("),
    ("octave", 66, "Octave ("),
    ("pascal", 67, "Pascal (FPC "),
    ("php", 68, "PHP ("),
    ("prolog", 69, "Prolog (SWI-Prolog "),
    ("python", 71, "Python ("),
    ("ruby", 72, "Ruby ("),
    ("rust", 73, "Rust ("),
    ("typescript", 74, "TypeScript ("),
    ("c-clang", 75, "C (Clang "),
    ("cpp-clang", 76, "C++ (Clang "),
    ("cobol", 77, "COBOL (GnuCOBOL "),
    ("kotlin", 78, "Kotlin ("),
    ("objective-c", 79, "Objective-C (GCC "),
    ("r", 80, "R ("),
    ("scala", 81, "Scala ("),
    ("sql", 82, "SQL (SQLite "),
    ("perl", 85, "Perl ("),
    ("clojure", 86, "Clojure ("),
    ("groovy", 88, "Groovy ("),
    // Judge0 1.14's ids of these versions (1.13 has one version per language).
    ("java-17", 91, "Java (JDK "),
    ("python-3.11", 92, "Python ("),
];

/// A Judge0 language id of a language in our catalog.
pub struct Judge0Language<'a> {
    pub id: u32,
    pub name: String,
    pub language: &'a Language,
}

/// Every Judge0 language the catalog has, sorted by name as Judge0 lists them.
pub fn languages(catalog: &Catalog) -> Vec<Judge0Language<'_>> {
    let mut out: Vec<_> = LANGUAGE_IDS
        .iter()
        .filter_map(|&(ours, id, prefix)| {
            let language = catalog.languages.iter().find(|l| l.id.as_str() == ours)?;
            Some(Judge0Language {
                id,
                name: format!("{prefix}{})", language.version),
                language,
            })
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
    out
}

/// The catalog's language behind a Judge0 id.
pub fn language(catalog: &Catalog, id: u32) -> Option<Judge0Language<'_>> {
    languages(catalog).into_iter().find(|l| l.id == id)
}

/// `GET /languages/{id}`: Judge0's full language record.
pub fn language_detail(l: &Judge0Language<'_>) -> Value {
    let join = |argv: &[String]| argv.join(" ");
    json!({
        "id": l.id,
        "name": l.name,
        "is_archived": false,
        "source_file": l.language.file,
        "compile_cmd": (!l.language.compile.is_empty()).then(|| join(&l.language.compile)),
        "run_cmd": join(&l.language.run),
    })
}

/// A submission's status, Judge0's ids 1–14.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    InQueue = 1,
    Processing = 2,
    Accepted = 3,
    WrongAnswer = 4,
    TimeLimitExceeded = 5,
    CompilationError = 6,
    Sigsegv = 7,
    Sigxfsz = 8,
    Sigfpe = 9,
    Sigabrt = 10,
    Nzec = 11,
    OtherRuntimeError = 12,
    InternalError = 13,
    ExecFormatError = 14,
}

impl Status {
    pub const ALL: [Status; 14] = [
        Status::InQueue,
        Status::Processing,
        Status::Accepted,
        Status::WrongAnswer,
        Status::TimeLimitExceeded,
        Status::CompilationError,
        Status::Sigsegv,
        Status::Sigxfsz,
        Status::Sigfpe,
        Status::Sigabrt,
        Status::Nzec,
        Status::OtherRuntimeError,
        Status::InternalError,
        Status::ExecFormatError,
    ];

    pub fn id(self) -> u8 {
        self as u8
    }

    /// Judge0's exact description.
    pub fn description(self) -> &'static str {
        match self {
            Status::InQueue => "In Queue",
            Status::Processing => "Processing",
            Status::Accepted => "Accepted",
            Status::WrongAnswer => "Wrong Answer",
            Status::TimeLimitExceeded => "Time Limit Exceeded",
            Status::CompilationError => "Compilation Error",
            Status::Sigsegv => "Runtime Error (SIGSEGV)",
            Status::Sigxfsz => "Runtime Error (SIGXFSZ)",
            Status::Sigfpe => "Runtime Error (SIGFPE)",
            Status::Sigabrt => "Runtime Error (SIGABRT)",
            Status::Nzec => "Runtime Error (NZEC)",
            Status::OtherRuntimeError => "Runtime Error (Other)",
            Status::InternalError => "Internal Error",
            Status::ExecFormatError => "Exec Format Error",
        }
    }

    /// `{"id", "description"}`.
    pub fn to_json(self) -> Value {
        json!({ "id": self.id(), "description": self.description() })
    }

    /// The runtime error a fatal signal is, as Judge0 names it.
    pub fn of_signal(signal: i32) -> Status {
        match signal {
            11 => Status::Sigsegv,
            25 => Status::Sigxfsz,
            8 => Status::Sigfpe,
            6 => Status::Sigabrt,
            _ => Status::OtherRuntimeError,
        }
    }
}

/// What a submission carries that the run itself does not use: Judge0's view of it, kept
/// beside the run in the stored request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Extras {
    pub language_id: u32,
    #[serde(default)]
    pub expected_output: Option<String>,
    #[serde(default)]
    pub redirect_stderr_to_stdout: bool,
    #[serde(default)]
    pub command_line_arguments: Option<String>,
    /// The limits in effect, in Judge0's units (seconds, KB).
    pub cpu_time_limit: f64,
    pub wall_time_limit: f64,
    pub memory_limit: u64,
    /// Where the finished submission is PUT (a host of `judge0_callback_hosts`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback_url: Option<String>,
    /// The submission was posted base64-encoded: its callback is too.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub base64_encoded: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compiler_options: Option<String>,
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub number_of_runs: u32,
}

fn one() -> u32 {
    1
}

fn is_one(n: &u32) -> bool {
    *n == 1
}

/// A submission Judge0's rules accept: the run, and the rest.
#[derive(Debug, Clone, PartialEq)]
pub struct Accepted {
    pub run: RunBody,
    pub extras: Extras,
}

impl Accepted {
    /// The program's source: the code, or the main file when `additional_files` came with it.
    pub fn source_code(&self) -> Option<&str> {
        self.run.code.as_deref().or_else(|| {
            let files = self.run.files.as_ref()?;
            files.first().map(|f| f.content.as_str())
        })
    }

    /// The submission's stdin (each run's, when it runs several times).
    pub fn stdin(&self) -> Option<&str> {
        self.run.stdin.as_deref().or_else(|| {
            let tests = self.run.tests.as_ref()?;
            tests.first().map(|t| t.stdin.as_str())
        })
    }

    /// The request JSON stored in the submissions table: the run with a `judge0` part.
    pub fn stored(&self) -> String {
        let mut v = serde_json::to_value(&self.run).expect("plain data serializes");
        v[crate::cluster::queue::JUDGE0_KEY] =
            serde_json::to_value(&self.extras).expect("plain data serializes");
        v.to_string()
    }

    /// Reads a stored request back; `None` when it is not a Judge0 submission's.
    pub fn from_stored(request: &str) -> Option<Accepted> {
        let mut v: Value = serde_json::from_str(request).ok()?;
        let extras = v
            .as_object_mut()?
            .remove(crate::cluster::queue::JUDGE0_KEY)?;
        Some(Accepted {
            run: serde_json::from_value(v).ok()?,
            extras: serde_json::from_value(extras).ok()?,
        })
    }
}

/// Judge0's validation errors: attribute → messages (a 422 body).
pub type Invalid = BTreeMap<String, Vec<String>>;

fn add(errors: &mut Invalid, field: &str, message: impl Into<String>) {
    errors
        .entry(field.to_string())
        .or_default()
        .push(message.into());
}

/// Checks a submission's JSON as Judge0 does and makes it a run. `base64`: the text fields
/// come base64-encoded. Limits above ours are lowered to ours; `enable_network` is refused
/// as a Judge0 with networking disabled refuses it; the rest of its tuning knobs
/// (`cpu_extra_time`, `stack_limit`, ...) are accepted and ignored. `compiler_options`
/// become the run's `compile_options` (ignored for interpreted languages, as Judge0 does),
/// and `number_of_runs` above 1 a judged run of that many identical cases (one compile).
/// `callback_hosts`: the hosts a `callback_url` may name.
pub fn accept(
    body: &Map<String, Value>,
    base64: bool,
    catalog: &Catalog,
    max: &Limits,
    callback_hosts: &[String],
) -> Result<Accepted, Invalid> {
    let mut errors = Invalid::new();
    let text = |field: &str, encoded: bool, errors: &mut Invalid| -> Option<String> {
        let raw = match body.get(field) {
            None | Some(Value::Null) => return None,
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            Some(Value::Bool(b)) => b.to_string(),
            Some(_) => {
                add(errors, field, "must be a string");
                return None;
            }
        };
        if !(encoded && base64) {
            return Some(raw);
        }
        match decode_base64(&raw) {
            Some(bytes) => match String::from_utf8(bytes) {
                Ok(s) => Some(s),
                Err(_) => {
                    add(errors, field, "is not UTF-8 text once decoded from base64");
                    None
                }
            },
            None => {
                add(errors, field, "is not valid base64");
                None
            }
        }
    };
    let source = text("source_code", true, &mut errors);
    let stdin = text("stdin", true, &mut errors);
    let expected_output = text("expected_output", true, &mut errors);
    let args_text = text("command_line_arguments", false, &mut errors);
    let compiler_options = text("compiler_options", false, &mut errors);
    let callback_url = text("callback_url", false, &mut errors);
    let additional_files = text("additional_files", false, &mut errors);

    match &source {
        Some(s) if !s.is_empty() => {
            if s.len() > warmrun_api::MAX_CODE_BYTES {
                add(
                    &mut errors,
                    "source_code",
                    format!(
                        "is too long (maximum is {} bytes)",
                        warmrun_api::MAX_CODE_BYTES
                    ),
                );
            }
        }
        _ if errors.contains_key("source_code") => {}
        _ => add(&mut errors, "source_code", "can't be blank"),
    }
    if stdin
        .as_ref()
        .is_some_and(|s| s.len() > warmrun_api::MAX_STDIN_BYTES)
    {
        add(
            &mut errors,
            "stdin",
            format!(
                "is too long (maximum is {} bytes)",
                warmrun_api::MAX_STDIN_BYTES
            ),
        );
    }
    let lang = match number(body, "language_id", &mut errors) {
        None if !errors.contains_key("language_id") => {
            add(&mut errors, "language_id", "can't be blank");
            None
        }
        None => None,
        Some(id) => {
            let found = (id.fract() == 0.0 && id >= 0.0 && id <= u32::MAX as f64)
                .then(|| language(catalog, id as u32))
                .flatten();
            if found.is_none() {
                add(
                    &mut errors,
                    "language_id",
                    format!("language with id {id} doesn't exist"),
                );
            }
            found
        }
    };
    let compiler_options = compiler_options.filter(|s| !s.trim().is_empty());
    if compiler_options
        .as_ref()
        .is_some_and(|o| o.chars().count() > MAX_OPTION_CHARS)
    {
        add(
            &mut errors,
            "compiler_options",
            format!("is too long (maximum is {MAX_OPTION_CHARS} characters)"),
        );
    }
    let compile_options = split_arguments(compiler_options.as_deref().unwrap_or(""));
    if compile_options.len() > warmrun_api::MAX_ARGS {
        add(
            &mut errors,
            "compiler_options",
            format!("has more than {} options", warmrun_api::MAX_ARGS),
        );
    }
    let callback_url = callback_url.filter(|s| !s.trim().is_empty());
    if let Some(url) = &callback_url {
        if let Err(e) = check_callback_url(url, callback_hosts) {
            add(&mut errors, "callback_url", e);
        }
    }
    // Always base64, whatever `base64_encoded` says (Judge0's rule for this binary field).
    let zip = match additional_files.filter(|s| !s.trim().is_empty()) {
        None => None,
        Some(text) => match decode_base64(&text) {
            Some(bytes) => Some(bytes),
            None => {
                add(&mut errors, "additional_files", "is not valid base64");
                None
            }
        },
    };
    if boolean(body, "enable_network", &mut errors) == Some(true) {
        add(
            &mut errors,
            "enable_network",
            "enabling network is not allowed",
        );
    }
    if args_text
        .as_ref()
        .is_some_and(|a| a.chars().count() > MAX_OPTION_CHARS)
    {
        add(
            &mut errors,
            "command_line_arguments",
            format!("is too long (maximum is {MAX_OPTION_CHARS} characters)"),
        );
    }
    let args = split_arguments(args_text.as_deref().unwrap_or(""));
    if args.len() > warmrun_api::MAX_ARGS {
        add(
            &mut errors,
            "command_line_arguments",
            format!("has more than {} arguments", warmrun_api::MAX_ARGS),
        );
    }
    let redirect = boolean(body, "redirect_stderr_to_stdout", &mut errors).unwrap_or(false);
    // Judge0's lower bounds; above ours, a limit is lowered to ours.
    let mut limit = |field: &str, min: f64| -> Option<f64> {
        let v = number(body, field, &mut errors)?;
        if v < min {
            add(
                &mut errors,
                field,
                format!("must be greater than or equal to {min}"),
            );
            return None;
        }
        Some(v)
    };
    let cpu_s = limit("cpu_time_limit", 0.0);
    let wall_s = limit("wall_time_limit", 1.0);
    let memory_kb = limit("memory_limit", 2048.0);
    let number_of_runs = match number(body, "number_of_runs", &mut errors) {
        None => 1,
        Some(n) if n.fract() != 0.0 => {
            add(&mut errors, "number_of_runs", "must be an integer");
            1
        }
        Some(n) if n < 1.0 => {
            add(
                &mut errors,
                "number_of_runs",
                "must be greater than or equal to 1",
            );
            1
        }
        Some(n) if n > MAX_NUMBER_OF_RUNS as f64 => {
            add(
                &mut errors,
                "number_of_runs",
                format!("must be less than or equal to {MAX_NUMBER_OF_RUNS}"),
            );
            1
        }
        Some(n) => n as u32,
    };
    for field in [
        "cpu_extra_time",
        "stack_limit",
        "max_processes_and_or_threads",
        "max_file_size",
    ] {
        let _ = number(body, field, &mut errors);
    }
    for field in [
        "enable_per_process_and_thread_time_limit",
        "enable_per_process_and_thread_memory_limit",
    ] {
        let _ = boolean(body, field, &mut errors);
    }
    let (Some(lang), Some(source), true) = (lang, source, errors.is_empty()) else {
        return Err(errors);
    };
    let extra_files = match zip {
        None => Vec::new(),
        Some(bytes) => {
            let room = warmrun_api::MAX_FILES - 1;
            match super::files::unpack(&bytes, &lang.language.file, room) {
                Ok(files) => files,
                Err(e) => {
                    add(&mut errors, "additional_files", e);
                    return Err(errors);
                }
            }
        }
    };
    let ms = |s: f64, cap: u64| ((s * 1000.0).round() as u64).clamp(1, cap);
    let limits = warmrun_api::LimitOverrides {
        cpu_ms: cpu_s.map(|s| ms(s, max.cpu_ms)),
        wall_ms: wall_s.map(|s| ms(s, max.wall_ms)),
        memory_mb: memory_kb.map(|kb| {
            ((kb / 1024.0).ceil() as u64).clamp(pool::catalog::MIN_MEMORY_MB, max.memory_mb)
        }),
        ..warmrun_api::LimitOverrides::default()
    };
    let defaults = &lang.language.limits;
    let extras = Extras {
        language_id: lang.id,
        expected_output,
        redirect_stderr_to_stdout: redirect,
        command_line_arguments: args_text,
        cpu_time_limit: limits.cpu_ms.unwrap_or(defaults.cpu_ms.min(max.cpu_ms)) as f64 / 1000.0,
        wall_time_limit: limits.wall_ms.unwrap_or(defaults.wall_ms.min(max.wall_ms)) as f64
            / 1000.0,
        memory_limit: limits
            .memory_mb
            .unwrap_or(defaults.memory_mb.min(max.memory_mb))
            * 1024,
        callback_url,
        base64_encoded: base64,
        compiler_options,
        number_of_runs,
    };
    // With additional files the program is the first, unnamed (main) file of several.
    let (code, files) = if extra_files.is_empty() {
        (Some(source), None)
    } else {
        let main = warmrun_api::File {
            name: String::new(),
            content: source,
        };
        (None, Some([vec![main], extra_files].concat()))
    };
    // Judge0 compiles once and runs the program `number_of_runs` times, stopping at the
    // first run that is not Accepted: judge mode, with Judge0's comparison.
    let (stdin, tests, stop_on_first_failure) = if number_of_runs > 1 {
        let case = warmrun_api::TestCase {
            stdin: stdin.unwrap_or_default(),
            expected_stdout: extras.expected_output.clone(),
            args: None,
        };
        (None, Some(vec![case; number_of_runs as usize]), true)
    } else {
        (stdin, None, false)
    };
    let run = RunBody {
        language: lang.language.id.to_string(),
        version: None,
        code,
        files,
        stdin,
        args,
        compile_options: if lang.language.compile.is_empty() {
            Vec::new()
        } else {
            compile_options
        },
        limits,
        tests,
        stop_on_first_failure,
        ..RunBody::default()
    };
    if let Err(e) = run.validate() {
        add(&mut errors, "source_code", e.0);
        return Err(errors);
    }
    Ok(Accepted { run, extras })
}

/// Longest `callback_url`.
const MAX_URL_CHARS: usize = 2048;

/// A callback goes out only over http(s) to a host the operator allowed.
fn check_callback_url(url: &str, hosts: &[String]) -> Result<(), String> {
    if url.len() > MAX_URL_CHARS {
        return Err(format!(
            "is too long (maximum is {MAX_URL_CHARS} characters)"
        ));
    }
    let parsed = reqwest::Url::parse(url.trim()).map_err(|e| format!("is not a URL: {e}"))?;
    match parsed.scheme() {
        "http" => {}
        // The server's HTTP client is built without TLS.
        "https" => return Err("https callbacks are not supported by this server; use http".into()),
        _ => return Err("must be an http URL".into()),
    }
    let host = parsed.host_str().unwrap_or("");
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if hosts.is_empty() {
        return Err("setting callback is not allowed".into());
    }
    let allowed = hosts
        .iter()
        .map(|h| h.trim().trim_start_matches('[').trim_end_matches(']'))
        .any(|h| h.eq_ignore_ascii_case(bare));
    if !allowed {
        return Err(format!("host {host:?} is not allowed for callbacks"));
    }
    Ok(())
}

/// A number, or a string of one (Rails casts form values so).
fn number(body: &Map<String, Value>, field: &str, errors: &mut Invalid) -> Option<f64> {
    let v = match body.get(field) {
        None | Some(Value::Null) => return None,
        Some(Value::Number(n)) => n.as_f64(),
        Some(Value::String(s)) if s.trim().is_empty() => return None,
        Some(Value::String(s)) => s.trim().parse::<f64>().ok(),
        Some(_) => None,
    };
    match v {
        Some(v) if v.is_finite() => Some(v),
        _ => {
            add(errors, field, "is not a number");
            None
        }
    }
}

/// A boolean, or its usual spellings.
fn boolean(body: &Map<String, Value>, field: &str, errors: &mut Invalid) -> Option<bool> {
    match body.get(field) {
        None | Some(Value::Null) => None,
        Some(Value::Bool(b)) => Some(*b),
        Some(Value::String(s)) if matches!(s.as_str(), "true" | "1") => Some(true),
        Some(Value::String(s)) if matches!(s.as_str(), "false" | "0" | "") => Some(false),
        Some(Value::Number(n)) if n.as_u64() == Some(1) => Some(true),
        Some(Value::Number(n)) if n.as_u64() == Some(0) => Some(false),
        Some(_) => {
            add(errors, field, "is not a boolean");
            None
        }
    }
}

/// Judge0 hands `command_line_arguments` to bash after deleting `$&;<>|` and backquotes:
/// words split on blanks, with quotes and backslashes grouping.
pub fn split_arguments(text: &str) -> Vec<String> {
    let mut args = Vec::new();
    let mut word: Option<String> = None;
    let mut chars = text
        .chars()
        .filter(|c| !matches!(c, '$' | '&' | ';' | '<' | '>' | '|' | '`'));
    let mut quote: Option<char> = None;
    while let Some(c) = chars.next() {
        match (quote, c) {
            (None, c) if c.is_whitespace() => {
                if let Some(w) = word.take() {
                    args.push(w);
                }
            }
            (None, '\'' | '"') => {
                quote = Some(c);
                word.get_or_insert_with(String::new);
            }
            (Some(q), c) if c == q => quote = None,
            (None, '\\') | (Some('"'), '\\') => {
                let w = word.get_or_insert_with(String::new);
                if let Some(next) = chars.next() {
                    if quote.is_some() && !matches!(next, '"' | '\\') {
                        w.push('\\');
                    }
                    w.push(next);
                }
            }
            (_, c) => word.get_or_insert_with(String::new).push(c),
        }
    }
    args.extend(word);
    args
}

/// Base64 as Ruby's `decode64` reads it: line breaks and blanks ignored, padding optional.
pub fn decode_base64(text: &str) -> Option<Vec<u8>> {
    use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
    use base64::Engine as _;
    const LENIENT: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    LENIENT.decode(compact).ok()
}

/// Base64 as Judge0 writes it (Ruby's `encode64`): a line break after every 60 characters
/// and at the end.
pub fn encode_base64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    let flat = base64::engine::general_purpose::STANDARD.encode(bytes);
    let mut out = String::with_capacity(flat.len() + flat.len() / 60 + 1);
    for chunk in flat.as_bytes().chunks(60) {
        out.push_str(std::str::from_utf8(chunk).expect("base64 is ASCII"));
        out.push('\n');
    }
    out
}

/// Judge0's comparison of outputs: each line without trailing blanks, then the whole
/// without trailing blank lines, which is judge mode's default comparison (one definition,
/// in the engine).
pub fn same_output(expected: &str, actual: &str) -> bool {
    pool::compare::same_output(
        warmrun_api::Comparison::TrailingWhitespace,
        expected.as_bytes(),
        actual.as_bytes(),
    )
}

/// A submission's outcome in Judge0's fields; `None` where Judge0 writes `null`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Outcome {
    pub status: Option<Status>,
    pub stdout: Option<String>,
    pub stderr: Option<String>,
    pub compile_output: Option<String>,
    pub message: Option<String>,
    pub exit_code: Option<i32>,
    pub exit_signal: Option<i32>,
    /// CPU and wall time, seconds as Judge0's decimal strings.
    pub time: Option<String>,
    pub wall_time: Option<String>,
    /// KB.
    pub memory: Option<u64>,
}

fn non_empty(s: String) -> Option<String> {
    (!s.is_empty()).then_some(s)
}

fn seconds(ms: u64) -> String {
    format!("{}.{:03}", ms / 1000, ms % 1000)
}

/// How a finished run reads in Judge0's terms (its `isolate_job.rb`: status from how the
/// program ended, Accepted or Wrong Answer by `expected_output`).
pub fn judge(result: &RunResultJson, extras: &Extras) -> Outcome {
    if let Some(tests) = &result.tests {
        return judge_runs(result, tests, extras);
    }
    let exit = &result.exit;
    let compile_output = result.compile.as_ref().and_then(|c| {
        if c.verdict == Verdict::TimeLimit {
            Some("Compilation time limit exceeded.".to_string())
        } else {
            non_empty(format!("{}{}", c.stdout, c.stderr))
        }
    });
    if exit.verdict == Verdict::CompileError {
        // Judge0 reports nothing of a run that never happened.
        return Outcome {
            status: Some(Status::CompilationError),
            compile_output,
            ..Outcome::default()
        };
    }
    let (stdout, stderr) = if extras.redirect_stderr_to_stdout {
        (format!("{}{}", result.stdout, result.stderr), String::new())
    } else {
        (result.stdout.clone(), result.stderr.clone())
    };
    let killed = exit.signal.or(Some(9));
    let fatal = |sig: i32, why: &str| format!("Caught fatal signal {sig}{why}");
    let (status, signal, message) = match exit.verdict {
        // Judge mode's verdicts; Judge0 submissions compare here instead (below).
        Verdict::Accepted => (Status::Accepted, None, None),
        Verdict::WrongAnswer => (Status::WrongAnswer, None, None),
        Verdict::Ok => {
            let right = extras
                .expected_output
                .as_deref()
                .is_none_or(|want| same_output(want, &stdout));
            let status = if right {
                Status::Accepted
            } else {
                Status::WrongAnswer
            };
            (status, None, None)
        }
        Verdict::RuntimeError => match exit.signal {
            Some(sig) => (Status::of_signal(sig), Some(sig), Some(fatal(sig, ""))),
            None => (
                Status::Nzec,
                None,
                Some(format!(
                    "Exited with error status {}",
                    exit.exit_code.unwrap_or(1)
                )),
            ),
        },
        Verdict::TimeLimit => (
            Status::TimeLimitExceeded,
            killed,
            Some("Time limit exceeded (wall clock)".into()),
        ),
        Verdict::CpuLimit => (
            Status::TimeLimitExceeded,
            killed,
            Some("Time limit exceeded".into()),
        ),
        // Only interactive runs wait for input; a submission's stdin is closed.
        Verdict::IdleLimit => (
            Status::TimeLimitExceeded,
            killed,
            Some("Time limit exceeded (waiting for input)".into()),
        ),
        // Judge0's cgroup kills a program over its memory limit with SIGKILL.
        Verdict::MemoryLimit => (
            Status::OtherRuntimeError,
            Some(9),
            Some(fatal(9, " (memory limit exceeded)")),
        ),
        // Judge0 writes stdout to a file capped at max_file_size: SIGXFSZ past it.
        Verdict::OutputLimit => (
            Status::Sigxfsz,
            Some(25),
            Some(fatal(25, " (output limit exceeded)")),
        ),
        Verdict::Killed => (Status::OtherRuntimeError, killed, Some(fatal(9, ""))),
        Verdict::InternalError | Verdict::CompileError => {
            return Outcome {
                status: Some(Status::InternalError),
                message: Some("Internal error: the sandbox failed; not the program's fault".into()),
                compile_output,
                ..Outcome::default()
            }
        }
    };
    Outcome {
        status: Some(status),
        stdout: non_empty(stdout),
        stderr: non_empty(stderr),
        compile_output,
        message,
        exit_code: Some(exit.exit_code.unwrap_or(0)),
        exit_signal: signal,
        time: Some(seconds(exit.cpu_ms)),
        wall_time: Some(seconds(exit.wall_ms)),
        memory: Some(exit.memory_kb),
    }
}

/// A submission run `number_of_runs` times (judge mode's cases): the last run as Judge0
/// reports it, with the runs' average times and memory (Judge0 1.13's `isolate_job.rb`).
fn judge_runs(result: &RunResultJson, tests: &TestsJson, extras: &Extras) -> Outcome {
    let Some(last) = tests.cases.last() else {
        // No run happened (a compile error): the run's own fields say why.
        let single = RunResultJson {
            tests: None,
            ..result.clone()
        };
        return judge(&single, extras);
    };
    let runs = tests.cases.len() as u64;
    let average = |field: fn(&CaseResultJson) -> u64| {
        (tests.cases.iter().map(field).sum::<u64>() + runs / 2) / runs
    };
    let single = RunResultJson {
        exit: ExitJson {
            verdict: last.verdict,
            exit_code: last.exit_code,
            signal: last.signal,
            wall_ms: average(|c| c.wall_ms),
            cpu_ms: average(|c| c.cpu_ms),
            memory_kb: average(|c| c.memory_kb),
            truncated: last.truncated,
            ..result.exit.clone()
        },
        stdout: last.stdout.clone(),
        stderr: last.stderr.clone(),
        compile: result.compile.clone(),
        tests: None,
        artifacts: Vec::new(),
        cached: result.cached,
    };
    judge(&single, extras)
}

/// A submission that could not run (`{code, message}` of a failed row): Judge0's
/// Internal Error with the reason as its message.
pub fn failed(error: &Value) -> Outcome {
    let message = error["message"]
        .as_str()
        .or(error["code"].as_str())
        .unwrap_or("the submission could not run");
    Outcome {
        status: Some(Status::InternalError),
        message: Some(message.to_string()),
        ..Outcome::default()
    }
}

/// Every field a submission has in Judge0 1.13 (its serializer's attributes).
pub const ALL_FIELDS: &[&str] = &[
    "source_code",
    "language_id",
    "stdin",
    "expected_output",
    "stdout",
    "status_id",
    "created_at",
    "finished_at",
    "time",
    "memory",
    "stderr",
    "token",
    "number_of_runs",
    "cpu_time_limit",
    "cpu_extra_time",
    "wall_time_limit",
    "memory_limit",
    "stack_limit",
    "max_processes_and_or_threads",
    "enable_per_process_and_thread_time_limit",
    "enable_per_process_and_thread_memory_limit",
    "max_file_size",
    "compile_output",
    "exit_code",
    "exit_signal",
    "message",
    "wall_time",
    "compiler_options",
    "command_line_arguments",
    "redirect_stderr_to_stdout",
    "callback_url",
    "additional_files",
    "enable_network",
    "status",
    "language",
];

/// What Judge0 answers without `fields`.
pub const DEFAULT_FIELDS: &[&str] = &[
    "token",
    "time",
    "memory",
    "stdout",
    "stderr",
    "compile_output",
    "message",
    "status",
];

/// The fields Judge0 base64-encodes when asked to.
const ENCODED_FIELDS: &[&str] = &[
    "source_code",
    "stdin",
    "expected_output",
    "stdout",
    "stderr",
    "compile_output",
    "message",
];

/// The `fields` parameter: `*` for all, a comma list, or nothing for the default; the
/// unknown names are the error.
pub fn requested_fields(param: Option<&str>) -> Result<Vec<&'static str>, Vec<String>> {
    let names: Vec<&str> = param
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    let unknown: Vec<String> = names
        .iter()
        .filter(|n| **n != "*" && !ALL_FIELDS.contains(n))
        .map(|n| n.to_string())
        .collect();
    if !unknown.is_empty() {
        return Err(unknown);
    }
    if names.contains(&"*") {
        return Ok(ALL_FIELDS.to_vec());
    }
    let picked: Vec<&'static str> = ALL_FIELDS
        .iter()
        .copied()
        .filter(|f| names.contains(f))
        .collect();
    Ok(if picked.is_empty() {
        DEFAULT_FIELDS.to_vec()
    } else {
        picked
    })
}

/// A submission as Judge0 shows it.
pub struct View {
    pub token: uuid::Uuid,
    pub submission: Accepted,
    /// The language's Judge0 name, if the catalog still has it.
    pub language_name: Option<String>,
    pub created_ms: i64,
    /// When it ended, if it has.
    pub finished_ms: Option<i64>,
    pub outcome: Outcome,
}

impl View {
    /// The JSON object of `fields`, the encoded fields in base64 when `base64`.
    pub fn render(&self, fields: &[&str], base64: bool) -> Value {
        let s = &self.submission;
        let x = &s.extras;
        let o = &self.outcome;
        let status = o.status.unwrap_or(Status::InQueue);
        let mut out = Map::new();
        for &field in fields {
            let value = match field {
                "source_code" => json!(s.source_code()),
                "callback_url" => json!(x.callback_url),
                "language_id" => json!(x.language_id),
                "stdin" => json!(s.stdin()),
                "expected_output" => json!(x.expected_output),
                "stdout" => json!(o.stdout),
                "status_id" => json!(status.id()),
                "created_at" => json!(timestamp(self.created_ms)),
                "finished_at" => json!(self.finished_ms.map(timestamp)),
                "time" => json!(o.time),
                "memory" => json!(o.memory),
                "stderr" => json!(o.stderr),
                "token" => json!(self.token),
                "number_of_runs" => json!(x.number_of_runs),
                "compiler_options" => json!(x.compiler_options),
                "cpu_time_limit" => json!(decimal(x.cpu_time_limit)),
                "cpu_extra_time" => json!(decimal(0.0)),
                "wall_time_limit" => json!(decimal(x.wall_time_limit)),
                "memory_limit" => json!(x.memory_limit),
                "compile_output" => json!(o.compile_output),
                "exit_code" => json!(o.exit_code),
                "exit_signal" => json!(o.exit_signal),
                "message" => json!(o.message),
                "wall_time" => json!(o.wall_time),
                "command_line_arguments" => json!(x.command_line_arguments),
                "redirect_stderr_to_stdout" => json!(x.redirect_stderr_to_stdout),
                "enable_per_process_and_thread_time_limit"
                | "enable_per_process_and_thread_memory_limit"
                | "enable_network" => json!(false),
                "status" => status.to_json(),
                "language" => json!({ "id": x.language_id, "name": self.language_name }),
                // Judge0 knobs this engine does not have.
                _ => Value::Null,
            };
            let value = match value {
                Value::String(text) if base64 && ENCODED_FIELDS.contains(&field) => {
                    Value::String(encode_base64(text.as_bytes()))
                }
                v => v,
            };
            out.insert(field.to_string(), value);
        }
        Value::Object(out)
    }
}

/// Judge0 writes decimals such as limits as strings (`"5.0"`).
fn decimal(v: f64) -> String {
    let s = format!("{v}");
    if s.contains('.') {
        s
    } else {
        format!("{s}.0")
    }
}

/// `2026-11-29T13:05:01.123Z` (UTC, milliseconds), as Rails writes times.
pub fn timestamp(ms: i64) -> String {
    let (secs, millis) = (ms.div_euclid(1000), ms.rem_euclid(1000));
    let (days, day_secs) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (year, month, day) = crate::snippets::model::civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        day_secs / 3600,
        day_secs % 3600 / 60,
        day_secs % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use warmrun_api::{CompileJson, ExitJson, LeaseKind};

    fn result(
        verdict: Verdict,
        code: Option<i32>,
        signal: Option<i32>,
        out: &str,
    ) -> RunResultJson {
        RunResultJson {
            exit: ExitJson {
                verdict,
                exit_code: code,
                signal,
                wall_ms: 1234,
                cpu_ms: 5,
                memory_kb: 3000,
                truncated: false,
                lease: LeaseKind::Warm,
                total_ms: 1300,
                artifacts_truncated: false,
            },
            stdout: out.into(),
            stderr: "err".into(),
            compile: None,
            tests: None,
            artifacts: Vec::new(),
            cached: false,
        }
    }

    fn extras(expected: Option<&str>) -> Extras {
        Extras {
            language_id: 71,
            expected_output: expected.map(str::to_string),
            redirect_stderr_to_stdout: false,
            command_line_arguments: None,
            cpu_time_limit: 5.0,
            wall_time_limit: 10.0,
            memory_limit: 262_144,
            callback_url: None,
            base64_encoded: false,
            compiler_options: None,
            number_of_runs: 1,
        }
    }

    fn status(r: &RunResultJson, expected: Option<&str>) -> u8 {
        judge(r, &extras(expected)).status.unwrap().id()
    }

    #[test]
    fn statuses_map_like_judge0() {
        let ok = result(Verdict::Ok, Some(0), None, "4 \n\n");
        assert_eq!(status(&ok, None), 3);
        assert_eq!(status(&ok, Some("4")), 3);
        assert_eq!(status(&ok, Some("5")), 4);
        let rt = |sig| result(Verdict::RuntimeError, None, Some(sig), "");
        assert_eq!(status(&rt(11), None), 7);
        assert_eq!(status(&rt(25), None), 8);
        assert_eq!(status(&rt(8), None), 9);
        assert_eq!(status(&rt(6), None), 10);
        assert_eq!(status(&rt(15), None), 12);
        let nzec = judge(
            &result(Verdict::RuntimeError, Some(3), None, ""),
            &extras(None),
        );
        assert_eq!(nzec.status, Some(Status::Nzec));
        assert_eq!(nzec.message.as_deref(), Some("Exited with error status 3"));
        assert_eq!(nzec.exit_code, Some(3));
        assert_eq!(
            status(&result(Verdict::TimeLimit, None, Some(9), ""), None),
            5
        );
        assert_eq!(
            status(&result(Verdict::CpuLimit, None, Some(9), ""), None),
            5
        );
        let oom = judge(
            &result(Verdict::MemoryLimit, None, Some(9), ""),
            &extras(None),
        );
        assert_eq!(oom.status, Some(Status::OtherRuntimeError));
        assert!(oom.message.unwrap().contains("memory limit"));
        assert_eq!(
            status(&result(Verdict::OutputLimit, None, None, ""), None),
            8
        );
        assert_eq!(
            status(&result(Verdict::InternalError, None, None, ""), None),
            13
        );
        assert_eq!(
            status(&result(Verdict::Killed, None, Some(9), ""), None),
            12
        );
    }

    #[test]
    fn a_compile_error_reports_only_the_compiler() {
        let mut r = result(Verdict::CompileError, None, None, "");
        r.compile = Some(CompileJson {
            verdict: Verdict::CompileError,
            exit_code: Some(1),
            signal: None,
            wall_ms: 100,
            stdout: String::new(),
            stderr: "main.c:1: error".into(),
            cached: false,
        });
        let o = judge(&r, &extras(None));
        assert_eq!(o.status, Some(Status::CompilationError));
        assert_eq!(o.compile_output.as_deref(), Some("main.c:1: error"));
        assert_eq!(
            (o.stdout, o.stderr, o.time, o.exit_code),
            (None, None, None, None)
        );
    }

    #[test]
    fn outcome_fields_read_like_judge0() {
        let o = judge(&result(Verdict::Ok, Some(0), None, ""), &extras(None));
        assert_eq!(o.time.as_deref(), Some("0.005"));
        assert_eq!(o.wall_time.as_deref(), Some("1.234"));
        assert_eq!(o.memory, Some(3000));
        assert_eq!(o.stdout, None, "empty output is null");
        let mut x = extras(None);
        x.redirect_stderr_to_stdout = true;
        let o = judge(&result(Verdict::Ok, Some(0), None, "out "), &x);
        assert_eq!(o.stdout.as_deref(), Some("out err"));
        assert_eq!(o.stderr, None);
    }

    #[test]
    fn outputs_compare_without_trailing_blanks() {
        assert!(same_output("a\nb", "a  \nb\n\n"));
        assert!(same_output("a\r\nb\r\n", "a\nb"));
        assert!(!same_output("a\n\nb", "a\nb"));
        assert!(!same_output(" a", "a"));
    }

    #[test]
    fn base64_reads_and_writes_like_ruby() {
        assert_eq!(decode_base64("aGk=\n").unwrap(), b"hi");
        assert_eq!(decode_base64("aGk").unwrap(), b"hi");
        assert!(decode_base64("!!").is_none());
        let long = encode_base64(&[b'x'; 50]);
        assert_eq!(long.lines().next().unwrap().len(), 60);
        assert!(long.ends_with('\n'));
        assert_eq!(decode_base64(&long).unwrap(), vec![b'x'; 50]);
        assert_eq!(encode_base64(b""), "");
    }

    #[test]
    fn arguments_split_like_bash() {
        assert_eq!(
            split_arguments(" a  'b c' \"d\\\"e\" f\\ g"),
            ["a", "b c", "d\"e", "f g"]
        );
        assert_eq!(split_arguments("x;rm$ -rf|y"), ["xrm", "-rfy"]);
        assert_eq!(split_arguments("''"), [""]);
        assert!(split_arguments("   ").is_empty());
    }

    #[test]
    fn fields_are_checked() {
        assert_eq!(requested_fields(None).unwrap(), DEFAULT_FIELDS);
        assert_eq!(requested_fields(Some("*")).unwrap(), ALL_FIELDS);
        assert_eq!(
            requested_fields(Some("stdout,token")).unwrap(),
            ["stdout", "token"]
        );
        assert_eq!(requested_fields(Some("stdout,nope")).unwrap_err(), ["nope"]);
    }

    #[test]
    fn timestamps_are_utc_with_millis() {
        assert_eq!(timestamp(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(timestamp(1_709_251_199_999), "2024-02-29T23:59:59.999Z");
        assert_eq!(timestamp(1_798_548_301_123), "2026-12-29T12:45:01.123Z");
    }

    fn catalog() -> Catalog {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        Catalog::load(&root.join("images/languages.toml")).unwrap()
    }

    fn body(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    const MAX: Limits = Limits {
        wall_ms: 20_000,
        cpu_ms: 10_000,
        memory_mb: 512,
        output_kb: 1024,
        compile_wall_ms: 30_000,
        idle_ms: 0,
    };

    #[test]
    fn submissions_become_runs() {
        let c = catalog();
        let ids: Vec<u32> = languages(&c).iter().map(|l| l.id).collect();
        for id in [46, 50, 52, 54, 60, 62, 63, 71, 73] {
            assert!(ids.contains(&id), "{id} in {ids:?}");
        }
        let sub = accept(
            &body(
                json!({"source_code": "int main(){}", "language_id": "52", "stdin": "in",
                         "cpu_time_limit": 100, "wall_time_limit": "2.5", "memory_limit": 100000,
                         "command_line_arguments": "a 'b c'", "expected_output": "x",
                         "stack_limit": 64000, "number_of_runs": 1}),
            ),
            false,
            &c,
            &MAX,
            &[],
        )
        .unwrap();
        assert_eq!(sub.run.language, "cpp");
        assert_eq!(sub.run.code.as_deref(), Some("int main(){}"));
        assert_eq!(sub.run.stdin.as_deref(), Some("in"));
        assert_eq!(sub.run.args, ["a", "b c"]);
        assert_eq!(
            sub.run.limits.cpu_ms,
            Some(10_000),
            "lowered to the maximum"
        );
        assert_eq!(sub.run.limits.wall_ms, Some(2_500));
        assert_eq!(sub.run.limits.memory_mb, Some(98));
        assert_eq!(sub.extras.cpu_time_limit, 10.0);
        assert_eq!(sub.extras.memory_limit, 98 * 1024);
        assert_eq!(sub.extras.expected_output.as_deref(), Some("x"));
        let back = Accepted::from_stored(&sub.stored()).unwrap();
        assert_eq!(back, sub);
        // What the queue runs of it: the run alone.
        let run = crate::cluster::queue::stored_run(&sub.stored()).unwrap();
        assert_eq!(run, sub.run);

        let b64 = accept(
            &body(json!({"source_code": "cHJpbnQoMSk=\n", "language_id": 71})),
            true,
            &c,
            &MAX,
            &[],
        )
        .unwrap();
        assert_eq!(b64.run.code.as_deref(), Some("print(1)"));
    }

    #[test]
    fn bad_submissions_name_their_fields() {
        let c = catalog();
        let hosts = ["hooks.example.com".to_string()];
        let errors =
            |v: Value, base64: bool| accept(&body(v), base64, &c, &MAX, &hosts).unwrap_err();
        let e = errors(json!({}), false);
        assert_eq!(e["source_code"], ["can't be blank"]);
        assert_eq!(e["language_id"], ["can't be blank"]);
        let e = errors(json!({"source_code": "x", "language_id": 7.5}), false);
        assert!(e["language_id"][0].contains("doesn't exist"), "{e:?}");
        let e = errors(json!({"source_code": "%%", "language_id": 71}), true);
        assert!(e["source_code"][0].contains("base64"), "{e:?}");
        let e = errors(json!({"source_code": "/w==", "language_id": 71}), true);
        assert!(e["source_code"][0].contains("UTF-8"), "{e:?}");
        let e = errors(
            json!({"source_code": "x", "language_id": 71, "wall_time_limit": 0.5,
                   "cpu_time_limit": -1, "redirect_stderr_to_stdout": "maybe"}),
            false,
        );
        assert_eq!(e.len(), 3, "{e:?}");
        let e = errors(
            json!({"source_code": "x", "language_id": 71, "callback_url": "http://x",
                   "additional_files": "%%", "number_of_runs": 21}),
            false,
        );
        assert_eq!(e.len(), 3, "{e:?}");
        assert!(e["number_of_runs"][0].contains("20"), "{e:?}");
        assert!(e["callback_url"][0].contains("not allowed"), "{e:?}");
        assert!(e["additional_files"][0].contains("base64"), "{e:?}");
        for bad in [
            "ftp://hooks.example.com/x",
            "hooks.example.com/x",
            "https://hooks.example.com/x",
        ] {
            let e = errors(
                json!({"source_code": "x", "language_id": 71, "callback_url": bad}),
                false,
            );
            assert!(e.contains_key("callback_url"), "{bad}: {e:?}");
        }
    }

    #[test]
    fn compiler_options_and_number_of_runs_shape_the_run() {
        let c = catalog();
        let accept = |v: Value| accept(&body(v), false, &c, &MAX, &[]).unwrap();
        let sub = accept(json!({"source_code": "int main(){}", "language_id": 50,
                                "compiler_options": "-O0 -DNAME='a b'", "stdin": "in",
                                "number_of_runs": 3, "expected_output": "x"}));
        assert_eq!(sub.run.compile_options, ["-O0", "-DNAME=a b"]);
        assert_eq!(
            sub.extras.compiler_options.as_deref(),
            Some("-O0 -DNAME='a b'")
        );
        assert_eq!(sub.run.stdin, None);
        assert_eq!(sub.stdin(), Some("in"));
        let tests = sub.run.tests.as_ref().unwrap();
        assert_eq!(tests.len(), 3);
        assert_eq!(tests[2].expected_stdout.as_deref(), Some("x"));
        assert!(sub.run.stop_on_first_failure);
        assert_eq!(Accepted::from_stored(&sub.stored()).unwrap(), sub);
        // Judge0 ignores compiler options where there is no compiler.
        let py = accept(json!({"source_code": "print(1)", "language_id": 71,
                               "compiler_options": "-O"}));
        assert!(py.run.compile_options.is_empty());
        assert!(py.run.tests.is_none());
    }

    #[test]
    fn several_runs_read_as_their_average() {
        let mut r = result(Verdict::Ok, Some(0), None, "");
        let case = |i: usize, cpu: u64, verdict: Verdict| CaseResultJson {
            index: i,
            verdict,
            exit_code: Some(0),
            signal: None,
            wall_ms: cpu * 2,
            cpu_ms: cpu,
            memory_kb: 1000 * cpu,
            truncated: false,
            stdout: format!("{i}\n"),
            stderr: String::new(),
        };
        r.tests = Some(TestsJson {
            cases: vec![
                case(0, 10, Verdict::Accepted),
                case(1, 20, Verdict::WrongAnswer),
            ],
            summary: warmrun_api::TestSummaryJson {
                passed: 1,
                total: 3,
                run: 2,
                first_failure: Some(1),
            },
        });
        let o = judge(&r, &extras(Some("0")));
        assert_eq!(o.status, Some(Status::WrongAnswer));
        assert_eq!(o.stdout.as_deref(), Some("1\n"));
        assert_eq!(o.time.as_deref(), Some("0.015"));
        assert_eq!(o.wall_time.as_deref(), Some("0.030"));
        assert_eq!(o.memory, Some(15_000));
    }

    #[test]
    fn additional_files_and_callbacks_are_kept() {
        use std::io::Write;
        let c = catalog();
        let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        w.start_file("data.txt", zip::write::SimpleFileOptions::default())
            .unwrap();
        w.write_all(b"42").unwrap();
        let zip = encode_base64(&w.finish().unwrap().into_inner());
        let hosts = ["Hooks.Example.com".to_string()];
        let sub = accept(
            &body(json!({"source_code": "cHJpbnQoMSk=", "language_id": 71,
                         "additional_files": zip,
                         "callback_url": "http://hooks.example.com/done"})),
            true,
            &c,
            &MAX,
            &hosts,
        )
        .unwrap();
        let files = sub.run.files.as_ref().unwrap();
        assert_eq!(files.len(), 2);
        assert_eq!(
            (files[0].name.as_str(), files[0].content.as_str()),
            ("", "print(1)")
        );
        assert_eq!(files[1].name, "data.txt");
        assert_eq!(sub.source_code(), Some("print(1)"));
        assert_eq!(
            sub.extras.callback_url.as_deref(),
            Some("http://hooks.example.com/done")
        );
        assert!(sub.extras.base64_encoded);
        assert_eq!(Accepted::from_stored(&sub.stored()).unwrap(), sub);
    }

    #[test]
    fn statuses_are_judge0s() {
        let ids: Vec<u8> = Status::ALL.iter().map(|s| s.id()).collect();
        assert_eq!(ids, (1..=14).collect::<Vec<u8>>());
        assert_eq!(Status::Sigabrt.description(), "Runtime Error (SIGABRT)");
    }
}
