//! hunch: a terminal where an AI agent investigates a production incident alongside the
//! engineer on call.
//!
//! The architecture in one breath: the [`engine`] runs a [`brain`] and [`tools`] through an
//! approval gate and publishes [`event`]s; every reader — the [`tui`], the [`session`]
//! recorder, the [`headless`] printer, the replay viewer — folds the same events through
//! the same reducer.
//!
//! This package is the top of the workspace: the wiring that builds an investigation
//! ([`launch`], [`runs`], [`config`]), the attach socket, the alert watcher and the CLI (in
//! the binary). The layers below are crates of their own (see `Cargo.toml`); they are
//! re-exported here under their short names so that the CLI and the integration tests
//! read `hunch::engine::…` whichever crate a part lives in.

pub use hunch_analysis as analysis;
pub use hunch_brain as brain;
pub use hunch_bundle as bundle;
pub use hunch_engine as engine;
pub use hunch_knowledge as knowledge;
pub use hunch_postmortem as postmortem;
pub use hunch_protocol as protocol;
pub use hunch_protocol::{event, redact, sanitize, text};
pub use hunch_session as session;
pub use hunch_tools as tools;
pub use hunch_tui as tui;

pub mod alert;
pub mod attach;
pub mod config;
pub mod headless;
pub mod launch;
pub mod runs;
pub mod watch;
