//! The OpenAI Chat Completions dialect: request bodies and the streamed-chunk assembler.
//!
//! The assembler is where the real servers' quirks are absorbed, each with a test:
//! reasoning in `reasoning_content` (DeepSeek, llama.cpp, older vLLM) or `reasoning`
//! (vLLM, Ollama, OpenRouter) or inline `<think>` tags; tool-call `arguments` in fragments
//! (OpenAI) or whole in one chunk (Ollama); ids missing, repeated or numeric (LM Studio);
//! parallel calls that share `index` 0 and differ only by id (Ollama); the full `name`
//! resent in every chunk (assign, don't append); arguments `""` (means `{}`) or a JSON
//! string inside a string (parse twice); and a usage chunk with `choices: []`. Whether the
//! turn is a tool turn is decided from the collected calls, not from `finish_reason`.

use super::conversation::{Message, Turn};
use super::think::{Piece, ThinkSplitter};
use crate::ProposedCall;
use crate::protocol::ToolSpec;
use serde_json::{Value, json};

/// The request body for one turn.
pub fn request_body(model: &str, turns: &[Turn], tools: &[ToolSpec]) -> Value {
    let mut messages = Vec::new();
    for turn in turns {
        match turn {
            Turn::System(text) => messages.push(json!({"role": "system", "content": text})),
            Turn::User(text) => messages.push(json!({"role": "user", "content": text})),
            Turn::Assistant(Message {
                text,
                reasoning,
                calls,
                ..
            }) => {
                let mut m = json!({"role": "assistant", "content": text});
                if !reasoning.is_empty() {
                    // DeepSeek's thinking mode needs its reasoning sent back with tool calls.
                    m["reasoning_content"] = json!(reasoning);
                }
                if !calls.is_empty() {
                    m["tool_calls"] = calls
                        .iter()
                        .map(|c| json!({"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.args.to_string()}}))
                        .collect();
                }
                messages.push(m);
            }
            Turn::ToolResult { id, content, .. } => {
                messages.push(json!({"role": "tool", "tool_call_id": id, "content": content}))
            }
        }
    }
    let tools: Vec<Value> = tools
        .iter()
        .map(|t| json!({"type": "function", "function": {"name": t.name, "description": t.description, "parameters": t.parameters}}))
        .collect();
    json!({
        "model": model,
        "messages": messages,
        "tools": tools,
        "stream": true,
        "stream_options": {"include_usage": true},
    })
}

/// What a chunk contributed.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Delta {
    Reasoning(String),
    Text(String),
    Usage {
        input: u64,
        output: u64,
    },
    /// Provider data to send back unchanged next turn (Anthropic thinking signatures).
    Opaque(Value),
}

#[derive(Debug, Default)]
struct PartialCall {
    index: Option<u64>,
    id: Option<String>,
    name: String,
    args: String,
}

#[derive(Debug, Default)]
pub(crate) struct Assembler {
    calls: Vec<PartialCall>,
    think: ThinkSplitter,
    pub finish_reason: Option<String>,
    pub text: String,
    pub reasoning: String,
}

fn id_of(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// An `error` object in the stream: its `message`, or the whole object as JSON when it
/// has none.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub(crate) struct StreamError {
    message: String,
}

impl StreamError {
    fn of(error: &Value) -> StreamError {
        let message = error
            .get("message")
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| error.to_string());
        StreamError { message }
    }
}

impl Assembler {
    /// Feed one parsed `data:` payload. An `error` object is returned as Err.
    pub(crate) fn feed(&mut self, chunk: &Value) -> Result<Vec<Delta>, StreamError> {
        if let Some(error) = chunk.get("error") {
            return Err(StreamError::of(error));
        }
        let mut out = Vec::new();
        if let Some(usage) = chunk.get("usage").filter(|u| u.is_object()) {
            let n = |k: &str| usage.get(k).and_then(Value::as_u64).unwrap_or(0);
            out.push(Delta::Usage {
                input: n("prompt_tokens"),
                output: n("completion_tokens"),
            });
        }
        let Some(choice) = chunk
            .get("choices")
            .and_then(Value::as_array)
            .and_then(|c| c.first())
        else {
            return Ok(out);
        };
        if let Some(reason) = choice.get("finish_reason").and_then(Value::as_str) {
            self.finish_reason = Some(reason.to_string());
        }
        let delta = choice
            .get("delta")
            .or_else(|| choice.get("message"))
            .cloned()
            .unwrap_or(Value::Null);
        for key in ["reasoning_content", "reasoning"] {
            if let Some(text) = delta
                .get(key)
                .and_then(Value::as_str)
                .filter(|t| !t.is_empty())
            {
                self.reasoning.push_str(text);
                out.push(Delta::Reasoning(text.to_string()));
            }
        }
        if let Some(text) = delta.get("content").and_then(Value::as_str) {
            for piece in self.think.feed(text) {
                out.push(self.piece(piece));
            }
        }
        if let Some(calls) = delta.get("tool_calls").and_then(Value::as_array) {
            for call in calls {
                self.feed_call(call);
            }
        }
        Ok(out)
    }

    fn piece(&mut self, piece: Piece) -> Delta {
        match piece {
            Piece::Reasoning(t) => {
                self.reasoning.push_str(&t);
                Delta::Reasoning(t)
            }
            Piece::Text(t) => {
                self.text.push_str(&t);
                Delta::Text(t)
            }
        }
    }

    fn feed_call(&mut self, call: &Value) {
        let index = call.get("index").and_then(Value::as_u64);
        let id = call.get("id").and_then(id_of);
        let function = call.get("function").cloned().unwrap_or(Value::Null);
        let by_id = id
            .as_ref()
            .and_then(|id| self.calls.iter().position(|c| c.id.as_ref() == Some(id)));
        let by_index = index.and_then(|i| self.calls.iter().rposition(|c| c.index == Some(i)));
        let slot = match (by_id, by_index) {
            (Some(i), _) => i,
            // Same index but a different id: a parallel call (Ollama reuses index 0).
            (None, Some(i)) if id.is_some() && self.calls[i].id.is_some() => self.new_call(index),
            (None, Some(i)) => i,
            (None, None)
                if id.is_none()
                    && index.is_none()
                    && !self.calls.is_empty()
                    && function.get("name").is_none() =>
            {
                self.calls.len() - 1
            }
            (None, None) => self.new_call(index),
        };
        let target = &mut self.calls[slot];
        if target.id.is_none() {
            target.id = id;
        }
        if let Some(name) = function
            .get("name")
            .and_then(Value::as_str)
            .filter(|n| !n.is_empty())
        {
            target.name = name.to_string();
        }
        match function.get("arguments") {
            Some(Value::String(fragment)) => target.args.push_str(fragment),
            Some(Value::Null) | None => {}
            Some(whole) => target.args = whole.to_string(),
        }
    }

    fn new_call(&mut self, index: Option<u64>) -> usize {
        self.calls.push(PartialCall {
            index,
            ..PartialCall::default()
        });
        self.calls.len() - 1
    }

    /// Flush held-back text at the end of the stream.
    pub(crate) fn finish_text(&mut self) -> Vec<Delta> {
        let pieces = self.think.finish();
        pieces.into_iter().map(|p| self.piece(p)).collect()
    }

    /// The calls collected. Unparseable arguments are passed on as a string, which the
    /// engine's schema check turns into an error the model can correct.
    pub(crate) fn calls(&self) -> Vec<ProposedCall> {
        self.calls
            .iter()
            .filter(|c| !c.name.is_empty())
            .map(|c| ProposedCall {
                tool: c.name.clone(),
                args: parse_arguments(&c.args),
                rationale: String::new(),
            })
            .collect()
    }
}

pub(crate) fn parse_arguments(raw: &str) -> Value {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return json!({});
    }
    match serde_json::from_str::<Value>(trimmed) {
        Ok(Value::String(inner)) => serde_json::from_str(&inner).unwrap_or(Value::String(inner)),
        Ok(value) => value,
        Err(_) => Value::String(raw.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed_all(chunks: &[Value]) -> (Assembler, Vec<Delta>) {
        let mut a = Assembler::default();
        let mut out = Vec::new();
        for c in chunks {
            out.extend(a.feed(c).unwrap());
        }
        out.extend(a.finish_text());
        (a, out)
    }

    #[test]
    fn fragments_assemble_by_index_and_names_are_assigned_not_appended() {
        let (a, _) = feed_all(&[
            json!({"choices": [{"delta": {"tool_calls": [{"index": 0, "id": "call_1", "function": {"name": "kubectl", "arguments": "{\"comm"}}]}}]}),
            json!({"choices": [{"delta": {"tool_calls": [{"index": 0, "function": {"name": "kubectl", "arguments": "and\": \"kubectl get pods\"}"}}]}}]}),
            json!({"choices": [{"delta": {"tool_calls": [{"index": 1, "id": "call_2", "function": {"name": "metrics_rank", "arguments": ""}}]}}]}),
            json!({"choices": [{"delta": {}, "finish_reason": "tool_calls"}]}),
            json!({"choices": [], "usage": {"prompt_tokens": 10, "completion_tokens": 5}}),
        ]);
        let calls = a.calls();
        assert_eq!(calls.len(), 2);
        assert_eq!(calls[0].tool, "kubectl");
        assert_eq!(calls[0].args, json!({"command": "kubectl get pods"}));
        assert_eq!(calls[1].args, json!({}));
    }

    #[test]
    fn ollama_whole_arguments_and_parallel_calls_sharing_index_zero() {
        let (a, _) = feed_all(&[
            json!({"choices": [{"delta": {"tool_calls": [{"index": 0, "id": "a", "function": {"name": "metrics_rank", "arguments": {"top": 5}}}]}}]}),
            json!({"choices": [{"delta": {"tool_calls": [{"index": 0, "id": "b", "function": {"name": "change_events", "arguments": {}}}]}}]}),
            json!({"choices": [{"delta": {}, "finish_reason": "stop"}]}),
        ]);
        let calls = a.calls();
        assert_eq!(
            calls.iter().map(|c| c.tool.as_str()).collect::<Vec<_>>(),
            ["metrics_rank", "change_events"]
        );
        assert_eq!(calls[0].args, json!({"top": 5}));
        assert_eq!(
            a.finish_reason.as_deref(),
            Some("stop"),
            "a tool turn even though finish_reason says stop"
        );
    }

    #[test]
    fn numeric_ids_missing_ids_and_double_encoded_arguments() {
        let (a, _) = feed_all(&[
            json!({"choices": [{"delta": {"tool_calls": [{"index": 0, "id": 7, "function": {"name": "kubectl", "arguments": "\"{\\\"command\\\": \\\"kubectl get pods\\\"}\""}}]}}]}),
            json!({"choices": [{"delta": {"tool_calls": [{"function": {"name": "logs_digest", "arguments": "{\"level\":"}}]}}]}),
            json!({"choices": [{"delta": {"tool_calls": [{"function": {"arguments": " \"WARN\"}"}}]}}]}),
        ]);
        let calls = a.calls();
        assert_eq!(calls[0].args, json!({"command": "kubectl get pods"}));
        assert_eq!(calls[1].tool, "logs_digest");
        assert_eq!(calls[1].args, json!({"level": "WARN"}));
    }

    #[test]
    fn reasoning_fields_and_think_tags() {
        let (a, out) = feed_all(&[
            json!({"choices": [{"delta": {"reasoning_content": "deepseek thinks. "}}]}),
            json!({"choices": [{"delta": {"reasoning": "vllm thinks. "}}]}),
            json!({"choices": [{"delta": {"content": "<think>inline</th"}}]}),
            json!({"choices": [{"delta": {"content": "ink>Answer."}}]}),
        ]);
        assert_eq!(a.reasoning, "deepseek thinks. vllm thinks. inline");
        assert_eq!(a.text, "Answer.");
        assert!(out.contains(&Delta::Reasoning("deepseek thinks. ".into())));
    }

    #[test]
    fn invalid_json_arguments_are_kept_for_the_engine_to_reject() {
        let (a, _) = feed_all(&[
            json!({"choices": [{"delta": {"tool_calls": [{"index": 0, "id": "x", "function": {"name": "kubectl", "arguments": "{\"command\": kubectl"}}]}}]}),
        ]);
        assert_eq!(
            a.calls()[0].args,
            Value::String("{\"command\": kubectl".into())
        );
    }

    #[test]
    fn an_error_chunk_is_an_error() {
        let mut a = Assembler::default();
        assert_eq!(
            a.feed(&json!({"error": {"message": "overloaded"}}))
                .unwrap_err()
                .to_string(),
            "overloaded"
        );
    }
}
