//! Leptos components and pages, shared by SSR and the browser.
