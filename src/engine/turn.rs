//! The brain's turn: what the brain is told (the incident, the tools, the history folded
//! from the log, the board), and what it streams back turned into events — reasoning and
//! message text as it comes, the reply's end, then its calls put through the gate one by
//! one; a human edit or steer mid-turn stops the turn so the brain re-plans.

use super::*;

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
                        self.emit(EventKind::ReasoningDelta { text: for_display(&text) });
                    }
                    Some(Ok(BrainItem::Message(text))) => {
                        said.push_str(&text);
                        self.emit(EventKind::MessageDelta { text: for_display(&text) });
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
                        said.clear();
                        thought.clear();
                        opaque.clear();
                        calls.clear();
                        self.emit(EventKind::Error { source: "brain".into(), message, retried: true });
                    }
                    Some(Ok(BrainItem::Opaque(value))) => opaque.push(value),
                    Some(Ok(BrainItem::Usage { input, output })) => {
                        self.emit(EventKind::Usage { input_tokens: input, output_tokens: output });
                    }
                    Some(Err(e)) => {
                        self.emit(EventKind::Error { source: "brain".into(), message: for_display(&e.to_string()), retried: false });
                        self.brain_failed = true;
                        break;
                    }
                }
            }
        }
        drop(stream);
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

    /// Provider data a brain must get back (thinking signatures) goes to the blob store,
    /// never into the log; the log names it by hash.
    pub(super) fn store_opaque(&mut self, opaque: &[Value]) -> Option<String> {
        if opaque.is_empty() {
            return None;
        }
        let text = serde_json::to_string(opaque).ok()?;
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
