//! The playground: language picker, editor, terminal, Run/Stop/Clear/Share and a status
//! line, talking to the server's WebSocket run API (`/api/v1/ws`).

use crate::api::{format_kb, format_ms, verdict_class, verdict_label, ExitInfo, Language};
use crate::editor::CodeEditor;
use crate::terminal::{Terminal, TerminalControl};
use leptos::prelude::*;

/// Where a run is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// No run: Run is enabled.
    Idle,
    /// Opening the connection or waiting for the server to take the run.
    Starting,
    /// Waiting for a sandbox; 1 is next.
    Queued(u32),
    /// The program runs (after compiling, for compiled languages).
    Running,
    /// Stop was pressed; waiting for the server to confirm.
    Stopping,
}

impl Phase {
    pub fn is_busy(self) -> bool {
        self != Phase::Idle
    }
}

/// The state of one playground, shared by its parts. All fields are `Copy` handles.
#[derive(Clone, Copy)]
pub(crate) struct Session {
    pub languages: RwSignal<Vec<Language>>,
    pub lang: RwSignal<String>,
    pub code: RwSignal<String>,
    pub tty: RwSignal<bool>,
    pub phase: RwSignal<Phase>,
    pub result: RwSignal<Option<ExitInfo>>,
    pub message: RwSignal<Option<String>>,
    pub term: TerminalControl,
    #[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
    pub server_url: StoredValue<String>,
    /// Each language's text as last edited, so switching back and forth keeps it.
    pub drafts: StoredValue<std::collections::HashMap<String, String>>,
    #[cfg(target_arch = "wasm32")]
    pub socket: StoredValue<Option<crate::client::Socket>, LocalStorage>,
}

impl Session {
    fn new(lang: String, code: String, server_url: String) -> Session {
        Session {
            languages: RwSignal::new(Vec::new()),
            lang: RwSignal::new(lang),
            code: RwSignal::new(code),
            tty: RwSignal::new(false),
            phase: RwSignal::new(Phase::Idle),
            result: RwSignal::new(None),
            message: RwSignal::new(None),
            term: TerminalControl::new(),
            server_url: StoredValue::new(server_url),
            drafts: StoredValue::new(Default::default()),
            #[cfg(target_arch = "wasm32")]
            socket: StoredValue::new_local(None),
        }
    }

    /// Switches language: keeps the current text as that language's draft and shows the
    /// new language's draft or example.
    pub fn switch_language(&self, id: String) {
        let old = self.lang.get_untracked();
        if old == id {
            return;
        }
        let text = self.code.get_untracked();
        self.drafts.update_value(|d| {
            d.insert(old, text);
        });
        let next = self.drafts.with_value(|d| d.get(&id).cloned()).or_else(|| {
            self.languages
                .with_untracked(|ls| ls.iter().find(|l| l.id == id).map(|l| l.example.clone()))
        });
        self.lang.set(id);
        if let Some(next) = next {
            self.code.set(next);
        }
    }

    /// Starts a run of the editor's code (no-op while one runs).
    pub fn run(&self) {
        #[cfg(target_arch = "wasm32")]
        crate::client::run(*self);
    }

    /// Stops the current run (kills the program; leaves the queue).
    pub fn stop(&self) {
        #[cfg(target_arch = "wasm32")]
        crate::client::stop(*self);
    }

    /// Clears the terminal and the status line.
    pub fn clear(&self) {
        self.term.clear();
        if !self.phase.get_untracked().is_busy() {
            self.result.set(None);
            self.message.set(None);
        }
    }
}

/// The whole playground: a language picker (from `GET /api/v1/languages`), a
/// [`CodeEditor`], a [`Terminal`] where the program's output appears and where typing
/// feeds its stdin, Run / Stop / Clear / Share buttons and a status line (verdict, exit
/// code, time, memory; the queue position while queued).
///
/// ```ignore
/// view! { <Playground language="go" height="480px" server_url="https://play.example.com"/> }
/// ```
#[component]
pub fn Playground(
    /// Code shown at start; empty (the default) shows the language's example program.
    #[prop(optional, into)]
    initial_code: String,
    /// Catalog language id to start with, e.g. `"rust"`; empty (the default) picks
    /// `python`, or the first language of the catalog.
    #[prop(optional, into)]
    language: String,
    /// Makes the editor read-only (the program can still be run).
    #[prop(optional)]
    read_only: bool,
    /// CSS height of the editor and terminal area, e.g. `"480px"`; default `70vh`.
    #[prop(optional, into)]
    height: Option<String>,
    /// Base URL of the warmrun server for `/api/v1/...`, e.g.
    /// `"https://play.example.com"`; empty (the default) means the page's own origin.
    #[prop(optional, into)]
    server_url: String,
) -> impl IntoView {
    let s = Session::new(language, initial_code, server_url);

    #[cfg(target_arch = "wasm32")]
    {
        crate::client::load_languages(s);
        s.term.write_info(
            "Press Run (Ctrl+Enter). When the program asks for input, type it here and press Enter.",
        );
    }

    let on_run = Callback::new(move |_| s.run());
    let busy = move || s.phase.get().is_busy();
    let style = height.map(|h| format!("--wr-height:{h}"));

    let language_options = move || {
        s.languages
            .get()
            .into_iter()
            .map(|l| {
                let id = l.id.clone();
                let label = if l.version.is_empty() {
                    l.name.clone()
                } else {
                    format!("{} ({})", l.name, l.version)
                };
                view! {
                    <option value=l.id.clone() prop:selected=move || s.lang.get() == id>
                        {label}
                    </option>
                }
            })
            .collect_view()
    };

    view! {
        <div class="wr-playground">
            <div class="wr-toolbar" role="toolbar" aria-label="Playground">
                <select
                    class="wr-lang"
                    aria-label="Language"
                    disabled=move || s.languages.with(Vec::is_empty) || busy()
                    on:change=move |ev| s.switch_language(event_target_value(&ev))
                >
                    <Show when=move || s.languages.with(Vec::is_empty)>
                        <option value="">"Loading languages…"</option>
                    </Show>
                    {language_options}
                </select>
                <button
                    class="wr-run"
                    title="Run (Ctrl+Enter)"
                    disabled=move || busy() || s.lang.with(String::is_empty)
                    on:click=move |_| s.run()
                >
                    "▶ Run"
                </button>
                <button
                    class="wr-stop"
                    title="Stop the program"
                    disabled=move || !matches!(s.phase.get(), Phase::Starting | Phase::Queued(_) | Phase::Running)
                    on:click=move |_| s.stop()
                >
                    "■ Stop"
                </button>
                <button class="wr-clear" title="Clear the output" on:click=move |_| s.clear()>
                    "Clear"
                </button>
                <button class="wr-share" disabled=true title="Sharing snippets: coming soon">
                    "Share"
                </button>
                <label
                    class="wr-tty"
                    title="Run in a pseudo-terminal: keystrokes go to the program as typed"
                >
                    <input
                        type="checkbox"
                        prop:checked=move || s.tty.get()
                        disabled=busy
                        on:change=move |ev| s.tty.set(event_target_checked(&ev))
                    />
                    "tty"
                </label>
                <span class="wr-spacer"></span>
                <span class="wr-hint">
                    <kbd>"Ctrl"</kbd>
                    "+"
                    <kbd>"Enter"</kbd>
                    " runs"
                </span>
            </div>
            <div class="wr-panes" style=style>
                <div class="wr-pane wr-editor-pane">
                    <CodeEditor
                        code=s.code
                        language=Signal::derive(move || s.lang.get())
                        read_only=Signal::stored(read_only)
                        on_run=on_run
                    />
                </div>
                <div class="wr-pane wr-term-pane">
                    <Terminal
                        control=s.term
                        on_input=Callback::new(move |data: String| {
                            #[cfg(target_arch = "wasm32")]
                            crate::client::send_stdin(s, data);
                            #[cfg(not(target_arch = "wasm32"))]
                            let _ = data;
                        })
                        on_eof=Callback::new(move |_| {
                            #[cfg(target_arch = "wasm32")]
                            crate::client::send_eof(s);
                        })
                        on_interrupt=Callback::new(move |_| s.stop())
                        on_resize=Callback::new(move |(_cols, _rows): (u16, u16)| {
                            #[cfg(target_arch = "wasm32")]
                            crate::client::send_resize(s, _cols, _rows);
                        })
                        placeholder="Output appears here. When the program reads input, type it here and press Enter."
                    />
                </div>
            </div>
            <StatusLine s=s/>
        </div>
    }
    .into_any()
}

#[component]
fn StatusLine(s: Session) -> impl IntoView {
    let content = move || {
        if let Some(msg) = s.message.get() {
            return view! { <span class="wr-error">{msg}</span> }.into_any();
        }
        match s.phase.get() {
            Phase::Starting => busy_text("Starting…".into()),
            Phase::Queued(n) => busy_text(format!("Queued — position {n}")),
            Phase::Running => busy_text("Running…".into()),
            Phase::Stopping => busy_text("Stopping…".into()),
            Phase::Idle => match s.result.get() {
                None => view! { <span>"Ready."</span> }.into_any(),
                Some(e) => result_view(&e).into_any(),
            },
        }
    };
    view! {
        <div class="wr-status" role="status" aria-live="polite">
            {content}
        </div>
    }
    .into_any()
}

fn busy_text(text: String) -> AnyView {
    view! {
        <span class="wr-busy">
            <span class="wr-dot" aria-hidden="true"></span>
            {text}
        </span>
    }
    .into_any()
}

fn result_view(e: &ExitInfo) -> impl IntoView {
    let class = format!("wr-verdict {}", verdict_class(&e.verdict));
    let code = match (e.exit_code, e.signal) {
        (_, Some(sig)) => Some(format!("signal {sig}")),
        (Some(c), None) => Some(format!("exit code {c}")),
        (None, None) => None,
    };
    let title = format!(
        "sandbox: {} · total {} (including queue and setup)",
        if e.lease.is_empty() { "?" } else { &e.lease },
        format_ms(e.total_ms)
    );
    view! {
        <span class=class title=title.clone() data-verdict=e.verdict.clone()>
            {verdict_label(&e.verdict)}
        </span>
        {code.map(|c| view! { <span class="wr-exit">{c}</span> })}
        <span title="wall-clock time">{format!("time {}", format_ms(e.wall_ms))}</span>
        <span title="CPU time">{format!("cpu {}", format_ms(e.cpu_ms))}</span>
        <span title="peak memory">{format!("memory {}", format_kb(e.memory_kb))}</span>
        {e.truncated.then(|| view! { <span class="wr-error">"output truncated"</span> })}
    }
}
