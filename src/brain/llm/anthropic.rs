//! The Anthropic Messages dialect: request bodies and the streamed-event assembler.
//!
//! Content arrives as blocks: `content_block_start` opens text, `tool_use` or `thinking`;
//! `content_block_delta` carries `text_delta`, `input_json_delta` (tool input as JSON
//! fragments, parsed only at `content_block_stop`), `thinking_delta` and
//! `signature_delta`; `message_delta` carries the stop reason and output tokens. Thinking
//! blocks (and redacted ones) must be sent back unchanged with their signatures, so they
//! come out as opaque deltas the engine keeps for the next turn. `ping` is ignored; an
//! `error` event can arrive mid-stream with HTTP 200 (e.g. overloaded).

use super::conversation::{Message, Turn};
use super::openai::{Delta, parse_arguments};
use crate::ProposedCall;
use crate::protocol::ToolSpec;
use serde_json::{Value, json};
use std::collections::BTreeMap;

const MAX_TOKENS: u64 = 8192;

fn push_user(messages: &mut Vec<Value>, block: Value) {
    match messages.last_mut() {
        Some(last) if last["role"] == "user" => last["content"]
            .as_array_mut()
            .expect("content is a list")
            .push(block),
        _ => messages.push(json!({"role": "user", "content": [block]})),
    }
}

/// The request body for one turn. Consecutive user-side turns (tool results, edits, the
/// board) merge into one user message, as the API requires alternating roles.
pub(super) fn request_body(model: &str, turns: &[Turn], tools: &[ToolSpec]) -> Value {
    let mut system = String::new();
    let mut messages: Vec<Value> = Vec::new();
    for turn in turns {
        match turn {
            Turn::System(text) => system.push_str(text),
            Turn::User(text) => push_user(&mut messages, json!({"type": "text", "text": text})),
            Turn::ToolResult {
                id,
                content,
                is_error,
                ..
            } => push_user(
                &mut messages,
                json!({"type": "tool_result", "tool_use_id": id, "content": content, "is_error": is_error}),
            ),
            Turn::Assistant(Message {
                text,
                calls,
                opaque,
                ..
            }) => {
                let mut content: Vec<Value> = opaque.clone();
                if !text.is_empty() {
                    content.push(json!({"type": "text", "text": text}));
                }
                for c in calls {
                    let input = if c.args.is_object() {
                        c.args.clone()
                    } else {
                        json!({})
                    };
                    content.push(
                        json!({"type": "tool_use", "id": c.id, "name": c.name, "input": input}),
                    );
                }
                if content.is_empty() {
                    content.push(json!({"type": "text", "text": "(no text)"}));
                }
                messages.push(json!({"role": "assistant", "content": content}));
            }
        }
    }
    let tools: Vec<Value> = tools
        .iter()
        .map(
            |t| json!({"name": t.name, "description": t.description, "input_schema": t.parameters}),
        )
        .collect();
    json!({"model": model, "max_tokens": MAX_TOKENS, "system": system, "messages": messages, "tools": tools, "stream": true})
}

#[derive(Debug, Default)]
struct Block {
    kind: String,
    name: String,
    json: String,
    thinking: String,
    signature: String,
    data: Value,
}

#[derive(Debug, Default)]
pub(super) struct Assembler {
    blocks: BTreeMap<u64, Block>,
    calls: Vec<ProposedCall>,
    pub stop_reason: Option<String>,
    pub stopped: bool,
}

/// An `error` event in the stream: its type (`overloaded_error`) and message.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{kind}: {message}")]
pub(super) struct StreamError {
    kind: String,
    message: String,
}

impl StreamError {
    /// Read from the event's `error` object (or the event itself), with defaults for
    /// what it leaves out.
    fn of(data: &Value) -> StreamError {
        let e = data.get("error").unwrap_or(data);
        let field = |key: &str, default: &str| {
            e.get(key)
                .and_then(Value::as_str)
                .unwrap_or(default)
                .to_string()
        };
        StreamError {
            kind: field("type", "error"),
            message: field("message", "unknown error"),
        }
    }
}

impl Assembler {
    /// Feed one event (its `event:` name and parsed data).
    pub(super) fn feed(&mut self, name: &str, data: &Value) -> Result<Vec<Delta>, StreamError> {
        let kind = data.get("type").and_then(Value::as_str).unwrap_or(name);
        let index = data.get("index").and_then(Value::as_u64).unwrap_or(0);
        let mut out = Vec::new();
        match kind {
            "error" => return Err(StreamError::of(data)),
            "message_start" => {
                if let Some(n) = data
                    .pointer("/message/usage/input_tokens")
                    .and_then(Value::as_u64)
                {
                    out.push(Delta::Usage {
                        input: n,
                        output: 0,
                    });
                }
            }
            "content_block_start" => {
                let block = data.get("content_block").cloned().unwrap_or(Value::Null);
                let kind = block
                    .get("type")
                    .and_then(Value::as_str)
                    .unwrap_or("text")
                    .to_string();
                if let Some(text) = block
                    .get("text")
                    .and_then(Value::as_str)
                    .filter(|t| !t.is_empty())
                {
                    out.push(Delta::Text(text.into()));
                }
                self.blocks.insert(
                    index,
                    Block {
                        name: block
                            .get("name")
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_string(),
                        data: if kind == "redacted_thinking" {
                            block.clone()
                        } else {
                            Value::Null
                        },
                        kind,
                        ..Block::default()
                    },
                );
            }
            "content_block_delta" => {
                let delta = data.get("delta").cloned().unwrap_or(Value::Null);
                let block = self.blocks.entry(index).or_default();
                let field = |k: &str| {
                    delta
                        .get(k)
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string()
                };
                match delta
                    .get("type")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                {
                    "text_delta" => out.push(Delta::Text(field("text"))),
                    "input_json_delta" => block.json.push_str(&field("partial_json")),
                    "thinking_delta" => {
                        let t = field("thinking");
                        block.thinking.push_str(&t);
                        out.push(Delta::Reasoning(t));
                    }
                    "signature_delta" => block.signature.push_str(&field("signature")),
                    _ => {}
                }
            }
            "content_block_stop" => {
                if let Some(block) = self.blocks.remove(&index) {
                    match block.kind.as_str() {
                        "tool_use" => self.calls.push(ProposedCall { tool: block.name, args: parse_arguments(&block.json), rationale: String::new() }),
                        "thinking" => out.push(Delta::Opaque(json!({"type": "thinking", "thinking": block.thinking, "signature": block.signature}))),
                        "redacted_thinking" => out.push(Delta::Opaque(block.data)),
                        _ => {}
                    }
                }
            }
            "message_delta" => {
                if let Some(reason) = data.pointer("/delta/stop_reason").and_then(Value::as_str) {
                    self.stop_reason = Some(reason.into());
                }
                if let Some(n) = data.pointer("/usage/output_tokens").and_then(Value::as_u64) {
                    out.push(Delta::Usage {
                        input: 0,
                        output: n,
                    });
                }
            }
            "message_stop" => self.stopped = true,
            _ => {} // ping and future event types
        }
        Ok(out)
    }

    pub(super) fn calls(&self) -> Vec<ProposedCall> {
        self.calls.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tool_input_is_parsed_at_block_stop_and_thinking_is_kept_for_later() {
        let mut a = Assembler::default();
        let events = [
            (
                "message_start",
                json!({"type": "message_start", "message": {"usage": {"input_tokens": 50}}}),
            ),
            (
                "content_block_start",
                json!({"type": "content_block_start", "index": 0, "content_block": {"type": "thinking", "thinking": ""}}),
            ),
            (
                "content_block_delta",
                json!({"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "hmm"}}),
            ),
            (
                "content_block_delta",
                json!({"type": "content_block_delta", "index": 0, "delta": {"type": "signature_delta", "signature": "sig=="}}),
            ),
            (
                "content_block_stop",
                json!({"type": "content_block_stop", "index": 0}),
            ),
            ("ping", json!({"type": "ping"})),
            (
                "content_block_start",
                json!({"type": "content_block_start", "index": 1, "content_block": {"type": "tool_use", "id": "toolu_1", "name": "kubectl", "input": {}}}),
            ),
            (
                "content_block_delta",
                json!({"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": "{\"command\": \"kub"}}),
            ),
            (
                "content_block_delta",
                json!({"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": "ectl get pods\"}"}}),
            ),
            (
                "content_block_stop",
                json!({"type": "content_block_stop", "index": 1}),
            ),
            (
                "message_delta",
                json!({"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 20}}),
            ),
            ("message_stop", json!({"type": "message_stop"})),
        ];
        let mut out = Vec::new();
        for (name, data) in events {
            out.extend(a.feed(name, &data).unwrap());
        }
        assert_eq!(a.calls()[0].args, json!({"command": "kubectl get pods"}));
        assert!(out.contains(&Delta::Opaque(
            json!({"type": "thinking", "thinking": "hmm", "signature": "sig=="})
        )));
        assert!(a.stopped && a.stop_reason.as_deref() == Some("tool_use"));
        assert!(a.feed("error", &json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})).unwrap_err().to_string().contains("overloaded_error: Overloaded"));
    }

    #[test]
    fn an_error_event_without_details_still_reads() {
        let mut a = Assembler::default();
        assert_eq!(
            a.feed("error", &json!({"type": "error"}))
                .unwrap_err()
                .to_string(),
            "error: unknown error"
        );
    }
}
