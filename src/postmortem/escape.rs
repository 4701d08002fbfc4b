//! Export is text, not markup: what a session recorded (a model's words, a tool's
//! output, a command) goes into the Markdown draft so that it reads as written and can
//! never become HTML, an image that loads, or a link that runs.
//!
//! Text is escaped (`<`, `&`, `[`, `]`, `\` and `|`), so `<script>`, `<img onerror>`,
//! `![](http://beacon)` and `[x](javascript:…)` show as the characters they are. A pair of
//! backticks in text stays a code span (models write `max_connections` that way), and
//! a code span or fence is always delimited by a backtick run longer than any inside
//! it (the CommonMark rule), so its content can't close it and spill out as markup.

/// Text for one line of Markdown (a list item or a table cell): line breaks become
/// spaces, markup characters are escaped, paired backticks stay code spans.
pub(crate) fn text(raw: &str) -> String {
    let flat = raw.replace(['\n', '\r'], " ");
    let mut out = String::with_capacity(flat.len());
    let mut rest = flat.as_str();
    while let Some(open) = rest.find('`') {
        out.push_str(&plain(&rest[..open]));
        let run = backtick_run(&rest[open..]);
        let after = &rest[open + run..];
        match closing_run(after, run) {
            Some(close) => {
                out.push_str(&code(unpadded(&after[..close])));
                rest = &after[close + run..];
            }
            None => {
                out.push_str(&"\\`".repeat(run));
                rest = after;
            }
        }
    }
    out.push_str(&plain(rest));
    out
}

/// A code span holding `raw` as it is, on one line, its pipes escaped for tables.
pub(crate) fn code(raw: &str) -> String {
    quote(&raw.replace('|', "\\|"))
}

/// `raw` on one line between backtick runs longer than any inside it: a code span in
/// Markdown, and still plain to read where the text is not Markdown (JSON).
pub(crate) fn quote(raw: &str) -> String {
    let content = raw.replace(['\n', '\r'], " ");
    let fence = "`".repeat(longest_backtick_run(&content) + 1);
    let pad = if content.starts_with('`')
        || content.ends_with('`')
        || (content.starts_with(' ') && content.ends_with(' ') && !content.trim().is_empty())
    {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{content}{pad}{fence}")
}

/// A fenced code block holding `raw`, each line after `indent` (to sit in a list item).
pub(crate) fn fenced(raw: &str, indent: &str) -> String {
    let fence = "`".repeat((longest_backtick_run(raw) + 1).max(3));
    let mut block = format!("{indent}{fence}\n");
    for line in raw.lines() {
        block.push_str(indent);
        block.push_str(line);
        block.push('\n');
    }
    block.push_str(indent);
    block.push_str(&fence);
    block
}

/// Text with every character Markdown or HTML would act on escaped.
fn plain(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '&' => out.push_str("&amp;"),
            '\\' | '[' | ']' | '|' | '`' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// A code span's content as CommonMark reads it: one space stripped from each end when
/// both ends have one (the padding [`quote`] adds around a backtick).
fn unpadded(content: &str) -> &str {
    match content.strip_prefix(' ').and_then(|c| c.strip_suffix(' ')) {
        Some(inner) if !inner.trim().is_empty() => inner,
        _ => content,
    }
}

/// How many backticks `text` starts with.
fn backtick_run(text: &str) -> usize {
    text.bytes().take_while(|b| *b == b'`').count()
}

fn longest_backtick_run(text: &str) -> usize {
    text.split(|c| c != '`').map(str::len).max().unwrap_or(0)
}

/// Where the first run of exactly `length` backticks in `text` starts.
fn closing_run(text: &str, length: usize) -> Option<usize> {
    let mut at = 0;
    while let Some(found) = text[at..].find('`') {
        let start = at + found;
        let run = backtick_run(&text[start..]);
        if run == length {
            return Some(start);
        }
        at = start + run;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_images_and_links_in_text_are_shown_not_run() {
        assert_eq!(
            text("<script>alert(1)</script> & ![](http://beacon/x.png)"),
            "&lt;script>alert(1)&lt;/script> &amp; !\\[\\](http://beacon/x.png)"
        );
        assert_eq!(
            text("[click](javascript:alert(1)) a|b\nc"),
            "\\[click\\](javascript:alert(1)) a\\|b c"
        );
        assert_eq!(text("a \\ b"), "a \\\\ b");
    }

    #[test]
    fn backticks_pair_into_code_spans_or_are_escaped() {
        assert_eq!(
            text("set `max_connections` now"),
            "set `max_connections` now"
        );
        assert_eq!(
            text("`<img src=x onerror=alert(1)>`"),
            "`<img src=x onerror=alert(1)>`"
        );
        assert_eq!(text("one ` <b>x</b>"), "one \\` &lt;b>x&lt;/b>");
        assert_eq!(text("a `` b ` c"), "a \\`\\` b \\` c");
        assert_eq!(code("echo `id`"), "`` echo `id` ``");
        assert_eq!(code("a|b"), "`a\\|b`");
        // A quoted command reads back whole, whatever backticks it holds.
        let command = "echo `id` ``x";
        assert_eq!(
            text(&format!("ran {}", quote(command))),
            format!("ran {}", code(command))
        );
        assert_eq!(quote(command), "```echo `id` ``x```");
        assert_eq!(quote("`x`"), "`` `x` ``");
    }

    #[test]
    fn a_fence_is_longer_than_any_backtick_run_inside() {
        assert_eq!(
            fenced("x\n```\n<b>", "  "),
            "  ````\n  x\n  ```\n  <b>\n  ````"
        );
        assert_eq!(fenced("plain", ""), "```\nplain\n```");
    }
}
