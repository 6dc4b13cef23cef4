//! The HTTP routes; handlers stay thin and leave the work to `pool`.

pub mod format;
pub mod health;
pub mod judge0;
pub mod languages;
pub mod openapi;
pub mod piston;
pub mod runs;
pub mod snippets;
pub mod stats;
pub mod submissions;
pub mod ws;
