//! The context budget: a request never exceeds the model's window.
//!
//! The window is the model's declared context (what the server says at `/models` or
//! `/props`, what it names in a "exceed context window of N" error, or
//! `context_window` in config.toml), less room for the reply. A request is measured
//! before it is sent, with a deliberately pessimistic estimate (one token per three bytes
//! of the JSON body); when it is over the threshold, the conversation is compacted in
//! steps until it fits: first old tool outputs are replaced by their digest (the first
//! lines) and a reference to the full output (`read_output`, which reads it from the
//! blob store); then the older turns are summarised in one message (each call, its
//! arguments and the first line of its answer); then fewer recent turns are kept whole.
//! The newest exchange and the board are always kept.

use super::conversation::{Message, Turn};

/// Bytes per token assumed when measuring a request (pessimistic for English and JSON).
pub const BYTES_PER_TOKEN: usize = 3;

/// Compaction starts when a request reaches this share of the budget.
const THRESHOLD: f64 = 0.75;

/// The window of a provider that declares none and has none configured.
pub(crate) fn default_window(provider: &str) -> u64 {
    match provider {
        "ollama" | "llamacpp" | "lmstudio" | "vllm" => 8192,
        _ => 128_000,
    }
}

/// Tokens a request of `bytes` bytes is taken to need.
pub fn tokens(bytes: usize) -> u64 {
    bytes.div_ceil(BYTES_PER_TOKEN) as u64
}

/// The tokens a request may use in a window: the window less room for the reply.
pub fn request_budget(window: u64) -> u64 {
    window - (window / 8).clamp(256, 4096).min(window / 2)
}

/// How far a conversation was compacted, said on screen when it was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Compaction {
    /// Old outputs replaced by their digest.
    pub digested: usize,
    /// Turns folded into the summary.
    pub summarised: usize,
}

/// The compaction steps, mildest first; `step` 0 is the conversation unchanged.
pub(crate) const STEPS: usize = 6;

/// Whether a request of `bytes` needs compacting at all.
pub(crate) fn over_threshold(bytes: usize, window: u64) -> bool {
    tokens(bytes) as f64 > request_budget(window) as f64 * THRESHOLD
}

/// Whether a request of `bytes` fits the window.
pub fn fits(bytes: usize, window: u64) -> bool {
    tokens(bytes) <= request_budget(window)
}

/// The conversation compacted at `step` (see the module doc).
pub fn compact(turns: &[Turn], step: usize) -> (Vec<Turn>, Compaction) {
    if step == 0 {
        return (turns.to_vec(), Compaction::default());
    }
    // Outputs kept whole, and exchanges kept unsummarised, at each step.
    let (keep_outputs, keep_exchanges, digest_lines, summary_lines) = match step {
        1 => (6, usize::MAX, 6, 0),
        2 => (3, 12, 4, 80),
        3 => (2, 6, 3, 40),
        4 => (1, 3, 2, 20),
        _ => (1, 1, 1, 10),
    };
    let mut out = turns.to_vec();
    let mut report = Compaction::default();
    let result_at: Vec<usize> = out
        .iter()
        .enumerate()
        .filter(|(_, t)| matches!(t, Turn::ToolResult { .. }))
        .map(|(i, _)| i)
        .collect();
    let old = result_at.len().saturating_sub(keep_outputs);
    for &i in &result_at[..old] {
        if let Turn::ToolResult { id, content, .. } = &mut out[i] {
            let digest = digest_of(id, content, digest_lines);
            if digest.len() < content.len() {
                *content = digest;
                report.digested += 1;
            }
        }
    }
    if step >= 5
        && let Some(&last) = result_at.last()
        && let Turn::ToolResult { id, content, .. } = &mut out[last]
    {
        *content = digest_of(id, content, 20);
    }
    let (out, summarised) = summarise(out, keep_exchanges, summary_lines);
    report.summarised = summarised;
    (out, report)
}

/// From this step on the tool schemas go without their long descriptions (the engine
/// still checks every call against the full schema).
pub(crate) const TOOLS_COMPACT_FROM: usize = 3;

/// Tool specs as short as they can be and still be called right: the description's
/// first sentence, and the parameter schemas without descriptions, titles or examples.
pub(crate) fn compact_tools(tools: &[crate::protocol::ToolSpec]) -> Vec<crate::protocol::ToolSpec> {
    tools
        .iter()
        .map(|t| {
            let mut parameters = t.parameters.clone();
            strip_docs(&mut parameters);
            crate::protocol::ToolSpec {
                name: t.name.clone(),
                description: first_sentence(&t.description),
                parameters,
            }
        })
        .collect()
}

fn first_sentence(text: &str) -> String {
    let sentence = text.split_once(". ").map_or(text, |(first, _)| first);
    sentence.chars().take(160).collect()
}

fn strip_docs(schema: &mut serde_json::Value) {
    match schema {
        serde_json::Value::Object(map) => {
            for key in ["description", "title", "examples", "$schema"] {
                // A property may be called `description`: only drop the keyword's string.
                if map.get(key).is_some_and(|v| !v.is_object()) {
                    map.remove(key);
                }
            }
            map.values_mut().for_each(strip_docs);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(strip_docs),
        _ => {}
    }
}

/// An output as its first lines and where the rest is.
fn digest_of(id: &str, content: &str, lines: usize) -> String {
    let total = content.lines().count();
    if total <= lines && content.len() <= 160 * lines {
        return content.to_string();
    }
    let head: Vec<String> = content
        .lines()
        .take(lines)
        .map(|l| l.chars().take(160).collect())
        .collect();
    format!(
        "{}\n[digest of {id}: {total} lines, {} bytes in all, kept in the session; read it with read_output(id=\"{id}\") and start_line/end_line or grep]",
        head.join("\n"),
        content.len()
    )
}

/// Fold all but the last `keep` exchanges (an assistant turn and its answers) after the
/// incident into one summary message of at most `max_lines` lines (the latest; the
/// count of the others is said). Returns the turns and how many messages were folded.
fn summarise(turns: Vec<Turn>, keep: usize, max_lines: usize) -> (Vec<Turn>, usize) {
    let starts: Vec<usize> = turns
        .iter()
        .enumerate()
        .filter(|(_, t)| matches!(t, Turn::Assistant(_)))
        .map(|(i, _)| i)
        .collect();
    if starts.len() <= keep {
        return (turns, 0);
    }
    let head_end = starts[0];
    let cut = starts[starts.len() - keep];
    let mut lines = Vec::new();
    for turn in &turns[head_end..cut] {
        match turn {
            Turn::Assistant(Message { text, calls, .. }) => {
                let said = first_line(text, 120);
                if !said.is_empty() {
                    lines.push(format!("you said: {said}"));
                }
                for call in calls {
                    let args: String = call.args.to_string().chars().take(100).collect();
                    lines.push(format!("{} {} {args}", call.id, call.name));
                }
            }
            Turn::ToolResult { id, content, .. } => {
                lines.push(format!("  {id} → {}", first_line(content, 140)));
            }
            Turn::User(text) => lines.push(format!("user: {}", first_line(text, 140))),
            Turn::System(_) => {}
        }
    }
    let folded = cut - head_end;
    if lines.len() > max_lines {
        let dropped = lines.len() - max_lines;
        lines.drain(..dropped);
        lines.insert(0, format!("({dropped} older lines not shown)"));
    }
    let summary = format!(
        "Summary of the {folded} earlier messages (kept in full in the session; read any output with read_output(id=...)):\n{}",
        lines.join("\n")
    );
    let mut out: Vec<Turn> = turns[..head_end].to_vec();
    match out.last_mut() {
        Some(Turn::User(text)) => {
            text.push_str("\n\n");
            text.push_str(&summary);
        }
        _ => out.push(Turn::User(summary)),
    }
    out.extend(turns[cut..].iter().cloned());
    (out, folded)
}

fn first_line(text: &str, max: usize) -> String {
    let line = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    let mut short: String = line.trim().chars().take(max).collect();
    if short.len() < line.trim().len() {
        short.push('…');
    }
    short
}

/// The window a server names in its "too long" error (llama.cpp: "Requested tokens (N)
/// exceed context window of M"; vLLM/OpenAI: "maximum context length is M tokens").
pub(crate) fn window_in_error(message: &str) -> Option<u64> {
    let lower = message.to_lowercase();
    for marker in [
        "context window of ",
        "maximum context length is ",
        "context length of ",
        "n_ctx: ",
        "n_ctx = ",
    ] {
        if let Some(at) = lower.find(marker) {
            let digits: String = lower[at + marker.len()..]
                .chars()
                .take_while(|c| c.is_ascii_digit())
                .collect();
            if let Ok(n) = digits.parse::<u64>()
                && n > 0
            {
                return Some(n);
            }
        }
    }
    None
}

/// The context length a server declares in its `/models` answer (vLLM `max_model_len`,
/// OpenRouter `context_length`, llama.cpp `meta.n_ctx_train`, LM Studio
/// `loaded_context_length`) or its `/props` (llama.cpp `n_ctx`).
pub(crate) fn declared_window(answer: &serde_json::Value, model: &str) -> Option<u64> {
    use serde_json::Value;
    let keys = [
        "/default_generation_settings/n_ctx",
        "/n_ctx",
        "/loaded_context_length",
        "/max_model_len",
        "/context_length",
        "/context_window",
        "/meta/n_ctx",
        "/meta/n_ctx_train",
        "/max_context_length",
    ];
    let read = |v: &Value| {
        keys.iter()
            .find_map(|k| v.pointer(k).and_then(Value::as_u64))
            .filter(|n| *n > 0)
    };
    if let Some(models) = answer.get("data").and_then(Value::as_array) {
        let entry = models
            .iter()
            .find(|m| m.get("id").and_then(Value::as_str) == Some(model))
            .or_else(|| (models.len() == 1).then(|| &models[0]))?;
        return read(entry);
    }
    read(answer)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llm::conversation::CallRecord;
    use serde_json::json;

    fn exchange(i: usize, output: &str) -> Vec<Turn> {
        vec![
            Turn::Assistant(Message {
                text: format!("step {i}"),
                calls: vec![CallRecord {
                    id: format!("c{i}"),
                    name: "read_output".into(),
                    args: json!({"id": "c1", "start_line": i}),
                }],
                ..Message::default()
            }),
            Turn::ToolResult {
                id: format!("c{i}"),
                name: "read_output".into(),
                content: output.into(),
                is_error: false,
            },
        ]
    }

    #[test]
    fn old_outputs_become_digests_and_old_turns_a_summary() {
        let big = "line\n".repeat(500);
        let mut turns = vec![Turn::System("s".into()), Turn::User("incident".into())];
        for i in 1..=20 {
            turns.extend(exchange(i, &big));
        }
        turns.push(Turn::User("board".into()));
        let (one, report) = compact(&turns, 1);
        assert_eq!(report.digested, 14);
        assert!(
            matches!(&one[3], Turn::ToolResult { content, .. } if content.contains("[digest of c1: 500 lines"))
        );
        assert!(
            matches!(&one[one.len() - 2], Turn::ToolResult { content, .. } if content.len() == big.len())
        );
        let (three, report) = compact(&turns, 3);
        assert_eq!(report.summarised, 28, "14 exchanges folded");
        assert!(
            matches!(&three[1], Turn::User(t) if t.starts_with("incident") && t.contains("Summary of the 28 earlier messages") && t.contains("(2 older lines not shown)") && t.contains("c14 read_output") && !t.contains("c1 read_output"))
        );
        assert!(matches!(three.last(), Some(Turn::User(t)) if t == "board"));
        let size = |t: &[Turn]| format!("{t:?}").len();
        assert!(size(&three) < size(&one) && size(&one) < size(&turns));
    }

    #[test]
    fn windows_are_read_from_errors_and_model_lists() {
        assert_eq!(
            window_in_error("Requested tokens (9000) exceed context window of 8192"),
            Some(8192)
        );
        assert_eq!(
            window_in_error("This model's maximum context length is 32768 tokens."),
            Some(32768)
        );
        assert_eq!(window_in_error("bad request"), None);
        let vllm = json!({"data": [{"id": "qwen", "max_model_len": 32768}]});
        assert_eq!(declared_window(&vllm, "qwen"), Some(32768));
        let props = json!({"default_generation_settings": {"n_ctx": 4096}});
        assert_eq!(declared_window(&props, "x"), Some(4096));
        let bare = json!({"data": [{"id": "gemma", "object": "model"}]});
        assert_eq!(declared_window(&bare, "gemma"), None);
    }

    #[test]
    fn the_budget_leaves_room_for_the_reply() {
        assert_eq!(request_budget(8192), 7168);
        assert_eq!(request_budget(2048), 1792);
        assert!(fits(3 * 7168, 8192) && !fits(3 * 7168 + 3, 8192));
    }
}
