//! The hydrate entry compiled to wasm32-unknown-unknown.
