//! Streamed text, redacted as a whole.
//!
//! A model streams its reply in small deltas, and a secret can be cut anywhere:
//! `AKIAIOSF` then `ODNN7EXAMPLE`. Redacting each delta on its own finds nothing, and
//! once a half is recorded or printed it can't be taken back. [`Streamed`] holds text
//! back until it can be redacted whole: it releases only up to the last whitespace (no
//! built-in secret holds whitespace, so a token is never split across two releases),
//! never past the start of a PEM block that has not ended (with the `-----END` of its
//! own label: an `-----END X-----` inside it ends nothing), and it redacts each release
//! together with the text released before it, from the start of the line that holds the
//! last non-blank character (so `password:` ending one line still gives its context to
//! the value on the next): a secret found by its context (`password = …`, `Bearer …`) is
//! still found when the context came in an earlier delta. What it hands out is the part
//! of that redacted window not handed out before. The window is kept to about
//! [`WINDOW`] bytes and each delta is searched only where it landed, so a reply of one
//! long line, or of one word without spaces, costs linear time, not quadratic.
//!
//! `finish` releases whatever is held, at the end of a reply or when the other stream
//! (reasoning or message) takes over.

use super::Redactor;

/// The most released text kept as context for the next release (trimmed at whitespace):
/// enough for any key name before its value, small enough that redacting it again on
/// every delta stays cheap however long a line grows.
const WINDOW: usize = 512;

/// How far before newly arrived text a search restarts, so a marker cut across two
/// deltas (`-----BEG` + `IN`, `-----END RSA PRI` + `VATE KEY-----`) is still found. An
/// end marker longer than this is not found: its block is held to the end (the safe way).
const OVERLAP: usize = 128;

const BEGIN: &str = "-----BEGIN";

/// One stream of text (a reply's message or its reasoning) on its way to the record.
#[derive(Debug, Default)]
pub struct Streamed {
    /// Received, not yet released.
    held: String,
    /// Where in `held` the text after its last whitespace starts (0: no whitespace).
    after_space: usize,
    /// A PEM block in `held` whose end has not come: where it starts, and its label
    /// (`RSA PRIVATE KEY`) once the `-----BEGIN …-----` line is whole.
    open: Option<(usize, Option<String>)>,
    /// Released text still needed as context: from the start of the line that holds the
    /// last non-blank character released, at most about [`WINDOW`] bytes.
    window: String,
}

impl Streamed {
    /// Take `text`; return what may be shown now, redacted, and how many secrets it
    /// removed. Each call costs time in the length of `text` and the window, not in
    /// what is held: a reply without whitespace (or a block that never ends) is held
    /// whole without being searched again.
    pub fn push(&mut self, redactor: &Redactor, text: &str) -> (String, usize) {
        let old = self.held.len();
        self.held.push_str(text);
        if let Some((at, c)) = text.char_indices().rev().find(|(_, c)| c.is_whitespace()) {
            self.after_space = old + at + c.len_utf8();
        }
        self.find_blocks(old);
        let cut = match &self.open {
            Some((begin, _)) => self.after_space.min(*begin),
            None => self.after_space,
        };
        if cut == 0 {
            return (String::new(), 0);
        }
        let released: String = self.held.drain(..cut).collect();
        self.after_space -= cut;
        if let Some((begin, _)) = &mut self.open {
            *begin -= cut;
        }
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
        self.after_space = 0;
        self.open = None;
        out
    }

    /// Follow PEM blocks through the text that arrived at `old` (and a little before):
    /// a block opens at `-----BEGIN <label>-----` and ends only at `-----END <label>-----`
    /// with the same label, so an `-----END X-----` inside it ends nothing.
    fn find_blocks(&mut self, old: usize) {
        let mut from = floor(&self.held, old.saturating_sub(OVERLAP));
        loop {
            match &mut self.open {
                None => match self.held[from..].find(BEGIN) {
                    Some(at) => {
                        self.open = Some((from + at, None));
                        from += at + BEGIN.len();
                    }
                    None => return,
                },
                Some((begin, label)) => {
                    let begin = *begin;
                    if label.is_none() {
                        let line = &self.held[begin + BEGIN.len()..];
                        let head = &line[..floor(line, OVERLAP)];
                        match head.find("-----") {
                            Some(end) => *label = Some(head[..end].trim().to_string()),
                            // No label line: held to the end, never searched again.
                            None if line.len() >= OVERLAP => *label = Some("\0".into()),
                            None => return,
                        }
                    }
                    let marker = format!("-----END {}-----", label.as_deref().unwrap_or(""));
                    let start = from.max(begin + BEGIN.len());
                    match self.held[start..].find(&marker) {
                        Some(at) => {
                            self.open = None;
                            from = start + at + marker.len();
                        }
                        None => return,
                    }
                }
            }
        }
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

    /// Drop the lines no later secret can need as context, and all but the last
    /// [`WINDOW`] bytes of a long line: blank runs shrunk to one blank (`password:` then
    /// a page of spaces is still `password:` before its value), cut after whitespace so
    /// no token is split, and never inside the last three words (`password`, `=`, `"`).
    fn trim_window(&mut self) {
        let Some(last) = self.window.rfind(|c: char| !c.is_whitespace()) else {
            // Only blanks: nothing a later secret needs.
            self.window.clear();
            return;
        };
        let line_start = self.window[..last].rfind('\n').map_or(0, |n| n + 1);
        self.window.drain(..line_start);
        if self.window.len() <= WINDOW {
            return;
        }
        self.window = shrink_blanks(&self.window);
        if self.window.len() > WINDOW {
            let keep = last_words(&self.window, 3);
            let from = floor(&self.window, self.window.len() - WINDOW);
            let cut = self.window[from..]
                .find(char::is_whitespace)
                .map_or(self.window.len(), |at| from + at + 1);
            self.window.drain(..floor(&self.window, cut.min(keep)));
        }
    }
}

/// `text` with each run of blanks longer than a few characters made one blank (a line
/// break if the run held one).
fn shrink_blanks(text: &str) -> String {
    let mut out = String::with_capacity(text.len().min(4 * WINDOW));
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        if run.len() > 8 {
            out.push(if run.contains('\n') { '\n' } else { ' ' });
        } else {
            out.push_str(run);
        }
        run.clear();
    };
    for c in text.chars() {
        if c.is_whitespace() {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    out
}

/// Where the last `n` words of `text` start.
fn last_words(text: &str, n: usize) -> usize {
    let mut at = text.len();
    for _ in 0..n {
        let Some(word_end) = text[..at].rfind(|c: char| !c.is_whitespace()) else {
            return 0;
        };
        at = text[..word_end]
            .char_indices()
            .rev()
            .find(|(_, c)| c.is_whitespace())
            .map_or(0, |(i, c)| i + c.len_utf8());
    }
    at
}

/// The nearest char boundary at or before `at`.
fn floor(text: &str, mut at: usize) -> usize {
    at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
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
