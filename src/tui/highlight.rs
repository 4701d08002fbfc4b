//! Syntax highlighting of tool output with syntect's parser, coloured by our theme.
//!
//! syntect themes are truecolour; we want the terminal's named ANSI colours so light and
//! dark terminals both work. So we use syntect only to parse (scopes), and map scope
//! families (`string`, `constant.numeric`, `keyword`, `comment`, …) to `syntax.*` roles of
//! the active [`Theme`]. Logs get a tiny level highlighter of their own.

use super::theme::Theme;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use std::sync::OnceLock;
use syntect::parsing::{ParseState, ScopeStack, ScopeStackOp, SyntaxReference, SyntaxSet};

fn syntaxes() -> &'static SyntaxSet {
    static SET: OnceLock<SyntaxSet> = OnceLock::new();
    SET.get_or_init(SyntaxSet::load_defaults_newlines)
}

fn syntax_for(language: &str) -> Option<&'static SyntaxReference> {
    let token = match language {
        "json" => "json",
        "sql" => "sql",
        "yaml" => "yaml",
        "shell" => "bash",
        _ => return None,
    };
    syntaxes().find_syntax_by_token(token)
}

fn role_for(stack: &ScopeStack) -> Option<&'static str> {
    for scope in stack.as_slice().iter().rev() {
        let name = scope.build_string();
        let role = if name.starts_with("comment") {
            "syntax.comment"
        } else if name.starts_with("string") {
            "syntax.string"
        } else if name.starts_with("constant.numeric") {
            "syntax.number"
        } else if name.starts_with("constant") {
            "syntax.constant"
        } else if name.starts_with("keyword") || name.starts_with("storage") {
            "syntax.keyword"
        } else if name.starts_with("support")
            || name.starts_with("entity.name")
            || name.starts_with("variable.function")
        {
            "syntax.name"
        } else {
            continue;
        };
        // JSON object keys are strings inside a dictionary key: show them as names.
        if role == "syntax.string"
            && stack.as_slice().iter().any(|s| {
                s.build_string()
                    .starts_with("meta.structure.dictionary.key")
            })
        {
            return Some("syntax.name");
        }
        return Some(role);
    }
    None
}

fn log_line(line: &str, theme: &Theme) -> Line<'static> {
    let style = if line.contains("ERROR") || line.contains("FATAL") {
        theme.style("tool.failed")
    } else if line.contains("WARN") {
        theme.style("tool.pending")
    } else {
        Style::default()
    };
    Line::from(Span::styled(line.to_string(), style))
}

/// Highlight `text` (already free of control sequences) line by line.
pub(crate) fn highlight(text: &str, language: &str, theme: &Theme) -> Vec<Line<'static>> {
    let Some(syntax) = syntax_for(language) else {
        return text.lines().map(|l| log_line(l, theme)).collect();
    };
    let mut state = ParseState::new(syntax);
    let mut stack = ScopeStack::new();
    let mut out = Vec::new();
    for line in text.lines() {
        let with_newline = format!("{line}\n");
        let ops = match state.parse_line(&with_newline, syntaxes()) {
            Ok(ops) => ops,
            Err(_) => {
                out.push(Line::from(line.to_string()));
                continue;
            }
        };
        let mut spans = Vec::new();
        let mut last = 0;
        let mut apply = |ops: &[(usize, ScopeStackOp)], stack: &mut ScopeStack| {
            for (pos, op) in ops {
                let pos = (*pos).min(line.len());
                if pos > last {
                    let style = role_for(stack).map(|r| theme.style(r)).unwrap_or_default();
                    spans.push(Span::styled(line[last..pos].to_string(), style));
                    last = pos;
                }
                let _ = stack.apply(op);
            }
        };
        apply(&ops, &mut stack);
        if last < line.len() {
            let style = role_for(&stack).map(|r| theme.style(r)).unwrap_or_default();
            spans.push(Span::styled(line[last..].to_string(), style));
        }
        out.push(Line::from(spans));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_strings_numbers_and_keys_get_roles() {
        let theme = Theme::default_theme();
        let lines = highlight(
            "{\"series\": \"payments_p99\", \"score\": 12.5}",
            "json",
            &theme,
        );
        let spans = &lines[0].spans;
        let style_of = |text: &str| {
            spans
                .iter()
                .find(|s| s.content.contains(text))
                .unwrap()
                .style
        };
        assert_eq!(style_of("score"), theme.style("syntax.name"));
        assert_eq!(style_of("12.5"), theme.style("syntax.number"));
        assert_eq!(style_of("payments_p99"), theme.style("syntax.string"));
        let text: String = spans.iter().map(|s| s.content.as_ref()).collect();
        assert_eq!(text, "{\"series\": \"payments_p99\", \"score\": 12.5}");
    }

    #[test]
    fn sql_keywords_are_keywords() {
        let theme = Theme::default_theme();
        let lines = highlight("SELECT state FROM pg_stat_activity", "sql", &theme);
        let select = lines[0]
            .spans
            .iter()
            .find(|s| s.content.contains("SELECT"))
            .unwrap();
        assert_eq!(select.style, theme.style("syntax.keyword"));
    }
}
