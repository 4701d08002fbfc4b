//! Making outside text safe to show on a terminal.
//!
//! Log lines, tool output and model text can carry escape sequences (clear screen, OSC
//! window titles, cursor moves, hyperlinks). Every such string passes through
//! [`for_display`] before it reaches the screen, a session preview or the headless
//! printer. Escape sequences are parsed away by `strip-ansi-escapes` (a VTE parser, so
//! partial and malformed sequences are handled too); any remaining C0/C1 control
//! character but newline is dropped, and tabs become spaces so widths stay honest.

/// Strip terminal control sequences; keep newlines; expand tabs to four spaces.
pub fn for_display(text: &str) -> String {
    let has_control = text
        .chars()
        .any(|c| (c.is_control() && c != '\n') || c == '\u{7f}');
    if !has_control {
        return text.to_string();
    }
    let stripped = strip_ansi_escapes::strip_str(text.replace('\t', "    "));
    let mut out = String::with_capacity(stripped.len());
    for c in stripped.chars() {
        match c {
            '\n' => out.push('\n'),
            '\r' => {}
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

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
