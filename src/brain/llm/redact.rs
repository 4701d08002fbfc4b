//! Redacting a model request: every string of every turn (tool outputs, logs quoted by
//! the brain, the engineer's steering, the incident brief) passes the shared
//! [`Redactor`] before it is sent. The engine already redacts what it records, so this
//! is the second line: it also catches what a brain assembled from several pieces.

use super::conversation::Turn;
use crate::redact::Redactor;

/// Redact every string a request carries; returns how many secrets were removed.
pub(super) fn redact_turns(turns: &mut [Turn], redactor: &Redactor) -> usize {
    let mut count = 0;
    let mut text = |s: &mut String| {
        let (clean, n) = redactor.redact(s);
        if n > 0 {
            *s = clean;
            count += n;
        }
    };
    for turn in turns {
        match turn {
            Turn::System(t) | Turn::User(t) => text(t),
            Turn::ToolResult { content, .. } => text(content),
            Turn::Assistant(m) => {
                text(&mut m.text);
                text(&mut m.reasoning);
                for call in &mut m.calls {
                    crate::sanitize::each_string(&mut call.args, &mut text);
                }
            }
        }
    }
    count
}
