//! Redacting a model request: every string of every turn (tool outputs, logs quoted by
//! the brain, the engineer's steering, the incident brief) passes the shared
//! [`Redactor`] before it is sent. The engine already redacts what it records, so this
//! is the second line: it also catches what a brain assembled from several pieces.

use super::conversation::Turn;
use crate::redact::Redactor;
use serde_json::Value;

/// Redact every string a request carries; returns how many secrets were removed.
pub fn redact_turns(turns: &mut [Turn], redactor: &Redactor) -> usize {
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
                    redact_value(&mut call.args, &mut text);
                }
            }
        }
    }
    count
}

/// Every string inside a JSON value.
pub fn redact_value(value: &mut Value, text: &mut impl FnMut(&mut String)) {
    match value {
        Value::String(s) => text(s),
        Value::Array(items) => items.iter_mut().for_each(|v| redact_value(v, text)),
        Value::Object(map) => map.values_mut().for_each(|v| redact_value(v, text)),
        _ => {}
    }
}
