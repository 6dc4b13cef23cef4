//! The browser side of a playground session: fetching the catalog, running code over
//! the WebSocket API, sharing and loading snippets. Compiled for wasm32 only.

use crate::api::{
    format_error_message, frame_json, http_url, output_to_share, parse_server_frame, pick_language,
    push_capped, run_frame, share_error_message, ws_url, ClientFrame, Created, FormatRequest,
    FormatResponse, Language, LastRun, NewSnippet, ServerFrame, Snippet, SnippetOutput, Verdict,
    MAX_KEPT_OUTPUT,
};
use crate::playground::{Capture, Phase, Session, ShareState, SnippetLoad};
use crate::terminal::InputMode;
use leptos::prelude::*;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{CloseEvent, MessageEvent, WebSocket};

/// An open (or opening) WebSocket and the handlers that must live as long as it.
pub struct Socket {
    id: u64,
    ws: WebSocket,
    _on_open: Closure<dyn FnMut()>,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_close: Closure<dyn FnMut(CloseEvent)>,
    /// A frame to send once open.
    pending: Option<String>,
}

impl Drop for Socket {
    fn drop(&mut self) {
        self.ws.set_onopen(None);
        self.ws.set_onmessage(None);
        self.ws.set_onclose(None);
        let _ = self.ws.close();
    }
}

pub(crate) fn origin() -> String {
    web_sys::window()
        .and_then(|w| w.location().origin().ok())
        .unwrap_or_default()
}

/// Fetches the catalog and picks the starting language (and its example, unless the
/// playground was given code).
pub fn load_languages(s: Session) {
    leptos::task::spawn_local(async move {
        let url = http_url(&s.server_url.get_value(), &origin(), "/api/v1/languages");
        match fetch_languages(&url).await {
            Ok(list) => {
                s.languages.set(list);
                // A snippet being loaded sets language and code itself.
                if s.snippet.with_untracked(|l| *l != SnippetLoad::Loading) {
                    choose_language(s);
                }
            }
            Err(e) => s
                .message
                .set(Some(format!("Could not load the languages: {e}"))),
        }
    });
}

/// Shows the wanted language (or the default one) once the catalog is there, with its
/// example unless there is code already.
fn choose_language(s: Session) {
    let wanted = s.lang.get_untracked();
    let wanted = (!wanted.is_empty()).then_some(wanted);
    let chosen = s
        .languages
        .with_untracked(|list| pick_language(list, wanted.as_deref()).cloned());
    if let Some(l) = chosen {
        if let Some(w) = wanted.filter(|w| !w.eq_ignore_ascii_case(&l.id)) {
            if s.snippet
                .with_untracked(|l| matches!(l, SnippetLoad::Loaded { .. }))
            {
                s.message.set(Some(format!(
                    "This snippet's language “{w}” is not available here; showing {}.",
                    l.name
                )));
            }
        }
        s.lang.set(l.id.clone());
        if s.code.with_untracked(String::is_empty) {
            s.mark_loaded(&l.id, &l.example);
            s.code.set(l.example);
        } else if s.loaded.with_value(|m| !m.contains_key(&l.id)) {
            // The starting code (or a snippet's, under another language's name): not edits.
            s.mark_loaded(&l.id, &s.code.get_untracked());
        }
    }
}

async fn fetch_languages(url: &str) -> Result<Vec<Language>, String> {
    let (status, text) = fetch_text(url, None).await?;
    if !(200..300).contains(&status) {
        return Err(format!("HTTP {status}"));
    }
    serde_json::from_str(&text).map_err(|e| format!("bad catalog: {e}"))
}

/// GET `url`, or POST `json` to it: the status and the body's text.
pub(crate) async fn fetch_text(url: &str, json: Option<&str>) -> Result<(u16, String), String> {
    use wasm_bindgen_futures::JsFuture;
    let window = web_sys::window().ok_or("no window")?;
    let promise = match json {
        None => window.fetch_with_str(url),
        Some(body) => {
            let init = web_sys::RequestInit::new();
            init.set_method("POST");
            init.set_body(&JsValue::from_str(body));
            let headers = web_sys::Headers::new().map_err(|e| js_error(&e))?;
            headers
                .set("content-type", "application/json")
                .map_err(|e| js_error(&e))?;
            init.set_headers(&headers);
            window.fetch_with_str_and_init(url, &init)
        }
    };
    let resp = JsFuture::from(promise).await.map_err(|e| js_error(&e))?;
    let resp: web_sys::Response = resp.unchecked_into();
    let text = JsFuture::from(resp.text().map_err(|e| js_error(&e))?)
        .await
        .map_err(|e| js_error(&e))?
        .as_string()
        .unwrap_or_default();
    Ok((resp.status(), text))
}

/// Loads the playground's snippet: language, code and saved output.
pub fn load_snippet(s: Session) {
    leptos::task::spawn_local(async move {
        let id = s.snippet_id.get_value();
        let path = format!(
            "/api/v1/snippets/{}",
            String::from(js_sys::encode_uri_component(&id))
        );
        let url = http_url(&s.server_url.get_value(), &origin(), &path);
        let outcome = match fetch_text(&url, None).await {
            // 400: not even shaped like an id.
            Ok((404 | 400, _)) => Err(None),
            Ok((200, text)) => serde_json::from_str::<Snippet>(&text)
                .map_err(|e| Some(format!("The server's answer was not understood ({e})."))),
            Ok((status, text)) => Err(Some(
                crate::api::parse_api_error(&text)
                    .map(|(_, m)| format!("{m} (HTTP {status})."))
                    .unwrap_or_else(|| format!("HTTP {status}.")),
            )),
            Err(e) => Err(Some(format!("The server could not be reached ({e})."))),
        };
        match outcome {
            Ok(snippet) => {
                s.lang.set(snippet.language.clone());
                s.mark_loaded(&snippet.language, &snippet.main_code());
                s.code.set(snippet.main_code());
                s.stdin.set(snippet.stdin.clone().unwrap_or_default());
                if let Some(title) = &snippet.title {
                    set_document_title(&format!("{title} · warmrun"));
                }
                s.snippet.set(SnippetLoad::Loaded {
                    language: snippet.language.clone(),
                    title: snippet.title.clone(),
                    created_at: snippet.created_at.clone(),
                    extra_files: snippet.extra_files(),
                });
                if let Some(output) = snippet.output {
                    show_saved_output(s, &output);
                    // Shared again unchanged, the snippet keeps its output.
                    s.last_run.set_value(Some(LastRun {
                        language: snippet.language,
                        code: s.code.get_untracked(),
                        stdin: snippet.stdin.unwrap_or_default(),
                        output,
                    }));
                }
            }
            Err(None) => s.snippet.set(SnippetLoad::NotFound),
            Err(Some(msg)) => s.snippet.set(SnippetLoad::Failed(msg)),
        }
        if !s.languages.with_untracked(Vec::is_empty) {
            choose_language(s);
        }
    });
}

fn set_document_title(title: &str) {
    if let Some(doc) = web_sys::window().and_then(|w| w.document()) {
        doc.set_title(title);
    }
}

/// Text in dim colours, its trailing newline after the reset (so the terminal knows
/// the line ended).
fn dimmed(text: &str, sgr: &str) -> String {
    match text.strip_suffix('\n') {
        Some(body) => format!("\x1b[{sgr}m{body}\x1b[0m\n"),
        None => format!("\x1b[{sgr}m{text}\x1b[0m"),
    }
}

/// Writes a snippet's saved output to the terminal, greyed, under a label.
pub(crate) fn show_saved_output(s: Session, o: &SnippetOutput) {
    s.term.clear();
    s.term
        .write_info("── saved output, from when this snippet was shared ──");
    if !o.stdout.is_empty() {
        s.term.write(&dimmed(&o.stdout, "2"));
    }
    if !o.stderr.is_empty() {
        s.term.write(&dimmed(&o.stderr, "2;31"));
    }
    let how = o
        .exit_code
        .map(|c| format!(", exit code {c}"))
        .unwrap_or_default();
    s.term.write_info(&format!(
        "[saved: {}{how}]",
        crate::api::verdict_label(o.verdict)
    ));
    s.saved.set(Some(o.clone()));
}

/// Saves the editor's code with `title` and `stdin` (and the last run's output, if it ran
/// this code) as a snippet, then copies its link.
pub fn share(s: Session, title: String, stdin: String) {
    if s.share.with_untracked(|st| *st == ShareState::Saving) {
        return;
    }
    let language = s.lang.get_untracked();
    let code = s.code.get_untracked();
    if language.is_empty() {
        return;
    }
    if code.trim().is_empty() {
        s.share.set(ShareState::Failed(
            "Nothing to share: the editor is empty.".into(),
        ));
        return;
    }
    let output = s
        .last_run
        .with_value(|l| output_to_share(l.as_ref(), &language, &code));
    let body = serde_json::to_string(&NewSnippet {
        language,
        code: Some(code),
        output,
        title: Some(title).filter(|t| !t.trim().is_empty()),
        stdin: Some(stdin).filter(|t| !t.is_empty()),
        ..NewSnippet::default()
    })
    .expect("snippets always serialize");
    s.share.set(ShareState::Saving);
    leptos::task::spawn_local(async move {
        let url = http_url(&s.server_url.get_value(), &origin(), "/api/v1/snippets");
        let state = match fetch_text(&url, Some(&body)).await {
            Ok((201 | 200, text)) => match serde_json::from_str::<Created>(&text) {
                Ok(created) => {
                    let link = http_url(&s.server_url.get_value(), &origin(), &created.url);
                    let copied = copy_to_clipboard(&link).await;
                    ShareState::Done { link, copied }
                }
                Err(e) => ShareState::Failed(format!("Could not share: unexpected answer ({e}).")),
            },
            Ok((status, text)) => ShareState::Failed(share_error_message(status, &text)),
            Err(e) => ShareState::Failed(format!(
                "Could not share: the server could not be reached ({e})."
            )),
        };
        s.share.try_set(state);
    });
}

/// Formats the editor's code with the language's formatter (`POST /api/v1/format`) and
/// puts the result into the editor (the editor keeps the cursor's line and column). Code
/// edited while the formatter worked is left alone; a formatter's refusal (a syntax error)
/// shows in the status line in its own words.
pub fn format(s: Session) {
    if s.formatting.get_untracked() {
        return;
    }
    let language = s.lang.get_untracked();
    let code = s.code.get_untracked();
    if language.is_empty() || code.trim().is_empty() {
        return;
    }
    let body = serde_json::to_string(&FormatRequest {
        language,
        version: None,
        code: code.clone(),
    })
    .expect("a format request always serializes");
    s.formatting.set(true);
    leptos::task::spawn_local(async move {
        let url = http_url(&s.server_url.get_value(), &origin(), "/api/v1/format");
        let failed = match fetch_text(&url, Some(&body)).await {
            Ok((200, text)) => match serde_json::from_str::<FormatResponse>(&text) {
                Ok(done) => {
                    if s.code.try_get_untracked().as_deref() == Some(code.as_str()) {
                        s.code.try_set(done.code);
                    }
                    None
                }
                Err(e) => Some(format!("Could not format: unexpected answer ({e}).")),
            },
            Ok((status, text)) => Some(format_error_message(status, &text)),
            Err(e) => Some(format!(
                "Could not format: the server could not be reached ({e})."
            )),
        };
        // A formatting message goes once the code formats; other messages stay.
        let stale = |m: &Option<String>| {
            m.as_ref()
                .is_some_and(|m| m.starts_with("Could not format"))
        };
        if failed.is_some() || s.message.with_untracked(stale) {
            s.message.try_set(failed);
        }
        s.formatting.try_set(false);
    });
}

/// "Copy" next to a link that did not make it to the clipboard.
pub fn copy_again(s: Session) {
    let Some(link) = s.share.with_untracked(|st| match st {
        ShareState::Done { link, .. } => Some(link.clone()),
        _ => None,
    }) else {
        return;
    };
    leptos::task::spawn_local(async move {
        if copy_to_clipboard(&link).await {
            s.share.try_set(ShareState::Done { link, copied: true });
        }
    });
}

/// Puts `text` on the clipboard: the asynchronous clipboard API where there is one
/// (secure contexts), else `document.execCommand("copy")`. False when neither worked
/// (then the user copies the shown link by hand).
async fn copy_to_clipboard(text: &str) -> bool {
    use js_sys::Reflect;
    let Some(window) = web_sys::window() else {
        return false;
    };
    let clipboard = Reflect::get(&window.navigator(), &JsValue::from_str("clipboard"))
        .ok()
        .filter(|c| !c.is_undefined() && !c.is_null());
    if let Some(clipboard) = clipboard {
        let write = Reflect::get(&clipboard, &JsValue::from_str("writeText"))
            .ok()
            .and_then(|f| f.dyn_into::<js_sys::Function>().ok());
        if let Some(write) = write {
            if let Ok(promise) = write.call1(&clipboard, &JsValue::from_str(text)) {
                if let Ok(promise) = promise.dyn_into::<js_sys::Promise>() {
                    if wasm_bindgen_futures::JsFuture::from(promise).await.is_ok() {
                        return true;
                    }
                }
            }
        }
    }
    exec_copy(text)
}

/// The old way: `document.execCommand("copy")` with `text` selected in a hidden field
/// (works without the clipboard API, e.g. over plain http, soon after a click).
fn exec_copy(text: &str) -> bool {
    use js_sys::Reflect;
    let Some(doc) = web_sys::window().and_then(|w| w.document()) else {
        return false;
    };
    let Some(body) = doc.body() else {
        return false;
    };
    let Some(field) = doc
        .create_element("textarea")
        .ok()
        .and_then(|el| el.dyn_into::<web_sys::HtmlTextAreaElement>().ok())
    else {
        return false;
    };
    let focused = doc
        .active_element()
        .and_then(|el| el.dyn_into::<web_sys::HtmlElement>().ok());
    field.set_value(text);
    let _ = field.set_attribute("readonly", "");
    let _ = field.set_attribute(
        "style",
        "position:fixed;top:0;left:0;width:1px;height:1px;opacity:0;",
    );
    if body.append_child(&field).is_err() {
        return false;
    }
    field.select();
    let copied = Reflect::get(&doc, &JsValue::from_str("execCommand"))
        .ok()
        .and_then(|f| f.dyn_into::<js_sys::Function>().ok())
        .and_then(|f| f.call1(&doc, &JsValue::from_str("copy")).ok())
        .and_then(|ok| ok.as_bool())
        .unwrap_or(false);
    field.remove();
    if let Some(el) = focused {
        let _ = el.focus();
    }
    copied
}

fn js_error(e: &JsValue) -> String {
    e.as_string()
        .or_else(|| {
            e.dyn_ref::<js_sys::Error>()
                .map(|e| String::from(e.message()))
        })
        .unwrap_or_else(|| "network error".into())
}

fn is_open(s: Session) -> bool {
    s.socket
        .try_with_value(|so| {
            so.as_ref()
                .map(|so| so.ws.ready_state() == WebSocket::OPEN)
                .unwrap_or(false)
        })
        .unwrap_or(false)
}

/// Sends a frame if the socket is open.
fn send(s: Session, msg: &ClientFrame) {
    s.socket.with_value(|so| {
        if let Some(so) = so {
            if so.ws.ready_state() == WebSocket::OPEN {
                let _ = so.ws.send_with_str(&frame_json(msg));
            }
        }
    });
}

/// Starts a run: clears the terminal, connects if needed and sends the `run` frame.
pub fn run(s: Session) {
    if s.phase.get_untracked().is_busy() {
        return;
    }
    let language = s.lang.get_untracked();
    if language.is_empty() {
        return;
    }
    let tty = s.tty.get_untracked();
    let (cols, rows) = s.term.size();
    let mut frame = run_frame(language, s.code.get_untracked(), tty, Some((cols, rows)));
    if let ClientFrame::Run(f) = &mut frame {
        f.run.stdin = Some(s.stdin.get_untracked()).filter(|i| !i.is_empty());
    }
    let frame = frame_json(&frame);
    s.capture.set_value(Some(Capture {
        language: s.lang.get_untracked(),
        code: s.code.get_untracked(),
        ..Default::default()
    }));
    s.term.clear();
    s.term.set_mode(InputMode::Off);
    s.result.set(None);
    s.artifacts.set(Vec::new());
    s.message.set(None);
    s.saved.set(None);
    s.phase.set(Phase::Starting);
    s.waiting.set(false);
    if is_open(s) {
        s.socket.with_value(|so| {
            if let Some(so) = so {
                let _ = so.ws.send_with_str(&frame);
            }
        });
    } else {
        connect(s, frame);
    }
}

static NEXT_SOCKET: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

fn connect(s: Session, first_frame: String) {
    let id = NEXT_SOCKET.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let url = ws_url(&s.server_url.get_value(), &origin());
    let ws = match WebSocket::new(&url) {
        Ok(ws) => ws,
        Err(e) => {
            fail(s, format!("Could not connect: {}", js_error(&e)));
            return;
        }
    };
    let on_open = Closure::<dyn FnMut()>::new(move || {
        s.socket.update_value(|so| {
            if let Some(so) = so {
                if let Some(frame) = so.pending.take() {
                    let _ = so.ws.send_with_str(&frame);
                }
            }
        });
    });
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |ev: MessageEvent| {
        if let Some(text) = ev.data().as_string() {
            if let Some(msg) = parse_server_frame(&text) {
                handle(s, msg);
            }
        }
    });
    let on_close = Closure::<dyn FnMut(CloseEvent)>::new(move |_ev: CloseEvent| {
        // Drop our side after this handler returns (not from inside it), unless a newer
        // socket has replaced it meanwhile.
        leptos::task::spawn_local(async move {
            let _closed = s
                .socket
                .try_update_value(|so| so.take_if(|so| so.id == id))
                .flatten();
        });
        if s.phase.get_untracked().is_busy() {
            fail(s, "The connection to the server was lost.".into());
        }
    });
    ws.set_onopen(Some(on_open.as_ref().unchecked_ref()));
    ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
    let socket = Socket {
        id,
        ws,
        _on_open: on_open,
        _on_message: on_message,
        _on_close: on_close,
        pending: Some(first_frame),
    };
    // Replacing an old socket closes it (Drop), after unhooking its handlers.
    let old = s.socket.try_update_value(|so| so.replace(socket)).flatten();
    drop(old);
}

/// Keeps program output for sharing.
fn capture(s: Session, stdout: &str, stderr: &str) {
    s.capture.update_value(|c| {
        if let Some(c) = c {
            push_capped(&mut c.stdout, stdout, MAX_KEPT_OUTPUT);
            push_capped(&mut c.stderr, stderr, MAX_KEPT_OUTPUT);
        }
    });
}

fn fail(s: Session, message: String) {
    s.capture.set_value(None);
    s.waiting.set(false);
    s.term.set_mode(InputMode::Off);
    s.term.write_info(&message);
    s.phase.set(Phase::Idle);
    s.message.set(Some(message));
}

fn handle(s: Session, msg: ServerFrame) {
    match msg {
        ServerFrame::Queued { position } => {
            if matches!(s.phase.get_untracked(), Phase::Starting | Phase::Queued(_)) {
                s.phase.set(Phase::Queued(position));
            }
        }
        ServerFrame::Compile(c) => {
            capture(s, &c.stdout, &c.stderr);
            s.term.write(&c.stdout);
            s.term.write_err(&c.stderr);
            // A compiler that fails just exits non-zero (the exit frame says so); note
            // only a compile step stopped by a limit.
            if !matches!(c.verdict, Verdict::Ok | Verdict::RuntimeError) {
                s.term.write_info(&format!(
                    "compilation stopped: {} after {}",
                    crate::api::verdict_label(c.verdict),
                    crate::api::format_ms(c.wall_ms)
                ));
            }
        }
        ServerFrame::Started => {
            if s.phase.get_untracked() != Phase::Stopping {
                s.phase.set(Phase::Running);
            }
            let mode = if s.tty.get_untracked() {
                InputMode::Raw
            } else {
                InputMode::Cooked
            };
            s.term.set_mode(mode);
            s.term.focus();
        }
        ServerFrame::WaitingForInput => {
            if s.phase.get_untracked() == Phase::Running {
                s.waiting.set(true);
                s.term.focus();
            }
        }
        ServerFrame::Stdout { data } => {
            capture(s, &data, "");
            s.term.write(&data);
        }
        ServerFrame::Stderr { data } => {
            capture(s, "", &data);
            s.term.write_err(&data);
        }
        ServerFrame::Artifact(a) => s.artifacts.update(|list| list.push(a)),
        ServerFrame::Exit(e) => {
            if let Some(c) = s.capture.try_update_value(Option::take).flatten() {
                s.last_run.set_value(Some(LastRun {
                    language: c.language,
                    code: c.code,
                    stdin: c.stdin,
                    output: SnippetOutput {
                        verdict: e.verdict,
                        stdout: c.stdout,
                        stderr: c.stderr,
                        exit_code: e.exit_code,
                    },
                }));
            }
            s.term.set_mode(InputMode::Off);
            s.waiting.set(false);
            let how = match (e.exit_code, e.signal) {
                (_, Some(sig)) => format!("signal {sig}"),
                (Some(c), None) => format!("exit code {c}"),
                _ => String::new(),
            };
            let mut note = format!("[{}", crate::api::verdict_label(e.verdict));
            if !how.is_empty() {
                note.push_str(&format!(", {how}"));
            }
            note.push_str(&format!(", {}]", crate::api::format_ms(e.wall_ms)));
            s.term.write_info(&note);
            s.phase.set(Phase::Idle);
            s.result.set(Some(e));
        }
        ServerFrame::Error { code, message } => {
            let text = match code.as_str() {
                "queue_full" | "busy" => {
                    format!("The server is busy, try again shortly ({message})")
                }
                "rate_limited" => format!("Too many runs, slow down a little ({message})"),
                _ => format!("Error: {message} ({code})"),
            };
            fail(s, text);
        }
        ServerFrame::Unknown => {}
    }
}

/// Stops the run: sends `kill`, and closes the connection if the server does not answer
/// within 3 s (closing kills the run too).
pub fn stop(s: Session) {
    match s.phase.get_untracked() {
        Phase::Idle | Phase::Stopping => {}
        Phase::Starting if !is_open(s) => {
            s.socket.update_value(|so| {
                so.take();
            });
            s.term.set_mode(InputMode::Off);
            s.term.write_info("[Stopped]");
            s.phase.set(Phase::Idle);
        }
        _ => {
            s.phase.set(Phase::Stopping);
            send(s, &ClientFrame::Kill {});
            let watchdog = Closure::once_into_js(move || {
                if s.phase.try_get_untracked() == Some(Phase::Stopping) {
                    s.socket.try_update_value(|so| so.take());
                    fail(s, "Stopped (the server did not confirm).".into());
                }
            });
            if let Some(w) = web_sys::window() {
                let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(
                    watchdog.unchecked_ref(),
                    3000,
                );
            }
        }
    }
}

/// Typed input for the program's stdin.
pub fn send_stdin(s: Session, data: String) {
    if matches!(s.phase.get_untracked(), Phase::Running) {
        // A terminal run gets each keystroke: only a whole line (or EOF) answers the wait.
        if crate::api::ends_a_wait(&data) {
            s.waiting.set(false);
        }
        s.capture.update_value(|c| {
            if let Some(c) = c {
                push_capped(&mut c.stdin, &data, MAX_KEPT_OUTPUT);
            }
        });
        send(s, &ClientFrame::Stdin { data });
    }
}

/// End of input (Ctrl+D on an empty line).
pub fn send_eof(s: Session) {
    if matches!(s.phase.get_untracked(), Phase::Running) {
        s.waiting.set(false);
        send(s, &ClientFrame::Eof {});
    }
}

/// The terminal was resized: tell a tty run.
pub fn send_resize(s: Session, cols: u16, rows: u16) {
    if s.tty.get_untracked() && matches!(s.phase.get_untracked(), Phase::Running) {
        send(s, &ClientFrame::Resize { cols, rows });
    }
}
