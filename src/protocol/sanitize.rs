//! Making outside text safe to record, print and draw.
//!
//! Log lines, tool output, model text, bundle files and names from config can carry
//! escape sequences (clear screen, OSC window titles, cursor moves, hyperlinks) and
//! bidirectional overrides that make a terminal show text other than what is there
//! (U+202E turns `exe.txt` around). The engine passes every event and every tool output
//! through [`for_display`] before anything is recorded, printed or drawn; printers of
//! recorded files pass it again, for sessions written by older versions. Escape
//! sequences are parsed away by `strip-ansi-escapes` (a VTE parser, so partial and
//! malformed sequences are handled too); any remaining C0/C1 control character but
//! newline is dropped, bidi embeddings, overrides and isolates are dropped, and tabs
//! become spaces so widths stay honest.

use serde_json::Value;

/// Bidirectional embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069).
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

fn needs_cleaning(c: char) -> bool {
    (c.is_control() && c != '\n') || is_bidi_control(c)
}

/// Strip terminal control sequences and bidi overrides; keep newlines; expand tabs to
/// four spaces.
pub fn for_display(text: &str) -> String {
    if !text.chars().any(needs_cleaning) {
        return text.to_string();
    }
    let stripped = strip_ansi_escapes::strip_str(text.replace('\t', "    "));
    let mut out = String::with_capacity(stripped.len());
    for c in stripped.chars() {
        match c {
            '\n' => out.push('\n'),
            '\r' => {}
            c if c.is_control() || is_bidi_control(c) => {}
            c => out.push(c),
        }
    }
    out
}

/// A name or a cell from a file as one line of text may show it: [`for_display`], its
/// newlines made spaces, trimmed.
pub fn one_line(text: &str) -> String {
    for_display(text).replace('\n', " ").trim().to_string()
}

/// Call `f` on every string inside a JSON value (the one walk the cleaning and the
/// redaction of events, tool arguments and model requests share).
pub fn each_string(value: &mut Value, f: &mut impl FnMut(&mut String)) {
    match value {
        Value::String(s) => f(s),
        Value::Array(items) => items.iter_mut().for_each(|v| each_string(v, f)),
        Value::Object(map) => {
            // Keys are strings too: a model can name an argument after a secret. Two keys
            // that clean to the same text keep the later value.
            let entries: Vec<(String, Value)> = std::mem::take(map)
                .into_iter()
                .map(|(mut key, mut v)| {
                    f(&mut key);
                    each_string(&mut v, f);
                    (key, v)
                })
                .collect();
            map.extend(entries);
        }
        _ => {}
    }
}

/// [`for_display`] on every string inside a JSON value (tool arguments from a model).
pub fn clean_value(value: &mut Value) {
    each_string(value, &mut |s| {
        if s.chars().any(needs_cleaning) {
            *s = for_display(s);
        }
    });
}

/// An event as it may be printed: every string in it through [`for_display`] (it walks
/// the serialized form, so no field is missed). Recorded sessions are clean already;
/// this is for files written by older versions, or by hand.
pub fn clean_event(event: &crate::event::Event) -> crate::event::Event {
    let Ok(mut value) = serde_json::to_value(event) else {
        return event.clone();
    };
    clean_value(&mut value);
    serde_json::from_value(value).unwrap_or_else(|_| event.clone())
}

/// Whether text is free of everything [`for_display`] removes (tabs excepted).
pub fn is_clean(text: &str) -> bool {
    !text.chars().any(|c| c != '\t' && needs_cleaning(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removes_bidi_overrides_and_c1_controls() {
        let hostile = "invoice\u{202e}fdp.exe \u{2066}x\u{2069} \u{9b}31m csi";
        let clean = for_display(hostile);
        assert_eq!(clean, "invoicefdp.exe x 31m csi");
        assert!(is_clean(&clean));
        let mut args =
            serde_json::json!({"command": ["kubectl\u{1b}]0;t\u{7}", {"q": "a\u{202e}b"}]});
        clean_value(&mut args);
        assert_eq!(
            args,
            serde_json::json!({"command": ["kubectl", {"q": "ab"}]})
        );
    }

    #[test]
    fn removes_clear_screen_title_and_cursor_moves() {
        let hostile = "ok \x1b[2J\x1b]0;owned\x07\x1b[10;10Hdone\r\n\tnext\x08";
        let clean = for_display(hostile);
        assert_eq!(clean, "ok done\n    next");
        assert!(!clean.contains('\x1b'));
    }

    #[test]
    fn plain_text_is_untouched() {
        assert_eq!(for_display("héllo → wörld\nline"), "héllo → wörld\nline");
    }
}
