//! Tool calls written in a model's text instead of the API's tool-call field.
//!
//! Small and local models often know they should call a tool but write the call as text:
//! a JSON object (`{"name": "metrics_rank", "arguments": {"top": 5}}`), the same inside a
//! ```` ```json ```` block or `<tool_call>` tags (Hermes, Qwen), `functions.NAME:` followed
//! by JSON (the chatml-function-calling prompt), or function syntax
//! (`metrics_rank(top=5)`, `logs_digest({"level": "ERROR"})`). [`extract`] finds them and
//! returns ordinary [`ProposedCall`]s, so the engine checks them against the tool's schema
//! and puts them through the gate exactly like native calls: nothing here decides what is
//! valid or safe. Function syntax is only read for names of tools that exist, so prose
//! like "check(this)" is never a call; a JSON object that names an unknown tool is
//! passed on, and comes back to the model as an unknown-tool error it can correct.

use crate::ProposedCall;
use serde_json::{Map, Value};

/// Where in the text a call was written, said in the call's rationale.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Form {
    Tagged,
    CodeBlock,
    Json,
    Function,
}

impl Form {
    fn label(self) -> &'static str {
        match self {
            Form::Tagged => "a <tool_call> tag",
            Form::CodeBlock => "a ```json block",
            Form::Json => "a JSON object",
            Form::Function => "function syntax",
        }
    }
}

/// How much of a model's text is searched for calls: a call is written early and is
/// short; a model echoing a huge hostile log line must not stall the session.
pub(crate) const MAX_SCANNED: usize = 64 * 1024;

/// The longest one call written as JSON may be.
pub(crate) const MAX_CALL: usize = 16 * 1024;

/// The longest the arguments inside `name(…)` may be (function syntax is for short calls).
pub(crate) const MAX_FUNCTION_ARGS: usize = 4 * 1024;

/// `text` cut to at most `limit` bytes, at a character boundary.
fn at_most(text: &str, limit: usize) -> &str {
    if text.len() <= limit {
        return text;
    }
    let mut end = limit;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// The calls written in `text`, in the order written (within its first [`MAX_SCANNED`]
/// bytes). `tools` are the names the model may call.
pub fn extract(text: &str, tools: &[&str]) -> Vec<ProposedCall> {
    let text = at_most(text, MAX_SCANNED);
    let mut found: Vec<(usize, usize, Form, Value)> = Vec::new();
    let free = |found: &[(usize, usize, Form, Value)], at: usize| {
        !found.iter().any(|(s, e, _, _)| at >= *s && at < *e)
    };
    for (start, end, inner) in tagged(text) {
        for value in json_values(inner) {
            found.push((start, end, Form::Tagged, value));
        }
    }
    for (start, end, inner) in code_blocks(text) {
        if free(&found, start) {
            for value in json_values(inner) {
                found.push((start, end, Form::CodeBlock, value));
            }
        }
    }
    for (start, end, value) in bare_json(text) {
        if free(&found, start) {
            found.push((start, end, Form::Json, value));
        }
    }
    for (start, end, value) in function_syntax(text, tools) {
        if free(&found, start) {
            found.push((start, end, Form::Function, value));
        }
    }
    found.sort_by_key(|(start, ..)| *start);
    found
        .into_iter()
        .flat_map(|(_, _, form, value)| {
            calls_in(&value, tools)
                .into_iter()
                .map(move |(tool, args)| ProposedCall {
                    tool,
                    args,
                    rationale: format!("written in the model's text as {}", form.label()),
                })
        })
        .collect()
}

/// `<tool_call>…</tool_call>` and its cousins: (start, end, inside).
fn tagged(text: &str) -> Vec<(usize, usize, &str)> {
    let mut out = Vec::new();
    for (open, close) in [
        ("<tool_call>", "</tool_call>"),
        ("<function_call>", "</function_call>"),
        ("<tools>", "</tools>"),
        ("[TOOL_CALLS]", "\n\n"),
    ] {
        let mut from = 0;
        while let Some(at) = text[from..].find(open).map(|i| i + from) {
            let inner_start = at + open.len();
            let inner_end = text[inner_start..]
                .find(close)
                .map_or(text.len(), |i| i + inner_start);
            let end = (inner_end + close.len()).min(text.len());
            out.push((at, end, &text[inner_start..inner_end]));
            from = end.max(at + 1);
        }
    }
    out
}

/// Fenced code blocks (any language tag): (start, end, inside).
fn code_blocks(text: &str) -> Vec<(usize, usize, &str)> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(at) = text[from..].find("```").map(|i| i + from) {
        let after_fence = at + 3;
        let body_start = text[after_fence..]
            .find('\n')
            .map_or(text.len(), |i| i + after_fence + 1);
        let Some(body_end) = text[body_start..].find("```").map(|i| i + body_start) else {
            out.push((at, text.len(), &text[body_start.min(text.len())..]));
            break;
        };
        out.push((at, body_end + 3, &text[body_start..body_end]));
        from = body_end + 3;
    }
    out
}

/// Every JSON value that starts at an object or array in `text`, outermost only.
fn json_values(text: &str) -> Vec<Value> {
    bare_json(text).into_iter().map(|(_, _, v)| v).collect()
}

/// JSON objects and arrays in running text: (start, end, value).
fn bare_json(text: &str) -> Vec<(usize, usize, Value)> {
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(i) = text[at..].find(['{', '[']).map(|i| i + at) {
        let window = at_most(&text[i..], MAX_CALL);
        let mut stream = serde_json::Deserializer::from_str(window).into_iter::<Value>();
        match stream.next() {
            Some(Ok(value)) if value.is_object() || value.is_array() => {
                let end = i + stream.byte_offset();
                out.push((i, end, value));
                at = end;
            }
            _ => at = i + 1,
        }
    }
    out
}

/// `name(…)` and `functions.name:` / `functions.name(…)` for known tool names.
fn function_syntax(text: &str, tools: &[&str]) -> Vec<(usize, usize, Value)> {
    let mut out = Vec::new();
    for tool in tools {
        let mut from = 0;
        while let Some(at) = text[from..].find(tool).map(|i| i + from) {
            from = at + tool.len();
            let before = text[..at].chars().next_back();
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '"' || c == '`') {
                continue;
            }
            let rest = &text[from..];
            let trimmed = rest.trim_start_matches([' ', '\t']);
            let offset = from + (rest.len() - trimmed.len());
            let start = if text[..at].ends_with("functions.") {
                at - "functions.".len()
            } else {
                at
            };
            if let Some(body) = trimmed.strip_prefix(':') {
                // functions.name:\n{json}
                let skipped = body.len() - body.trim_start().len();
                let json_at = offset + 1 + skipped;
                if let Some((_, end, args)) = bare_json(&text[json_at..])
                    .into_iter()
                    .next()
                    .filter(|(s, _, v)| *s == 0 && v.is_object())
                {
                    out.push((start, json_at + end, call_value(tool, args)));
                }
                continue;
            }
            let Some(inside) = trimmed.strip_prefix('(') else {
                continue;
            };
            let Some(close) = matching_paren(inside) else {
                continue;
            };
            let Some(args) = arguments_of(&inside[..close]) else {
                continue;
            };
            out.push((start, offset + 1 + close + 1, call_value(tool, args)));
        }
    }
    out
}

fn call_value(tool: &str, args: Value) -> Value {
    serde_json::json!({"name": tool, "arguments": args})
}

/// The index of the `)` that closes an already opened `(`, skipping quoted text.
fn matching_paren(text: &str) -> Option<usize> {
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for (i, c) in at_most(text, MAX_FUNCTION_ARGS).char_indices() {
        if let Some(q) = quote {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                _ if c == q => quote = None,
                _ => {}
            }
            continue;
        }
        match c {
            '"' | '\'' => quote = Some(c),
            '(' | '{' | '[' => depth += 1,
            ')' if depth == 0 => return Some(i),
            ')' | '}' | ']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    None
}

/// The arguments inside `name(…)`: nothing, one JSON object, or `key=value` pairs.
fn arguments_of(inside: &str) -> Option<Value> {
    let inside = inside.trim();
    if inside.is_empty() {
        return Some(Value::Object(Map::new()));
    }
    if let Ok(value @ Value::Object(_)) = serde_json::from_str::<Value>(inside) {
        return Some(value);
    }
    let mut args = Map::new();
    for pair in split_top_level(inside) {
        let (key, value) = pair.split_once(['=', ':'])?;
        let key = key.trim().trim_matches(['"', '\'']);
        if key.is_empty() || !key.chars().all(|c| c.is_alphanumeric() || c == '_') {
            return None;
        }
        args.insert(key.to_string(), literal(value.trim()));
    }
    Some(Value::Object(args))
}

/// Split on commas outside quotes and brackets.
fn split_top_level(text: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0usize, 0usize);
    let mut quote: Option<char> = None;
    for (i, c) in text.char_indices() {
        match (quote, c) {
            (Some(q), _) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '(' | '[' | '{') => depth += 1,
            (None, ')' | ']' | '}') => depth = depth.saturating_sub(1),
            (None, ',') if depth == 0 => {
                parts.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts.into_iter().filter(|p| !p.trim().is_empty()).collect()
}

/// A Python-ish literal as JSON: JSON itself, a single-quoted string, True/False/None, or
/// a bare word as a string.
fn literal(text: &str) -> Value {
    if let Ok(value) = serde_json::from_str::<Value>(text) {
        return value;
    }
    match text {
        "True" => return Value::Bool(true),
        "False" => return Value::Bool(false),
        "None" => return Value::Null,
        _ => {}
    }
    let unquoted = text
        .strip_prefix('\'')
        .and_then(|t| t.strip_suffix('\''))
        .unwrap_or(text);
    Value::String(unquoted.to_string())
}

/// The (tool, arguments) pairs a JSON value written as a call holds.
fn calls_in(value: &Value, tools: &[&str]) -> Vec<(String, Value)> {
    match value {
        Value::Array(items) => items.iter().flat_map(|v| calls_in(v, tools)).collect(),
        Value::Object(map) => call_of(map, tools).into_iter().collect(),
        _ => Vec::new(),
    }
}

fn call_of(map: &Map<String, Value>, tools: &[&str]) -> Option<(String, Value)> {
    // {"type": "function", "function": {"name": …, "arguments": …}}
    if let Some(Value::Object(function)) = map.get("function") {
        return call_of(function, tools);
    }
    let name = ["name", "tool", "tool_name", "function", "action"]
        .iter()
        .find_map(|k| map.get(*k).and_then(Value::as_str));
    if let Some(name) = name {
        let args = ["arguments", "parameters", "args", "input", "action_input"]
            .iter()
            .find_map(|k| map.get(*k));
        let args = match args {
            None if map.len() == 1 && tools.contains(&name) => Value::Object(Map::new()),
            None => return None,
            Some(Value::String(s)) => super::openai::parse_arguments(s),
            Some(Value::Null) => Value::Object(Map::new()),
            Some(other) => other.clone(),
        };
        return Some((name.to_string(), args));
    }
    // {"metrics_rank": {"top": 5}}
    match map.iter().next() {
        Some((key, args @ Value::Object(_))) if map.len() == 1 && tools.contains(&key.as_str()) => {
            Some((key.clone(), args.clone()))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const TOOLS: &[&str] = &["metrics_rank", "logs_digest", "change_events", "kubectl"];

    fn calls(text: &str) -> Vec<(String, Value)> {
        extract(text, TOOLS)
            .into_iter()
            .map(|c| (c.tool, c.args))
            .collect()
    }

    #[test]
    fn a_json_object_in_prose() {
        assert_eq!(
            calls(r#"I will look. {"name": "metrics_rank", "arguments": {"top": 5}} Then logs."#),
            [("metrics_rank".to_string(), json!({"top": 5}))]
        );
        assert_eq!(
            calls(r#"{"tool": "logs_digest", "parameters": "{\"level\": \"ERROR\"}"}"#),
            [("logs_digest".to_string(), json!({"level": "ERROR"}))]
        );
        assert_eq!(
            calls(r#"{"change_events": {}}"#),
            [("change_events".to_string(), json!({}))]
        );
    }

    #[test]
    fn a_json_code_block_and_an_array_of_calls() {
        let text = "Plan:\n```json\n[{\"name\": \"change_events\", \"arguments\": {}},\n {\"type\": \"function\", \"function\": {\"name\": \"kubectl\", \"arguments\": {\"command\": \"kubectl get pods -n shop\"}}}]\n```\n";
        assert_eq!(
            calls(text),
            [
                ("change_events".to_string(), json!({})),
                (
                    "kubectl".to_string(),
                    json!({"command": "kubectl get pods -n shop"})
                ),
            ]
        );
    }

    #[test]
    fn tool_call_tags_are_read_once() {
        let text = "<tool_call>\n{\"name\": \"metrics_rank\", \"arguments\": {}}\n</tool_call>";
        let found = extract(text, TOOLS);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].tool, "metrics_rank");
        assert_eq!(
            found[0].rationale,
            "written in the model's text as a <tool_call> tag"
        );
    }

    #[test]
    fn function_syntax_for_known_tools_only() {
        assert_eq!(
            calls("Next: metrics_rank(top=5, service='payments') and check(this)."),
            [(
                "metrics_rank".to_string(),
                json!({"top": 5, "service": "payments"})
            )]
        );
        assert_eq!(
            calls("logs_digest({\"level\": \"ERROR\"})"),
            [("logs_digest".to_string(), json!({"level": "ERROR"}))]
        );
        assert_eq!(
            calls("functions.change_events:\n{}"),
            [("change_events".to_string(), json!({}))]
        );
        assert_eq!(
            calls("call change_events()"),
            [("change_events".to_string(), json!({}))]
        );
    }

    #[test]
    fn prose_and_unknown_shapes_are_not_calls() {
        assert!(calls("The p99 went from 139 to 1792 ms {roughly 13x}.").is_empty());
        assert!(calls(r#"{"p99": 1792, "service": "payments"}"#).is_empty());
        assert!(calls("the metrics_rank tool shows payments moved").is_empty());
        assert!(calls("I should use `metrics_rank` next").is_empty());
    }

    #[test]
    fn an_unknown_tool_named_in_a_call_object_is_passed_on_for_the_engine_to_reject() {
        assert_eq!(
            calls(r#"{"name": "restart_everything", "arguments": {}}"#),
            [("restart_everything".to_string(), json!({}))]
        );
    }

    #[test]
    fn hostile_text_is_read_in_bounded_time() {
        // A model echoing a hostile log: unclosed objects, open brackets and tool names
        // followed by unclosed parentheses, each a place a call could start.
        let nasty = [
            "{\"a\": 1, ".repeat(20_000),
            "[".repeat(100_000),
            "kubectl(\"".repeat(20_000),
            "kubectl('".repeat(20_000),
            " kubectl(".repeat(20_000),
            "[\"[\",".repeat(20_000),
            "<tool_call>{".repeat(10_000),
            "```\n{".repeat(10_000),
        ];
        for text in nasty {
            let started = std::time::Instant::now();
            let _ = calls(&text);
            let took = started.elapsed();
            assert!(
                took < std::time::Duration::from_secs(5),
                "{took:?} for {}",
                &text[..20]
            );
        }
    }
}
