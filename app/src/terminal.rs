//! The terminal pane: xterm.js in the browser, a placeholder in server-rendered HTML.

use leptos::prelude::*;

#[cfg(target_arch = "wasm32")]
use crate::js;

/// How keystrokes in the terminal are handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputMode {
    /// Nothing runs: keystrokes are ignored.
    Off,
    /// Line by line with local echo, Backspace, Ctrl+U; Enter sends the line,
    /// Ctrl+D sends end of input, Ctrl+C stops the run (a terminal in canonical mode).
    Cooked,
    /// Every keystroke goes to the program unchanged (tty runs).
    Raw,
}

impl InputMode {
    /// The name the JS side uses.
    pub fn as_str(self) -> &'static str {
        match self {
            InputMode::Off => "off",
            InputMode::Cooked => "cooked",
            InputMode::Raw => "raw",
        }
    }
}

/// Drives a [`Terminal`] from its parent: write output, clear, switch the input mode.
///
/// Create one with [`TerminalControl::new`] inside a component, pass it to `<Terminal
/// control=.../>` and keep a copy. It is `Copy`. Output written before the terminal has
/// loaded is kept and shown once it has. On the server every method does nothing.
#[derive(Clone, Copy)]
pub struct TerminalControl {
    #[cfg(target_arch = "wasm32")]
    inner: StoredValue<TermState, LocalStorage>,
}

#[cfg(target_arch = "wasm32")]
#[derive(Default)]
struct TermState {
    handle: Option<js::TerminalHandle>,
    pending: Vec<(u8, String)>,
    mode: Option<InputMode>,
}

impl Default for TerminalControl {
    fn default() -> Self {
        Self::new()
    }
}

impl TerminalControl {
    /// A control for one terminal, owned by the current reactive owner.
    pub fn new() -> Self {
        TerminalControl {
            #[cfg(target_arch = "wasm32")]
            inner: StoredValue::new_local(TermState::default()),
        }
    }

    #[cfg(target_arch = "wasm32")]
    fn out(&self, kind: u8, text: &str) {
        if text.is_empty() {
            return;
        }
        self.inner.update_value(|s| match &s.handle {
            Some(h) => match kind {
                0 => h.write(text),
                1 => h.write_err(text),
                _ => h.write_info(text),
            },
            None => s.pending.push((kind, text.to_string())),
        });
    }

    /// Program output (stdout).
    pub fn write(&self, _text: &str) {
        #[cfg(target_arch = "wasm32")]
        self.out(0, _text);
    }

    /// Program error output (stderr), shown in red.
    pub fn write_err(&self, _text: &str) {
        #[cfg(target_arch = "wasm32")]
        self.out(1, _text);
    }

    /// A note from the playground itself (dim, on its own line).
    pub fn write_info(&self, _text: &str) {
        #[cfg(target_arch = "wasm32")]
        self.out(2, _text);
    }

    /// Clears screen and scrollback.
    pub fn clear(&self) {
        #[cfg(target_arch = "wasm32")]
        self.inner.update_value(|s| {
            s.pending.clear();
            if let Some(h) = &s.handle {
                h.clear();
            }
        });
    }

    /// Switches the input mode.
    pub fn set_mode(&self, _mode: InputMode) {
        #[cfg(target_arch = "wasm32")]
        self.inner.update_value(|s| {
            s.mode = Some(_mode);
            if let Some(h) = &s.handle {
                h.set_mode(_mode.as_str());
            }
        });
    }

    /// Moves keyboard focus to the terminal.
    pub fn focus(&self) {
        #[cfg(target_arch = "wasm32")]
        self.inner.with_value(|s| {
            if let Some(h) = &s.handle {
                h.focus();
            }
        });
    }

    /// Columns and rows (80×24 until the terminal has loaded).
    pub fn size(&self) -> (u16, u16) {
        #[cfg(target_arch = "wasm32")]
        if let Some(size) = self
            .inner
            .try_with_value(|s| s.handle.as_ref().map(|h| (h.cols(), h.rows())))
            .flatten()
        {
            return size;
        }
        (80, 24)
    }

    #[cfg(target_arch = "wasm32")]
    fn attach(&self, handle: js::TerminalHandle) {
        self.inner.update_value(|s| {
            for (kind, text) in s.pending.drain(..) {
                match kind {
                    0 => handle.write(&text),
                    1 => handle.write_err(&text),
                    _ => handle.write_info(&text),
                }
            }
            if let Some(mode) = s.mode {
                handle.set_mode(mode.as_str());
            }
            s.handle = Some(handle);
        });
    }
}

/// A terminal (xterm.js): shows program output with ANSI colours, stderr in red, and
/// turns typing into stdin (see [`InputMode`]).
#[component]
pub fn Terminal(
    /// Writes to and configures this terminal (see [`TerminalControl`]).
    control: TerminalControl,
    /// Text typed for the program's stdin: a whole line (with `\n`) in cooked mode, each
    /// keystroke in raw mode.
    #[prop(optional, into)]
    on_input: Option<Callback<String>>,
    /// Ctrl+D on an empty line in cooked mode: end of input.
    #[prop(optional, into)]
    on_eof: Option<Callback<()>>,
    /// Ctrl+C in cooked mode.
    #[prop(optional, into)]
    on_interrupt: Option<Callback<()>>,
    /// The terminal's size changed: `(cols, rows)`.
    #[prop(optional, into)]
    on_resize: Option<Callback<(u16, u16)>>,
    /// Shown until the terminal has loaded.
    #[prop(optional, into)]
    placeholder: Option<String>,
) -> impl IntoView {
    let host = NodeRef::<leptos::html::Div>::new();
    let loaded = RwSignal::new(false);

    #[cfg(not(target_arch = "wasm32"))]
    let _ = (control, on_input, on_eof, on_interrupt, on_resize);
    #[cfg(target_arch = "wasm32")]
    host.on_load(move |el| {
        use std::cell::RefCell;
        use std::rc::Rc;
        use wasm_bindgen::prelude::*;
        use wasm_bindgen::JsCast;

        let on_input = Closure::<dyn FnMut(String)>::new(move |data: String| {
            if let Some(cb) = on_input {
                cb.run(data);
            }
        });
        let on_eof = Closure::<dyn FnMut()>::new(move || {
            if let Some(cb) = on_eof {
                cb.run(());
            }
        });
        let on_interrupt = Closure::<dyn FnMut()>::new(move || {
            if let Some(cb) = on_interrupt {
                cb.run(());
            }
        });
        let on_resize = Closure::<dyn FnMut(u16, u16)>::new(move |cols: u16, rows: u16| {
            if let Some(cb) = on_resize {
                cb.run((cols, rows));
            }
        });
        let promise = js::create_terminal(
            &el,
            on_input.as_ref().unchecked_ref(),
            on_eof.as_ref().unchecked_ref(),
            on_interrupt.as_ref().unchecked_ref(),
            on_resize.as_ref().unchecked_ref(),
        );
        // The closures live as long as the terminal.
        type Kept = Option<(js::TerminalHandle, Vec<Box<dyn std::any::Any>>)>;
        let keep: Rc<RefCell<Kept>> = Rc::new(RefCell::new(None));
        let closures: Vec<Box<dyn std::any::Any>> = vec![
            Box::new(on_input),
            Box::new(on_eof),
            Box::new(on_interrupt),
            Box::new(on_resize),
        ];
        let disposed = Rc::new(std::cell::Cell::new(false));
        {
            let keep = keep.clone();
            let disposed = disposed.clone();
            leptos::task::spawn_local(async move {
                match wasm_bindgen_futures::JsFuture::from(promise).await {
                    Ok(h) => {
                        let h: js::TerminalHandle = h.unchecked_into();
                        if disposed.get() {
                            h.destroy();
                            return;
                        }
                        control.attach(h.clone());
                        *keep.borrow_mut() = Some((h, closures));
                        loaded.set(true);
                    }
                    Err(e) => {
                        leptos::logging::error!("warmrun: the terminal failed to load: {e:?}");
                    }
                }
            });
        }
        let cleanup = send_wrapper::SendWrapper::new((keep, disposed));
        on_cleanup(move || {
            let (keep, disposed) = cleanup.take();
            disposed.set(true);
            let taken = keep.borrow_mut().take();
            if let Some((h, _closures)) = taken {
                h.destroy();
            }
        });
    });

    let placeholder = placeholder.unwrap_or_else(|| "Output appears here.".into());
    view! {
        <div class="wr-terminal" class:wr-mounted=move || loaded.get()>
            <Show when=move || !loaded.get()>
                <pre class="wr-terminal-placeholder">{placeholder.clone()}</pre>
            </Show>
            <div class="wr-terminal-mount" node_ref=host></div>
        </div>
    }
    .into_any()
}
