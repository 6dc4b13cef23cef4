//! The browser side of a playground session: fetching the catalog and running code over
//! the WebSocket API. Compiled for wasm32 only.

use crate::api::{http_url, pick_language, ws_url, ClientMsg, Language, ServerMsg};
use crate::playground::{Phase, Session};
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

fn origin() -> String {
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
                let wanted = s.lang.get_untracked();
                let wanted = (!wanted.is_empty()).then_some(wanted);
                let chosen = pick_language(&list, wanted.as_deref()).cloned();
                s.languages.set(list);
                if let Some(l) = chosen {
                    s.lang.set(l.id.clone());
                    if s.code.with_untracked(String::is_empty) {
                        s.code.set(l.example);
                    }
                }
            }
            Err(e) => s
                .message
                .set(Some(format!("Could not load the languages: {e}"))),
        }
    });
}

async fn fetch_languages(url: &str) -> Result<Vec<Language>, String> {
    use wasm_bindgen_futures::JsFuture;
    let window = web_sys::window().ok_or("no window")?;
    let resp = JsFuture::from(window.fetch_with_str(url))
        .await
        .map_err(|e| js_error(&e))?;
    let resp: web_sys::Response = resp.unchecked_into();
    if !resp.ok() {
        return Err(format!("HTTP {}", resp.status()));
    }
    let text = JsFuture::from(resp.text().map_err(|e| js_error(&e))?)
        .await
        .map_err(|e| js_error(&e))?
        .as_string()
        .unwrap_or_default();
    serde_json::from_str(&text).map_err(|e| format!("bad catalog: {e}"))
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
fn send(s: Session, msg: &ClientMsg) {
    s.socket.with_value(|so| {
        if let Some(so) = so {
            if so.ws.ready_state() == WebSocket::OPEN {
                let _ = so.ws.send_with_str(&msg.to_json());
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
    let frame = ClientMsg::Run {
        language,
        code: s.code.get_untracked(),
        tty,
        cols: Some(cols),
        rows: Some(rows),
    }
    .to_json();
    s.term.clear();
    s.term.set_mode(InputMode::Off);
    s.result.set(None);
    s.message.set(None);
    s.phase.set(Phase::Starting);
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
            if let Some(msg) = ServerMsg::parse(&text) {
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

fn fail(s: Session, message: String) {
    s.term.set_mode(InputMode::Off);
    s.term.write_info(&message);
    s.phase.set(Phase::Idle);
    s.message.set(Some(message));
}

fn handle(s: Session, msg: ServerMsg) {
    match msg {
        ServerMsg::Queued { position } => {
            if matches!(s.phase.get_untracked(), Phase::Starting | Phase::Queued(_)) {
                s.phase.set(Phase::Queued(position));
            }
        }
        ServerMsg::Compile(c) => {
            s.term.write(&c.stdout);
            s.term.write_err(&c.stderr);
            // A compiler that fails just exits non-zero (the exit frame says so); note
            // only a compile step stopped by a limit.
            if c.verdict != "ok" && c.verdict != "runtime_error" {
                s.term.write_info(&format!(
                    "compilation stopped: {} after {}",
                    crate::api::verdict_label(&c.verdict),
                    crate::api::format_ms(c.wall_ms)
                ));
            }
        }
        ServerMsg::Started => {
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
        ServerMsg::Stdout { data } => s.term.write(&data),
        ServerMsg::Stderr { data } => s.term.write_err(&data),
        ServerMsg::Exit(e) => {
            s.term.set_mode(InputMode::Off);
            let how = match (e.exit_code, e.signal) {
                (_, Some(sig)) => format!("signal {sig}"),
                (Some(c), None) => format!("exit code {c}"),
                _ => String::new(),
            };
            let mut note = format!("[{}", crate::api::verdict_label(&e.verdict));
            if !how.is_empty() {
                note.push_str(&format!(", {how}"));
            }
            note.push_str(&format!(", {}]", crate::api::format_ms(e.wall_ms)));
            s.term.write_info(&note);
            s.phase.set(Phase::Idle);
            s.result.set(Some(e));
        }
        ServerMsg::Error { code, message } => {
            let text = match code.as_str() {
                "queue_full" | "busy" => {
                    format!("The server is busy, try again shortly ({message})")
                }
                "rate_limited" => format!("Too many runs, slow down a little ({message})"),
                _ => format!("Error: {message} ({code})"),
            };
            fail(s, text);
        }
        ServerMsg::Unknown => {}
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
            send(s, &ClientMsg::Kill);
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
        send(s, &ClientMsg::Stdin { data });
    }
}

/// End of input (Ctrl+D on an empty line).
pub fn send_eof(s: Session) {
    if matches!(s.phase.get_untracked(), Phase::Running) {
        send(s, &ClientMsg::Eof);
    }
}

/// The terminal was resized: tell a tty run.
pub fn send_resize(s: Session, cols: u16, rows: u16) {
    if s.tty.get_untracked() && matches!(s.phase.get_untracked(), Phase::Running) {
        send(s, &ClientMsg::Resize { cols, rows });
    }
}
