//! The playground: language picker, editor, terminal, Run/Stop/Clear/Share and a status
//! line, talking to the server's WebSocket run API (`/api/v1/ws`) and, to share and load
//! snippets, to `/api/v1/snippets`.

use crate::api::{
    format_created, format_kb, format_ms, language_groups, verdict_class, verdict_label, Artifact,
    ExitJson, Language, LastRun, SnippetOutput,
};
use crate::editor::CodeEditor;
use crate::share::{SharePanel, SharedSnippet};
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
    Queued(warmrun_api::QueuePosition),
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

/// Where sharing is.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
pub(crate) enum ShareState {
    Idle,
    /// The Share dialog is open with these starting values.
    Editing {
        title: String,
        stdin: String,
    },
    /// Saving the snippet.
    Saving,
    /// Saved: the absolute link, and whether it is on the clipboard.
    Done {
        link: String,
        copied: bool,
    },
    /// Saving failed: what to tell the user.
    Failed(String),
}

/// Where loading a shared snippet is (playgrounds given a `snippet` id).
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
pub(crate) enum SnippetLoad {
    /// No snippet to load.
    None,
    Loading,
    Loaded {
        /// The snippet's language id.
        language: String,
        title: Option<String>,
        created_at: String,
        /// Files of a multi-file snippet not shown (only the main file is).
        extra_files: usize,
    },
    /// Unknown id.
    NotFound,
    /// The server could not be asked.
    Failed(String),
}

/// Output kept while a run goes on, for [`LastRun`].
#[derive(Debug, Clone, Default)]
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
pub(crate) struct Capture {
    pub language: String,
    pub code: String,
    /// Typed into the program's stdin.
    pub stdin: String,
    pub stdout: String,
    pub stderr: String,
}

/// The state of one playground, shared by its parts. All fields are `Copy` handles.
#[derive(Clone, Copy)]
pub(crate) struct Session {
    pub languages: RwSignal<Vec<Language>>,
    pub lang: RwSignal<String>,
    pub code: RwSignal<String>,
    pub tty: RwSignal<bool>,
    /// Input given to the program up front on Run (a shared snippet's stdin); empty: none.
    pub stdin: RwSignal<String>,
    pub phase: RwSignal<Phase>,
    /// The program is blocked reading its empty stdin (the server said
    /// `waiting_for_input`); cleared when a line (or EOF) goes to it or the run ends.
    pub waiting: RwSignal<bool>,
    pub result: RwSignal<Option<ExitJson>>,
    /// Files the last run left in `/workspace/output` (`artifact` frames).
    pub artifacts: RwSignal<Vec<Artifact>>,
    pub message: RwSignal<Option<String>>,
    pub term: TerminalControl,
    #[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
    pub server_url: StoredValue<String>,
    /// Each language's text as last edited, so switching back and forth keeps it.
    pub drafts: StoredValue<std::collections::HashMap<String, String>>,
    /// Each language's text as last put into the editor for the person (an example, a
    /// snippet, the starting code): the editor holds edits when its text differs.
    pub loaded: StoredValue<std::collections::HashMap<String, String>>,
    #[cfg(target_arch = "wasm32")]
    pub socket: StoredValue<Option<crate::client::Socket>, LocalStorage>,
    /// The output of the run going on (kept to share it with the code).
    #[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
    pub capture: StoredValue<Option<Capture>>,
    /// The last finished run (its output is shared when the code is still the same).
    #[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
    pub last_run: StoredValue<Option<LastRun>>,
    pub share: RwSignal<ShareState>,
    /// The id of the snippet shown (empty: none).
    pub snippet_id: StoredValue<String>,
    pub snippet: RwSignal<SnippetLoad>,
    /// A snippet's saved output, while the terminal shows it.
    pub saved: RwSignal<Option<SnippetOutput>>,
    /// A format request is under way.
    pub formatting: RwSignal<bool>,
    pub settings: crate::settings::SettingsState,
}

impl Session {
    fn new(
        lang: String,
        code: String,
        server_url: String,
        snippet_id: String,
        shared: Option<SharedSnippet>,
    ) -> Session {
        let mut snippet = if snippet_id.is_empty() {
            SnippetLoad::None
        } else {
            SnippetLoad::Loading
        };
        let (mut lang, mut code, mut stdin) = (lang, code, String::new());
        let mut saved = None;
        let mut last_run = None;
        match shared {
            None => {}
            Some(SharedSnippet::Found { snippet: found }) => {
                let found = *found;
                lang = found.language.clone();
                code = found.main_code();
                stdin = found.stdin.clone().unwrap_or_default();
                snippet = SnippetLoad::Loaded {
                    language: found.language.clone(),
                    title: found.title.clone(),
                    created_at: found.created_at.clone(),
                    extra_files: found.extra_files(),
                };
                if let Some(output) = found.output {
                    saved = Some(output.clone());
                    // Shared again unchanged, the snippet keeps its output.
                    last_run = Some(LastRun {
                        language: found.language,
                        code: code.clone(),
                        stdin: stdin.clone(),
                        output,
                    });
                }
            }
            Some(SharedSnippet::NotFound) => snippet = SnippetLoad::NotFound,
            Some(SharedSnippet::Unavailable { message }) => snippet = SnippetLoad::Failed(message),
        }
        let loaded: std::collections::HashMap<String, String> =
            if matches!(snippet, SnippetLoad::Loaded { .. }) {
                [(lang.clone(), code.clone())].into()
            } else {
                Default::default()
            };
        Session {
            languages: RwSignal::new(Vec::new()),
            lang: RwSignal::new(lang),
            code: RwSignal::new(code),
            tty: RwSignal::new(false),
            stdin: RwSignal::new(stdin),
            phase: RwSignal::new(Phase::Idle),
            waiting: RwSignal::new(false),
            result: RwSignal::new(None),
            artifacts: RwSignal::new(Vec::new()),
            message: RwSignal::new(None),
            term: TerminalControl::new(),
            server_url: StoredValue::new(server_url),
            drafts: StoredValue::new(Default::default()),
            loaded: StoredValue::new(loaded),
            #[cfg(target_arch = "wasm32")]
            socket: StoredValue::new_local(None),
            capture: StoredValue::new(None),
            last_run: StoredValue::new(last_run),
            share: RwSignal::new(ShareState::Idle),
            snippet_id: StoredValue::new(snippet_id),
            snippet: RwSignal::new(snippet),
            saved: RwSignal::new(saved),
            formatting: RwSignal::new(false),
            settings: crate::settings::SettingsState::new(),
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
        let draft = self.drafts.with_value(|d| d.get(&id).cloned());
        let next = draft.or_else(|| {
            let example = self
                .languages
                .with_untracked(|ls| ls.iter().find(|l| l.id == id).map(|l| l.example.clone()));
            if let Some(example) = &example {
                self.mark_loaded(&id, example);
            }
            example
        });
        self.lang.set(id);
        if let Some(next) = next {
            self.code.set(next);
        }
    }

    /// Notes `code` as what the editor was given for `lang` (not the person's edits).
    pub(crate) fn mark_loaded(&self, lang: &str, code: &str) {
        self.loaded.update_value(|l| {
            l.insert(lang.to_owned(), code.to_owned());
        });
    }

    /// Whether the editor holds text the person changed since it was loaded (an empty
    /// editor holds nothing worth keeping).
    pub fn has_edits(&self) -> bool {
        let lang = self.lang.get_untracked();
        self.code.with_untracked(|code| {
            self.loaded.with_value(|l| match l.get(&lang) {
                Some(loaded) => loaded != code,
                None => !code.trim().is_empty(),
            })
        })
    }

    /// Loads the current language's example `id` into the editor. When that would discard
    /// edits, asks first (`window.confirm`); cancelled, the code stays. Returns whether the
    /// example was loaded.
    pub fn load_example(&self, id: &str) -> bool {
        let lang = self.lang.get_untracked();
        let code = self.languages.with_untracked(|ls| {
            ls.iter()
                .find(|l| l.id == lang)
                .and_then(|l| l.examples.iter().find(|e| e.id == id))
                .map(|e| e.code.clone())
        });
        let Some(code) = code else {
            return false;
        };
        if self.has_edits() && !self.code.with_untracked(|c| *c == code) && !confirm_discard() {
            return false;
        }
        self.mark_loaded(&lang, &code);
        self.code.set(code);
        true
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
        self.saved.set(None);
        if !self.phase.get_untracked().is_busy() {
            self.result.set(None);
            self.artifacts.set(Vec::new());
            self.message.set(None);
        }
    }

    /// Whether the current language has a formatter (the catalog names it).
    pub fn has_formatter(&self) -> bool {
        let lang = self.lang.get();
        self.languages.with(|ls| {
            ls.iter()
                .find(|l| l.id == lang)
                .is_some_and(|l| l.formatter.is_some())
        })
    }

    /// Formats the editor's code with the language's formatter.
    pub fn format(&self) {
        #[cfg(target_arch = "wasm32")]
        crate::client::format(*self);
    }

    /// Opens the Share dialog: the snippet's title (when one is shown) and the stdin
    /// typed during the last run of this code (or the snippet's).
    pub fn share(&self) {
        let title = self.snippet.with_untracked(|l| match l {
            SnippetLoad::Loaded { title, .. } => title.clone().unwrap_or_default(),
            _ => String::new(),
        });
        let (lang, code) = (self.lang.get_untracked(), self.code.get_untracked());
        let typed = self.last_run.with_value(|l| {
            l.as_ref()
                .filter(|l| l.language == lang && l.code == code && !l.stdin.is_empty())
                .map(|l| l.stdin.clone())
        });
        let stdin = typed.unwrap_or_else(|| self.stdin.get_untracked());
        self.share.set(ShareState::Editing { title, stdin });
    }

    /// Saves the code with `title` and `stdin` as a snippet and copies its link.
    pub fn save_share(&self, title: String, stdin: String) {
        #[cfg(target_arch = "wasm32")]
        crate::client::share(*self, title, stdin);
        #[cfg(not(target_arch = "wasm32"))]
        let _ = (title, stdin);
    }
}

/// Asks the person whether to replace their edited code (always yes outside a browser).
fn confirm_discard() -> bool {
    #[cfg(target_arch = "wasm32")]
    {
        web_sys::window()
            .and_then(|w| {
                w.confirm_with_message(
                    "Replace your edited code with the example? Your changes will be lost.",
                )
                .ok()
            })
            .unwrap_or(false)
    }
    #[cfg(not(target_arch = "wasm32"))]
    true
}

/// The whole playground: a language picker (from `GET /api/v1/languages`), an Examples
/// menu (the language's example programs; asks before it replaces edited code), a
/// [`CodeEditor`], a [`Terminal`] where the program's output appears and where typing
/// feeds its stdin, Run / Stop / Format (languages with a formatter; Shift+Alt+F) / Clear /
/// Share buttons and a status line (verdict, exit code, time, memory; the queue position
/// while queued).
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
    /// Share links point there too.
    #[prop(optional, into)]
    server_url: String,
    /// Id of a shared snippet to open (from `GET /api/v1/snippets/{id}`): its language,
    /// code and saved output replace `language` and `initial_code`. Empty: none.
    #[prop(optional, into)]
    snippet: String,
    /// Leaves out the Examples menu (shown by default).
    #[prop(optional)]
    hide_examples: bool,
    /// Leaves out the ⚙ settings: they apply to the whole document (`<html data-theme>`
    /// and more), which a widget on someone else's page must not change.
    #[prop(optional)]
    hide_settings: bool,
    /// A snippet the page already has (a server-rendered `/s/{id}` page): shown at once
    /// instead of loading `snippet`.
    #[prop(default = None)]
    shared: Option<SharedSnippet>,
) -> impl IntoView {
    let s = Session::new(language, initial_code, server_url, snippet, shared);

    #[cfg(target_arch = "wasm32")]
    {
        s.term.write_info(
            "Press Run (Ctrl+Enter). When the program asks for input, type it here and press Enter.",
        );
        crate::client::load_languages(s);
        if let Some(output) = s.saved.get_untracked() {
            crate::client::show_saved_output(s, &output);
        } else if s.snippet.with_untracked(|l| *l == SnippetLoad::Loading) {
            crate::client::load_snippet(s);
        }
    }

    let on_run = Callback::new(move |_| s.run());
    // Shift+Alt+F formats, wherever the focus is (`code`: the key, whatever the layout
    // makes of it with Alt held).
    #[cfg(target_arch = "wasm32")]
    {
        let keys = window_event_listener(leptos::ev::keydown, move |ev| {
            if ev.shift_key()
                && ev.alt_key()
                && !ev.ctrl_key()
                && !ev.meta_key()
                && ev.code() == "KeyF"
            {
                ev.prevent_default();
                if !read_only && s.has_formatter() {
                    s.format();
                }
            }
        });
        on_cleanup(move || keys.remove());
    }
    let busy = move || s.phase.get().is_busy();
    let loading = move || s.snippet.with(|l| *l == SnippetLoad::Loading);
    let style = height.map(|h| format!("--wr-height:{h}"));

    let language_options = move || {
        s.languages.with(|languages| {
            language_groups(languages)
                .into_iter()
                .map(|(group, members)| {
                    let options = members
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
                        .collect_view();
                    view! { <optgroup label=group>{options}</optgroup> }
                })
                .collect_view()
        })
    };

    let example_options = move || {
        let lang = s.lang.get();
        s.languages
            .with(|ls| ls.iter().find(|l| l.id == lang).map(|l| l.examples.clone()))
            .unwrap_or_default()
            .into_iter()
            .map(|e| view! { <option value=e.id>{e.name}</option> })
            .collect_view()
    };
    let no_examples = move || {
        let lang = s.lang.get();
        s.languages.with(|ls| {
            ls.iter()
                .find(|l| l.id == lang)
                .is_none_or(|l| l.examples.is_empty())
        })
    };
    let examples_menu = NodeRef::<leptos::html::Select>::new();
    let examples = (!hide_examples).then(|| {
        view! {
            <select
                class="wr-examples"
                aria-label="Examples"
                title="Load an example program"
                node_ref=examples_menu
                disabled=no_examples
                on:change=move |ev| {
                    s.load_example(&event_target_value(&ev));
                    // A menu, not a setting: back to its title, so any example (also the
                    // one just loaded) can be chosen again.
                    if let Some(menu) = examples_menu.get_untracked() {
                        menu.set_value("");
                    }
                }
            >
                <option value="" selected>"Examples…"</option>
                {example_options}
            </select>
        }
    });

    view! {
        <div class="wr-playground">
            <SnippetBanner s=s />
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
                {examples}
                <button
                    class="wr-run"
                    title="Run (Ctrl+Enter)"
                    disabled=move || busy() || loading() || s.lang.with(String::is_empty)
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
                <Show when=move || !read_only && s.has_formatter()>
                    <button
                        class="wr-format"
                        title="Format the code (Shift+Alt+F)"
                        disabled=move || loading() || s.formatting.get()
                        on:click=move |_| s.format()
                    >
                        {move || if s.formatting.get() { "Formatting…" } else { "Format" }}
                    </button>
                </Show>
                <button class="wr-clear" title="Clear the output" on:click=move |_| s.clear()>
                    "Clear"
                </button>
                <button
                    class="wr-share"
                    title="Save this code and copy a link to it"
                    aria-haspopup="dialog"
                    disabled=move || {
                        loading() || s.lang.with(String::is_empty)
                            || s.share.with(|st| *st == ShareState::Saving)
                    }
                    on:click=move |_| s.share()
                >
                    {move || {
                        if s.share.with(|st| *st == ShareState::Saving) { "Sharing…" } else { "Share" }
                    }}
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
                {(!hide_settings).then(|| view! { <crate::settings::SettingsButton s=s /> })}
                <span class="wr-hint">
                    <kbd>"Ctrl"</kbd>
                    "+"
                    <kbd>"Enter"</kbd>
                    " runs"
                </span>
            </div>
            <SharePanel s=s />
            {(!hide_settings).then(|| view! { <crate::settings::SettingsPanel s=s /> })}
            <div class="wr-panes" style=style>
                <div class="wr-pane wr-editor-pane">
                    <CodeEditor
                        code=s.code
                        language=Signal::derive(move || s.lang.get())
                        read_only=Signal::stored(read_only)
                        on_run=on_run
                    />
                </div>
                <div
                    class="wr-pane wr-term-pane"
                    class:wr-showing-saved=move || s.saved.with(Option::is_some)
                    class:wr-waiting-input=move || s.waiting.get() && s.phase.get() == Phase::Running
                >
                    <Show when=move || s.saved.with(Option::is_some)>
                        <span class="wr-saved-badge" title="The output saved with this snippet; press Run to run it again">
                            "saved output"
                        </span>
                    </Show>
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
            <Artifacts s=s/>
        </div>
    }
    .into_any()
}

/// The files of the last run's output directory: images shown (SVG too, as an `<img>`,
/// where it runs no script; never as inline markup), other files as download links.
#[component]
fn Artifacts(s: Session) -> impl IntoView {
    let item = |a: Artifact| {
        let label = format!("{} ({})", a.name, format_bytes(a.size));
        if a.is_image() {
            view! {
                <figure class="wr-artifact wr-artifact-image">
                    <img src=a.data_url() alt=a.name.clone() data-artifact=a.name.clone()/>
                    <figcaption>
                        <a href=a.data_url() download=a.name.clone()>{label}</a>
                    </figcaption>
                </figure>
            }
            .into_any()
        } else {
            view! {
                <div class="wr-artifact wr-artifact-file">
                    <a href=a.data_url() download=a.name.clone() data-artifact=a.name.clone()>
                        {label}
                    </a>
                </div>
            }
            .into_any()
        }
    };
    view! {
        <Show when=move || s.artifacts.with(|a| !a.is_empty())>
            <div class="wr-artifacts" aria-label="Files the program wrote">
                {move || s.artifacts.get().into_iter().map(item).collect_view()}
                <Show when=move || s.result.with(|r| r.as_ref().is_some_and(|e| e.artifacts_truncated))>
                    <p class="wr-error">"More files were written than come back."</p>
                </Show>
            </div>
        </Show>
    }
}

/// A file size in words: bytes, KB or MB.
fn format_bytes(n: u64) -> String {
    match n {
        0..=1023 => format!("{n} B"),
        1024..=1_048_575 => format!("{:.1} KB", n as f64 / 1024.0),
        _ => format!("{:.1} MB", n as f64 / 1_048_576.0),
    }
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
            Phase::Running if s.waiting.get() => view! {
                <span class="wr-waiting" data-waiting="true">
                    <span class="wr-dot" aria-hidden="true"></span>
                    "Waiting for input — type in the terminal and press Enter"
                </span>
            }
            .into_any(),
            Phase::Running => busy_text("Running…".into()),
            Phase::Stopping => busy_text("Stopping…".into()),
            Phase::Idle => match (s.result.get(), s.saved.get()) {
                (Some(e), _) => result_view(&e).into_any(),
                (None, Some(o)) => saved_view(&o).into_any(),
                (None, None) => view! { <span>"Ready."</span> }.into_any(),
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

fn result_view(e: &ExitJson) -> impl IntoView {
    let class = format!("wr-verdict {}", verdict_class(e.verdict));
    let code = match (e.exit_code, e.signal) {
        (_, Some(sig)) => Some(format!("signal {sig}")),
        (Some(c), None) => Some(format!("exit code {c}")),
        (None, None) => None,
    };
    let title = format!(
        "sandbox: {} · total {} (including queue and setup)",
        e.lease.as_str(),
        format_ms(e.total_ms)
    );
    view! {
        <span class=class title=title.clone() data-verdict=e.verdict.as_str()>
            {verdict_label(e.verdict)}
        </span>
        {code.map(|c| view! { <span class="wr-exit">{c}</span> })}
        <span title="wall-clock time">{format!("time {}", format_ms(e.wall_ms))}</span>
        <span title="CPU time">{format!("cpu {}", format_ms(e.cpu_ms))}</span>
        <span title="peak memory">{format!("memory {}", format_kb(e.memory_kb))}</span>
        {e.truncated.then(|| view! { <span class="wr-error">"output truncated"</span> })}
    }
}

/// The saved output's verdict (not `data-verdict`: that is a run's).
fn saved_view(o: &SnippetOutput) -> impl IntoView {
    let class = format!("wr-verdict {}", verdict_class(o.verdict));
    view! {
        <span class="wr-saved-label">"Saved output:"</span>
        <span class=class data-saved-verdict=o.verdict.as_str()>
            {verdict_label(o.verdict)}
        </span>
        {o.exit_code.map(|c| view! { <span class="wr-exit">{format!("exit code {c}")}</span> })}
        <span>"Press Run to run it again."</span>
    }
}

/// What the snippet is, above the toolbar (only for playgrounds given a snippet id).
#[component]
fn SnippetBanner(s: Session) -> impl IntoView {
    let id = s.snippet_id.get_value();
    move || {
        let id = id.clone();
        let attr = id.clone();
        match s.snippet.get() {
            SnippetLoad::None => ().into_any(),
            SnippetLoad::Loading => view! {
                <p class="wr-notice wr-snippet-info" data-snippet=attr>
                    "Loading snippet " <code>{id}</code> "…"
                </p>
            }
            .into_any(),
            SnippetLoad::Loaded {
                language: lang,
                title,
                created_at,
                extra_files,
            } => {
                let name = s
                    .languages
                    .with(|ls| ls.iter().find(|l| l.id == lang).map(|l| l.name.clone()))
                    .unwrap_or(lang);
                view! {
                    <p class="wr-notice wr-snippet-info" data-snippet=attr data-loaded="true">
                        <strong>{title.unwrap_or_else(|| "Shared snippet".into())}</strong>
                        " · " {name}
                        {(!created_at.is_empty()).then(|| format!(" · saved {}", format_created(&created_at)))}
                        " · "
                        <code>{id}</code>
                        {(extra_files > 0).then(|| format!(
                            " · {extra_files} more file{} not shown (only the main file opens here)",
                            if extra_files == 1 { " is" } else { "s are" }
                        ))}
                        {move || (!s.stdin.with(String::is_empty)).then(|| view! {
                            <span class="wr-snippet-stdin">" · with stdin, given to the program on Run"</span>
                        })}
                        <span class="wr-snippet-hint">" Edit it freely: sharing again makes a new link."</span>
                    </p>
                }
                .into_any()
            }
            SnippetLoad::NotFound => view! {
                <p class="wr-notice wr-not-found" role="alert" data-snippet=attr>
                    <strong>"Snippet not found."</strong>
                    " There is no snippet " <code>{id}</code>
                    " (check the link). Here is a fresh playground instead."
                </p>
            }
            .into_any(),
            SnippetLoad::Failed(msg) => view! {
                <p class="wr-notice wr-not-found" role="alert" data-snippet=attr>
                    <strong>"Could not load the snippet."</strong>
                    " " {msg}
                </p>
            }
            .into_any(),
        }
    }
}
