//! The brain's turn: what the brain is told (the incident, the tools, the history folded
//! from the log, the board), and what it streams back turned into events — reasoning and
//! message text as it comes, the reply's end, then its calls put through the gate one by
//! one; a human edit or steer mid-turn stops the turn so the brain re-plans.
//!
//! Streamed text is redacted whole, not delta by delta: it passes a [`Streamed`] that
//! holds it back until a secret cut across two deltas can no longer be split between two
//! recorded events.

use super::*;
use crate::redact::Streamed;

/// A reply's two streams on their way to the record.
#[derive(Default)]
struct Streams {
    reasoning: Streamed,
    message: Streamed,
}

impl Streams {
    fn of(&mut self, reasoning: bool) -> &mut Streamed {
        if reasoning {
            &mut self.reasoning
        } else {
            &mut self.message
        }
    }
}

impl Engine {
    pub(super) fn context(&self, turn: u32) -> BrainContext {
        let mut tools = self.config.tools.specs();
        tools.extend(engine_tool_specs());
        BrainContext {
            incident: self.config.brief.clone(),
            tools,
            history: self.history.items().to_vec(),
            board: self.state.hypotheses.clone(),
            turn,
        }
    }

    /// One brain turn. Returns whether the brain did anything.
    pub(super) async fn brain_turn(&mut self, turn: u32) -> bool {
        if self.wait_while_paused().await.is_err() {
            return false;
        }
        let context = self.context(turn);
        let mut stream = self.config.brain.turn(context);
        let mut said = String::new();
        let mut thought = String::new();
        let mut opaque = Vec::new();
        let mut calls: Vec<ProposedCall> = Vec::new();
        let mut streams = Streams::default();
        loop {
            tokio::select! {
                biased;
                received = self.next_command(Waiting::Nothing) => {
                    if received.is_err() { return false; }
                    if self.wait_while_paused().await.is_err() { return false; }
                    if self.replan {
                        self.emit(EventKind::Notice { text: "board changed by the engineer: re-planning".into() });
                        break;
                    }
                }
                item = stream.next() => match item {
                    None => break,
                    Some(Ok(BrainItem::Reasoning(text))) => {
                        thought.push_str(&text);
                        self.stream_text(&mut streams, true, &text);
                    }
                    Some(Ok(BrainItem::Message(text))) => {
                        said.push_str(&text);
                        self.stream_text(&mut streams, false, &text);
                    }
                    Some(Ok(BrainItem::Call(mut call))) => {
                        clean_value(&mut call.args);
                        call.rationale = for_display(&call.rationale);
                        calls.push(call);
                    }
                    Some(Ok(BrainItem::Problem { message, retrying })) => {
                        self.emit(EventKind::Error { source: "brain".into(), message: for_display(&message), retried: retrying });
                    }
                    Some(Ok(BrainItem::Redacted(count))) => self.count_redactions(count as usize),
                    Some(Ok(BrainItem::Retry { message })) => {
                        self.end_streams(&mut streams);
                        said.clear();
                        thought.clear();
                        opaque.clear();
                        calls.clear();
                        self.emit(EventKind::Error { source: "brain".into(), message, retried: true });
                    }
                    Some(Ok(BrainItem::Opaque(value))) => opaque.push(value),
                    Some(Ok(BrainItem::Notice(text))) => {
                        self.end_streams(&mut streams);
                        self.emit(EventKind::Notice { text: for_display(&text) });
                    }
                    Some(Ok(BrainItem::HandedOver)) => {
                        let model = self.config.brain.name();
                        self.emit(EventKind::HandedOver { model });
                    }
                    Some(Ok(BrainItem::Usage { input, output })) => {
                        self.emit(EventKind::Usage { input_tokens: input, output_tokens: output });
                    }
                    Some(Err(e)) => {
                        self.end_streams(&mut streams);
                        self.emit(EventKind::Error { source: "brain".into(), message: for_display(&e.to_string()), retried: false });
                        self.brain_failed = true;
                        break;
                    }
                }
            }
        }
        drop(stream);
        self.end_streams(&mut streams);
        if !said.is_empty() || !thought.is_empty() {
            let opaque = self.store_opaque(&opaque);
            self.emit(EventKind::ReplyEnded { opaque });
        }
        if self.replan {
            return true;
        }
        if self.brain_failed {
            // Nothing from a failed reply runs; the engineer decides whether to try again.
            return false;
        }
        let did_something = !said.is_empty() || !thought.is_empty() || !calls.is_empty();
        for call in calls {
            if self.quit
                || self.replan
                || self
                    .config
                    .budget
                    .exceeded(&self.state, self.started.elapsed().as_secs())
                    .is_some()
            {
                break;
            }
            if self.wait_while_paused().await.is_err() {
                return false;
            }
            match call.tool.as_str() {
                UPDATE_HYPOTHESES | CONCLUDE | READ_OUTPUT => self.board_call(call),
                _ => self.execute(call).await,
            }
        }
        did_something
    }

    /// Streamed text into its stream; what may be shown of it is emitted. The other
    /// stream is ended first, so the transcript keeps the order the text came in.
    fn stream_text(&mut self, streams: &mut Streams, reasoning: bool, text: &str) {
        self.end_stream(streams, !reasoning);
        let released = streams
            .of(reasoning)
            .push(&self.config.redactor, &for_display(text));
        self.emit_streamed(reasoning, released);
    }

    /// Release what both streams hold (the reply ended or was cut).
    fn end_streams(&mut self, streams: &mut Streams) {
        self.end_stream(streams, true);
        self.end_stream(streams, false);
    }

    fn end_stream(&mut self, streams: &mut Streams, reasoning: bool) {
        let released = streams.of(reasoning).finish(&self.config.redactor);
        self.emit_streamed(reasoning, released);
    }

    /// Emit released text (already redacted whole) and count what it removed.
    fn emit_streamed(&mut self, reasoning: bool, (text, redacted): (String, usize)) {
        if !text.is_empty() {
            self.emit(if reasoning {
                EventKind::ReasoningDelta { text }
            } else {
                EventKind::MessageDelta { text }
            });
        }
        self.count_redactions(redacted);
    }

    /// Provider data a brain must get back (thinking signatures) goes to the blob store,
    /// never into the log; the log names it by hash.
    pub(super) fn store_opaque(&mut self, opaque: &[Value]) -> Option<String> {
        if opaque.is_empty() {
            return None;
        }
        let text = serde_json::to_string(opaque).ok()?;
        // Provider data is sent back byte for byte (a signed thinking block can't be
        // redacted without breaking its signature), so data that holds a secret is not
        // kept at all: the model's next turn goes without it.
        if self.config.redactor.redact(&text).1 > 0 {
            self.emit(EventKind::Notice {
                text: "the model's reply data held something that looks like a secret; it was not kept, and the model's next turn goes without it".into(),
            });
            return None;
        }
        match self.config.blobs.put(&text) {
            Ok(hash) => Some(hash),
            Err(e) => {
                self.emit(EventKind::Error {
                    source: "blob store".into(),
                    message: format!(
                        "could not keep the model's reply data ({e}); its next turn may lose its reasoning"
                    ),
                    retried: false,
                });
                None
            }
        }
    }
}
