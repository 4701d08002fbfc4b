//! Streamed text, redacted as a whole.
//!
//! A model streams its reply in small deltas, and a secret can be cut anywhere:
//! `AKIAIOSF` then `ODNN7EXAMPLE`. Redacting each delta on its own finds nothing, and
//! once a half is recorded or printed it can't be taken back. [`Streamed`] holds text
//! back until it can be redacted whole: it releases only up to the last whitespace (no
//! built-in secret holds whitespace, so a token is never split across two releases),
//! never past the start of a PEM block that has not ended, and it redacts each release
//! together with the text released before it, from the start of the line that holds the
//! last non-blank character (so `password:` ending one line still gives its context to
//! the value on the next): a secret found by its context (`password = …`, `Bearer …`) is
//! still found when the context came in an earlier delta. What it hands out is the part
//! of that redacted window not handed out before.
//!
//! `finish` releases whatever is held, at the end of a reply or when the other stream
//! (reasoning or message) takes over.

use super::Redactor;
use regex::Regex;
use std::sync::LazyLock;

/// The end of a PEM block: text from a `-----BEGIN` without one is held back whole.
static PEM_END: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"-----END [A-Z0-9 ]*-----").expect("the pattern compiles"));

/// One stream of text (a reply's message or its reasoning) on its way to the record.
#[derive(Debug, Default)]
pub struct Streamed {
    /// Received, not yet released.
    held: String,
    /// Released text still needed as context: from the start of the line that holds the
    /// last non-blank character released.
    window: String,
}

impl Streamed {
    /// Take `text`; return what may be shown now, redacted, and how many secrets it
    /// removed.
    pub fn push(&mut self, redactor: &Redactor, text: &str) -> (String, usize) {
        self.held.push_str(text);
        let cut = release_point(&self.held);
        if cut == 0 {
            return (String::new(), 0);
        }
        let released: String = self.held.drain(..cut).collect();
        self.release(redactor, &released)
    }

    /// Release everything held (the reply ended, or was cut).
    pub fn finish(&mut self, redactor: &Redactor) -> (String, usize) {
        let held = std::mem::take(&mut self.held);
        let out = if held.is_empty() {
            (String::new(), 0)
        } else {
            self.release(redactor, &held)
        };
        self.window.clear();
        out
    }

    /// Redact `text` in its window; the new part of the redacted window.
    fn release(&mut self, redactor: &Redactor, text: &str) -> (String, usize) {
        let (before, counted) = redactor.redact(&self.window);
        self.window.push_str(text);
        let (after, count) = redactor.redact(&self.window);
        let out = match after.strip_prefix(&before) {
            Some(new) => (new.to_string(), count.saturating_sub(counted)),
            // Only a custom pattern spanning whitespace can change text already shown:
            // the new text is then redacted on its own.
            None => redactor.redact(text),
        };
        self.trim_window();
        out
    }

    /// Drop the lines no later secret can need as context.
    fn trim_window(&mut self) {
        let Some(last) = self.window.rfind(|c: char| !c.is_whitespace()) else {
            return;
        };
        let line_start = self.window[..last].rfind('\n').map_or(0, |n| n + 1);
        self.window.drain(..line_start);
    }
}

/// How much of `held` may be released: up to and including its last whitespace, but not
/// past a PEM block that has not ended yet.
fn release_point(held: &str) -> usize {
    let cut = held
        .char_indices()
        .rev()
        .find(|(_, c)| c.is_whitespace())
        .map_or(0, |(at, c)| at + c.len_utf8());
    match open_block(held) {
        Some(begin) => cut.min(begin),
        None => cut,
    }
}

/// Where the last `-----BEGIN` without its `-----END …-----` starts, if there is one.
fn open_block(text: &str) -> Option<usize> {
    let begin = text.rfind("-----BEGIN")?;
    (!PEM_END.is_match(&text[begin..])).then_some(begin)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Stream `parts` through a [`Streamed`]; the text it released, in full.
    fn stream(parts: &[&str]) -> (String, usize) {
        let redactor = Redactor::default();
        let mut streamed = Streamed::default();
        let mut out = String::new();
        let mut count = 0;
        for part in parts {
            let (text, n) = streamed.push(&redactor, part);
            out.push_str(&text);
            count += n;
        }
        let (text, n) = streamed.finish(&redactor);
        (out + &text, count + n)
    }

    #[test]
    fn a_key_cut_in_two_is_redacted_whole() {
        let (text, n) = stream(&["retrying with AKIAIOSF", "ODNN7EXAMPLE now\n"]);
        assert_eq!(text, "retrying with [redacted:aws-key] now\n");
        assert_eq!(n, 1);
        let (text, _) = stream(&["AKIA", "IOSFODNN7EXAMPLE"]);
        assert_eq!(text, "[redacted:aws-key]");
    }

    #[test]
    fn a_secret_found_by_context_from_an_earlier_delta() {
        let (text, n) = stream(&["the db ", "password", " = ", "hun", "ter2secret", " works"]);
        assert_eq!(text, "the db password = [redacted:secret] works");
        assert_eq!(n, 1);
        let (text, _) = stream(&["Authorization: Bearer ", "abcdef0123", "456789xyz\n"]);
        assert_eq!(text, "Authorization: Bearer [redacted:bearer]\n");
        let (text, _) = stream(&["token:\n", "\n  ", "kube7oken0value1234 ok"]);
        assert!(!text.contains("kube7oken"), "{text}");
    }

    #[test]
    fn a_pem_block_is_held_until_it_ends() {
        let redactor = Redactor::default();
        let mut streamed = Streamed::default();
        let (shown, _) = streamed.push(&redactor, "here:\n-----BEGIN RSA PRIVATE KEY-----\nMIIE");
        assert_eq!(shown, "here:\n");
        let (shown, _) = streamed.push(&redactor, "ow abc\n");
        assert_eq!(shown, "");
        let (shown, n) = streamed.push(&redactor, "-----END RSA PRIVATE KEY-----\nafter ");
        assert_eq!(shown, "[redacted:private-key]\nafter ");
        assert_eq!(n, 1);
        let (text, _) = stream(&["cut short -----BEGIN PRIVATE KEY-----\nMIIEvQ", "IBADAN"]);
        assert_eq!(text, "cut short [redacted:private-key]");
    }

    #[test]
    fn ordinary_text_streams_word_by_word_unchanged() {
        let redactor = Redactor::default();
        let mut streamed = Streamed::default();
        assert_eq!(
            streamed.push(&redactor, "orders-db is sat").0,
            "orders-db is "
        );
        assert_eq!(streamed.push(&redactor, "urated\nnext").0, "saturated\n");
        assert_eq!(streamed.finish(&redactor).0, "next");
        let text = "input_tokens: 512 and a long line of prose\n".repeat(3);
        let parts: Vec<&str> = text.split_inclusive(' ').collect();
        assert_eq!(stream(&parts), (text.clone(), 0));
    }
}
