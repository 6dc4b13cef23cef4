//! The playground's settings, kept in the browser's `localStorage` under
//! [`STORAGE_KEY`] as JSON, e.g. `{"theme":"dark","keymap":"vim","font_size":16,"tty":true}`:
//! light or dark theme (by default the system's, `prefers-color-scheme`), the editor's
//! keybindings (CodeMirror's standard ones, vim or emacs), the font size of editor and
//! terminal, and whether runs use a tty by default.
//!
//! They apply to the whole document: `<html data-theme data-keymap data-font-size>` and
//! the CSS variable `--wr-font-size`, then a `warmrun-settings` event on `document`, which
//! the editor and terminal bundles listen to. [`THEME_BOOT_SCRIPT`] applies the stored
//! values before the first paint (no flash of the wrong theme).

use crate::playground::Session;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// The `localStorage` key.
pub const STORAGE_KEY: &str = "warmrun.settings";
/// The event dispatched on `document` when settings change.
pub const CHANGE_EVENT: &str = "warmrun-settings";
/// Font sizes offered, in CSS pixels.
pub const FONT_SIZES: [u8; 8] = [11, 12, 13, 14, 15, 16, 18, 20];
const DEFAULT_FONT_SIZE: u8 = 14;

/// A script for the page's `<head>`: applies the stored theme, keybindings and font size
/// to `<html>` before the page is painted (the wasm applies them again on load).
pub const THEME_BOOT_SCRIPT: &str = r#"try{var s=JSON.parse(localStorage.getItem("warmrun.settings")||"{}"),r=document.documentElement;if(s.theme==="light"||s.theme==="dark")r.setAttribute("data-theme",s.theme);if(s.keymap==="vim"||s.keymap==="emacs")r.setAttribute("data-keymap",s.keymap);var f=+s.font_size;if(f>=8&&f<=32){r.setAttribute("data-font-size",f);r.style.setProperty("--wr-font-size",f+"px")}}catch(e){}"#;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Theme {
    /// Light or dark as the system prefers (`prefers-color-scheme`).
    #[default]
    System,
    Light,
    Dark,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Keymap {
    /// CodeMirror's standard keybindings.
    #[default]
    Standard,
    Vim,
    Emacs,
}

impl Theme {
    pub fn as_str(self) -> &'static str {
        match self {
            Theme::System => "system",
            Theme::Light => "light",
            Theme::Dark => "dark",
        }
    }
}

impl Keymap {
    pub fn as_str(self) -> &'static str {
        match self {
            Keymap::Standard => "standard",
            Keymap::Vim => "vim",
            Keymap::Emacs => "emacs",
        }
    }
}

/// The settings. Unknown or missing fields in storage fall back to the defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    pub theme: Theme,
    pub keymap: Keymap,
    /// CSS pixels.
    pub font_size: u8,
    /// New runs use a pseudo-terminal.
    pub tty: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            theme: Theme::System,
            keymap: Keymap::Standard,
            font_size: DEFAULT_FONT_SIZE,
            tty: false,
        }
    }
}

impl Settings {
    /// Settings from their stored JSON; the defaults for anything unreadable.
    pub fn parse(json: &str) -> Settings {
        let mut s: Settings = serde_json::from_str(json).unwrap_or_default();
        if !(8..=32).contains(&s.font_size) {
            s.font_size = DEFAULT_FONT_SIZE;
        }
        s
    }

    /// The stored settings (the defaults outside a browser or without storage).
    pub fn load() -> Settings {
        #[cfg(target_arch = "wasm32")]
        if let Some(json) = storage().and_then(|st| st.get_item(STORAGE_KEY).ok().flatten()) {
            return Settings::parse(&json);
        }
        Settings::default()
    }

    /// Stores the settings (private browsing may refuse: then they last for the page).
    pub fn store(&self) {
        #[cfg(target_arch = "wasm32")]
        if let Some(st) = storage() {
            let json = serde_json::to_string(self).expect("settings serialize");
            let _ = st.set_item(STORAGE_KEY, &json);
        }
    }

    /// Applies theme, keybindings and font size to the document and tells the editor and
    /// terminal.
    pub fn apply(&self) {
        #[cfg(target_arch = "wasm32")]
        {
            let Some(doc) = web_sys::window().and_then(|w| w.document()) else {
                return;
            };
            let Some(root) = doc.document_element() else {
                return;
            };
            let set = |name: &str, value: Option<&str>| {
                let _ = match value {
                    Some(v) => root.set_attribute(name, v),
                    None => root.remove_attribute(name),
                };
            };
            set(
                "data-theme",
                (self.theme != Theme::System).then_some(self.theme.as_str()),
            );
            set(
                "data-keymap",
                (self.keymap != Keymap::Standard).then_some(self.keymap.as_str()),
            );
            set("data-font-size", Some(&self.font_size.to_string()));
            set(
                "style",
                Some(&format!("--wr-font-size:{}px", self.font_size)),
            );
            if let Ok(ev) = web_sys::Event::new(CHANGE_EVENT) {
                let _ = doc.dispatch_event(&ev);
            }
        }
    }
}

#[cfg(target_arch = "wasm32")]
fn storage() -> Option<web_sys::Storage> {
    web_sys::window().and_then(|w| w.local_storage().ok().flatten())
}

/// The settings of a playground and whether their panel is open. `Copy`.
#[derive(Clone, Copy)]
pub(crate) struct SettingsState {
    pub current: RwSignal<Settings>,
    pub open: RwSignal<bool>,
}

impl SettingsState {
    /// Defaults at first (as the server renders them); the stored ones once mounted in a
    /// browser.
    pub fn new() -> SettingsState {
        SettingsState {
            current: RwSignal::new(Settings::default()),
            open: RwSignal::new(false),
        }
    }
}

/// The ⚙ button of the toolbar. In the browser it also loads the stored settings (after
/// hydration, so that the server's HTML still matches) and keeps them applied.
#[component]
pub(crate) fn SettingsButton(s: Session) -> impl IntoView {
    let st = s.settings;
    #[cfg(target_arch = "wasm32")]
    {
        Effect::new(move |first: Option<()>| {
            if first.is_none() {
                let stored = Settings::load();
                st.current.set(stored);
                if !s.phase.get_untracked().is_busy() {
                    s.tty.set(stored.tty);
                }
            }
        });
        Effect::new(move |_| st.current.get().apply());
    }
    view! {
        <button
            class="wr-settings-toggle"
            title="Settings: theme, keybindings, font size"
            aria-label="Settings"
            aria-haspopup="dialog"
            aria-expanded=move || st.open.get().to_string()
            on:click=move |_| st.open.update(|o| *o = !*o)
        >
            "⚙"
        </button>
    }
}

/// The settings panel, below the toolbar while open.
#[component]
pub(crate) fn SettingsPanel(s: Session) -> impl IntoView {
    let st = s.settings;
    let change = move |f: &dyn Fn(&mut Settings)| {
        st.current.update(|c| f(c));
        st.current.get_untracked().store();
    };
    let panel = move || {
        let now = st.current.get_untracked();
        let theme_options = [Theme::System, Theme::Light, Theme::Dark]
            .into_iter()
            .map(|t| {
                let label = match t {
                    Theme::System => "System",
                    Theme::Light => "Light",
                    Theme::Dark => "Dark",
                };
                view! { <option value=t.as_str() selected=now.theme == t>{label}</option> }
            })
            .collect_view();
        let keymap_options = [Keymap::Standard, Keymap::Vim, Keymap::Emacs]
            .into_iter()
            .map(|k| {
                let label = match k {
                    Keymap::Standard => "Standard",
                    Keymap::Vim => "Vim",
                    Keymap::Emacs => "Emacs",
                };
                view! { <option value=k.as_str() selected=now.keymap == k>{label}</option> }
            })
            .collect_view();
        let size_options = FONT_SIZES
            .into_iter()
            .map(|n| {
                view! { <option value=n.to_string() selected=now.font_size == n>{format!("{n} px")}</option> }
            })
            .collect_view();
        view! {
            <div class="wr-settings-panel" role="dialog" aria-label="Settings">
                <label class="wr-setting">
                    <span>"Theme"</span>
                    <select
                        class="wr-setting-theme"
                        on:change=move |ev| {
                            let v = event_target_value(&ev);
                            change(&|c| {
                                c.theme = match v.as_str() {
                                    "light" => Theme::Light,
                                    "dark" => Theme::Dark,
                                    _ => Theme::System,
                                }
                            });
                        }
                    >
                        {theme_options}
                    </select>
                </label>
                <label class="wr-setting">
                    <span>"Keybindings"</span>
                    <select
                        class="wr-setting-keymap"
                        on:change=move |ev| {
                            let v = event_target_value(&ev);
                            change(&|c| {
                                c.keymap = match v.as_str() {
                                    "vim" => Keymap::Vim,
                                    "emacs" => Keymap::Emacs,
                                    _ => Keymap::Standard,
                                }
                            });
                        }
                    >
                        {keymap_options}
                    </select>
                </label>
                <label class="wr-setting">
                    <span>"Font size"</span>
                    <select
                        class="wr-setting-font-size"
                        on:change=move |ev| {
                            if let Ok(n) = event_target_value(&ev).parse::<u8>() {
                                change(&|c| c.font_size = n);
                            }
                        }
                    >
                        {size_options}
                    </select>
                </label>
                <label class="wr-setting wr-setting-check">
                    <input
                        class="wr-setting-tty"
                        type="checkbox"
                        checked=now.tty
                        on:change=move |ev| {
                            let on = event_target_checked(&ev);
                            change(&|c| c.tty = on);
                            if !s.phase.get_untracked().is_busy() {
                                s.tty.set(on);
                            }
                        }
                    />
                    <span>"Run in a tty by default"</span>
                </label>
                <button
                    class="wr-settings-close"
                    title="Close"
                    aria-label="Close settings"
                    on:click=move |_| st.open.set(false)
                >
                    "×"
                </button>
            </div>
        }
    };
    move || st.open.get().then(panel)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_settings_parse_with_defaults() {
        assert_eq!(Settings::parse(""), Settings::default());
        assert_eq!(
            Settings::parse("{\"theme\":\"purple\"}"),
            Settings::default()
        );
        let s = Settings::parse(r#"{"theme":"dark","keymap":"vim","font_size":18,"tty":true}"#);
        assert_eq!(
            s,
            Settings {
                theme: Theme::Dark,
                keymap: Keymap::Vim,
                font_size: 18,
                tty: true
            }
        );
        assert_eq!(Settings::parse(r#"{"font_size":200}"#).font_size, 14);
        assert_eq!(
            Settings::parse(r#"{"keymap":"emacs"}"#).keymap,
            Keymap::Emacs
        );
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(Settings::parse(&json), s);
    }
}
