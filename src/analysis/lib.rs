//! Telemetry analysis: pure functions over numbers and strings, no I/O, no terminal.
//!
//! The agent must see a digest, not a dump. This module owns the two digests the spine
//! needs: which metric series moved when the incident began and by how much ([`rank`]),
//! and log lines folded into templates with counts ([`templates`]). Both are written
//! here rather than pulled from a crate because they are small, the product's own, and
//! need to run on every tool call in microseconds.

// The crates this one stands on, under the names its modules use (`crate::event`, …).
use hunch_protocol as protocol;
use hunch_protocol::{sanitize, text};

pub mod grouping;
pub mod harm;
pub mod logheader;
pub mod rank;
pub mod significance;
pub mod templates;
pub mod topology;
pub mod traces;
