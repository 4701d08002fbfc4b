//! hunch: a terminal where an AI agent investigates a production incident alongside the
//! engineer on call.
//!
//! The architecture in one breath: the [`engine`] runs a [`brain`] and [`tools`] through an
//! approval gate and publishes [`event`]s; every reader — the [`tui`], the [`session`]
//! recorder, the [`headless`] printer, the replay viewer — folds the same events through
//! the same reducer.

pub mod alert;
pub mod analysis;
pub mod attach;
pub mod brain;
pub mod bundle;
pub mod config;
pub mod engine;
pub mod event;
pub mod headless;
pub mod knowledge;
pub mod launch;
pub mod postmortem;
pub mod protocol;
pub mod redact;
pub mod runs;
pub mod sanitize;
pub mod session;
pub mod text;
pub mod tools;
pub mod tui;
pub mod watch;
