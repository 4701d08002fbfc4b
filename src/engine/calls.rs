//! The call pipeline: a proposed call is checked against its tool's schema, classified,
//! put through the gate (asking the engineer when it must, re-checking an edited call),
//! given its credential, run with a timeout the engineer can cancel, and finished with
//! its output kept in the blob store. Every step is an event.

use super::*;
use crate::tools::{Call, CallPreview};

impl Engine {
    /// An earlier successful call with the same tool and arguments, if no call that
    /// changes anything has succeeded since (then the answer could not differ).
    pub(super) fn unchanged_repeat(&self, call: &ProposedCall) -> Option<String> {
        let history = self.history.items();
        let earlier = history.iter().rposition(|h| {
            matches!(h, HistoryItem::ToolResult { tool, args, outcome: CallOutcome::Ok, .. } if *tool == call.tool && *args == call.args)
        })?;
        let changed_since = history[earlier..].iter().any(|h| match h {
            HistoryItem::ToolResult {
                id,
                outcome: CallOutcome::Ok,
                ..
            } => self.state.call(id).is_some_and(|c| {
                !matches!(
                    c.risk,
                    crate::event::Risk::ReadOnly | crate::event::Risk::NeedsCredentials
                )
            }),
            _ => false,
        });
        match (&history[earlier], changed_since) {
            (HistoryItem::ToolResult { id, .. }, false) => Some(id.clone()),
            _ => None,
        }
    }

    /// Wait for the engineer's decision on a pending call; side commands are handled
    /// meanwhile. An edited command is parsed, schema-checked and classified like a
    /// proposed call before it becomes a decision; one that can't be is reported and the
    /// call keeps waiting.
    pub(super) async fn wait_for_decision(
        &mut self,
        id: &str,
        (name, tool): (&str, &Arc<dyn Tool>),
        (call, args, rationale): (&dyn Call, &Value, &str),
        risk: Risk,
    ) -> Result<(Decision, String), Interrupt> {
        loop {
            let Some((route, by)) = self.next_command(Waiting::Decision(id)).await? else {
                // A side command may have refuted what this call was for.
                if let Some(reason) = self.withdrawn_for(rationale) {
                    self.emit(EventKind::Notice {
                        text: format!("{id} is withdrawn: {reason}"),
                    });
                    return Ok((Decision::Denied { reason }, "hunch".into()));
                }
                continue;
            };
            let decision = match route {
                Route::Approve(Approval::Once) => Decision::ApprovedOnce,
                Route::Approve(Approval::ForSession) => match call.session_scope(risk) {
                    Some(scope) => Decision::ApprovedForSession { scope },
                    None => {
                        let why = if risk == Risk::Destructive {
                            "a destructive call is asked every time"
                        } else {
                            "it is not one statement or command of known risk"
                        };
                        self.emit(EventKind::Notice { text: format!("{id} can't be approved for the session ({why}); approve it once, edit or deny it") });
                        continue;
                    }
                },
                Route::Approve(Approval::Edited(command)) => {
                    let parameters = self.config.tools.spec(name);
                    let parameters = parameters.map(|s| s.parameters.clone()).unwrap_or_default();
                    match edited_call(tool, &parameters, &command, args) {
                        Ok((args, risk, command)) => Decision::Edited {
                            command,
                            args,
                            risk,
                        },
                        Err(e) => {
                            self.emit(EventKind::Notice { text: format!("edited command rejected ({e}); still waiting for a decision on {id}") });
                            continue;
                        }
                    }
                }
                Route::Deny(reason) => {
                    let reason = if reason.trim().is_empty() {
                        "denied".to_string()
                    } else {
                        for_display(&reason)
                    };
                    Decision::Denied { reason }
                }
                // Steering while a call waits is a new direction: the call is set aside
                // (the agent may propose it again) and the agent re-plans with the steer.
                Route::SteerInstead(text) => Decision::Denied {
                    reason: format!(
                        "set aside: {by} steered instead (\"{}\")",
                        for_display(&text)
                    ),
                },
                _ => continue,
            };
            return Ok((decision, by));
        }
    }

    /// Why a call proposed for the hypotheses its rationale names (`mitigate H3`) no
    /// longer stands: every one of them is refuted. None while any stands, or when it
    /// names none.
    pub(super) fn withdrawn_for(&self, rationale: &str) -> Option<String> {
        let named: Vec<&crate::event::Hypothesis> = rationale
            .split(|c: char| !c.is_ascii_alphanumeric())
            .filter(|w| {
                w.len() > 1 && w.starts_with('H') && w[1..].bytes().all(|b| b.is_ascii_digit())
            })
            .filter_map(|id| self.state.hypothesis(id))
            .collect();
        let refuted = |h: &&crate::event::Hypothesis| h.status == HypothesisStatus::Refuted;
        if named.is_empty() || !named.iter().all(refuted) {
            return None;
        }
        let ids: Vec<&str> = named.iter().map(|h| h.id.as_str()).collect();
        Some(format!(
            "it was proposed for {}, which is refuted; the agent re-plans",
            ids.join(", ")
        ))
    }

    pub(super) async fn wait_for_credential(
        &mut self,
        id: &str,
    ) -> Result<Option<(Secret, String)>, Interrupt> {
        loop {
            match self.next_command(Waiting::Credential(id)).await? {
                Some((Route::Credential(secret), by)) => return Ok(Some((secret, by))),
                Some((Route::CancelCredential, _)) => return Ok(None),
                _ => {}
            }
        }
    }

    pub(super) fn finish_denied(&mut self, id: &str, reason: String) {
        self.emit(EventKind::ToolCallFinished {
            id: id.into(),
            outcome: CallOutcome::Denied,
            duration_ms: 0,
            output: OutputRef::default(),
            error: Some(reason),
        });
    }

    pub(super) async fn execute(&mut self, call: ProposedCall) {
        let id = format!("c{}", self.next_call);
        self.next_call += 1;
        let Some(tool) = self.config.tools.get(&call.tool).cloned() else {
            self.emit(EventKind::ToolCallProposed {
                id: id.clone(),
                tool: call.tool.clone(),
                args: call.args.clone(),
                command: call.tool.clone(),
                target: String::new(),
                risk: crate::event::Risk::Unknown,
                rationale: for_display(&call.rationale),
            });
            self.finish_failed(&id, format!("unknown tool `{}`", call.tool), 0);
            return;
        };
        self.unrecorded();
        let mut args = call.args.clone();
        let parameters = self
            .config
            .tools
            .spec(&call.tool)
            .map(|s| s.parameters.clone());
        // The arguments are checked against the schema and parsed by the tool once;
        // everything below reads the prepared call.
        let prepared = check_arguments(&parameters.unwrap_or_default(), &args)
            .map_err(|e| ToolError::InvalidArguments(e.to_string()))
            .and_then(|()| tool.prepare(&args));
        let (risk, preview) = match &prepared {
            Ok(prepared) => (prepared.risk(), prepared.preview()),
            Err(_) => (
                crate::event::Risk::Unknown,
                CallPreview {
                    command: format!("{} {}", call.tool, args),
                    target: String::new(),
                },
            ),
        };
        let mut command = preview.command.clone();
        self.emit(EventKind::ToolCallProposed {
            id: id.clone(),
            tool: call.tool.clone(),
            args: args.clone(),
            command: for_display(&command),
            target: for_display(&preview.target),
            risk,
            rationale: for_display(&call.rationale),
        });
        if let Some(earlier) = self.unchanged_repeat(&call) {
            let message = format!(
                "repeated call: identical to {earlier}, and nothing has changed since; use its result (read_output can show more of it)"
            );
            return self.finish_failed(&id, message, 0);
        }
        let mut prepared = match prepared {
            Ok(prepared) => prepared,
            // Back to the brain as an error it can correct; nothing runs.
            Err(e) => {
                let problem = match e {
                    ToolError::InvalidArguments(problem) => problem,
                    other => other.to_string(),
                };
                return self.finish_failed(
                    &id,
                    format!("invalid arguments for `{}`: {problem}", call.tool),
                    0,
                );
            }
        };
        let mut risk = risk;
        loop {
            let scope = prepared.session_scope(risk);
            let gate = gate::decide(
                &self.config.policy,
                self.config.approver,
                risk,
                scope.as_ref(),
                &self.granted,
            );
            let (decision, by) = match gate {
                Gate::Run => break,
                Gate::Decided(decision, by) => (decision, by),
                Gate::Ask => {
                    if let Some(why) = self.withdrawn_for(&call.rationale) {
                        return self.finish_denied(&id, why);
                    }
                    let preview = prepared.preview();
                    self.emit(EventKind::ApprovalRequested {
                        id: id.clone(),
                        command: for_display(&preview.command),
                        target: for_display(&preview.target),
                        risk,
                        reason: for_display(&call.rationale),
                        scope,
                        preview: prepared.dry_run().await.map(|p| for_display(&p)),
                    });
                    let decided = self
                        .wait_for_decision(
                            &id,
                            (&call.tool, &tool),
                            (&*prepared, &args, &call.rationale),
                            risk,
                        )
                        .await;
                    match decided {
                        Ok((decision, by)) => {
                            if let Decision::ApprovedForSession { scope } = &decision
                                && !self.granted.contains(scope)
                            {
                                self.granted.push(scope.clone());
                            }
                            (decision, by)
                        }
                        Err(Interrupt::Quit) => return,
                    }
                }
            };
            self.emit(EventKind::ApprovalDecided {
                id: id.clone(),
                decision: decision.clone(),
                by,
            });
            match decision {
                Decision::Denied { reason } => {
                    return self.finish_denied(&id, reason);
                }
                Decision::Edited {
                    args: edited,
                    command: edited_command,
                    risk: edited_risk,
                } => {
                    let raised = gate::edit_needs_review(risk, edited_risk);
                    prepared = match tool.prepare(&edited) {
                        Ok(prepared) => prepared,
                        Err(e) => return self.finish_failed(&id, e.to_string(), 0),
                    };
                    args = edited;
                    command = edited_command;
                    risk = edited_risk;
                    if raised {
                        self.emit(EventKind::Notice {
                            text: format!(
                                "the edit made {id} {}: it is asked again before it runs",
                                risk.label()
                            ),
                        });
                        continue;
                    }
                    break;
                }
                Decision::ApprovedOnce | Decision::ApprovedForSession { .. } => break,
            }
        }
        if let Some(failure) = self.unrecorded()
            && risk != crate::event::Risk::ReadOnly
        {
            return self.finish_denied(
                &id,
                format!("the session can't be recorded ({failure}); only read-only calls run"),
            );
        }
        let secret = match prepared.credential() {
            None => None,
            Some(_) if self.config.approver != Approver::Human => {
                return self.finish_denied(&id, "no approver to type the credential".into());
            }
            Some(spec) => {
                self.emit(EventKind::CredentialRequested {
                    id: id.clone(),
                    target: spec.target,
                    prompt: spec.prompt,
                });
                match self.wait_for_credential(&id).await {
                    Ok(Some((secret, by))) => {
                        self.emit(EventKind::CredentialSupplied { id: id.clone(), by });
                        Some(secret)
                    }
                    Ok(None) => {
                        return self.finish_denied(
                            &id,
                            "the engineer cancelled the credential prompt".into(),
                        );
                    }
                    Err(Interrupt::Quit) => return,
                }
            }
        };
        self.emit(EventKind::ToolCallStarted {
            id: id.clone(),
            command: for_display(&command),
        });
        let started = Instant::now();
        let result = self.run_tool(&*prepared, secret.as_ref()).await;
        let elapsed = started.elapsed().as_millis() as u64;
        match result {
            Ok(RunEnd::Done(Ok(output))) => {
                let output = self.cleaned_output(output, secret.as_ref());
                let reference = self.store_output(&output);
                self.emit(EventKind::ToolCallFinished {
                    id: id.clone(),
                    outcome: CallOutcome::Ok,
                    duration_ms: elapsed,
                    output: reference,
                    error: None,
                });
            }
            Ok(RunEnd::Done(Err(e))) => {
                let message = self.scrub_typed(e.to_string(), secret.as_ref());
                self.finish_failed(&id, message, elapsed);
            }
            Ok(RunEnd::TimedOut) => {
                let message = format!("timed out after {}s", TOOL_TIMEOUT.as_secs());
                self.finish_failed(&id, message, elapsed);
            }
            Ok(RunEnd::Cancelled { by }) => {
                let message = format!("cancelled by {by} while it ran");
                self.emit(EventKind::ToolCallFinished {
                    id: id.clone(),
                    outcome: CallOutcome::Cancelled,
                    duration_ms: elapsed,
                    output: OutputRef::default(),
                    error: Some(message),
                });
            }
            Err(Interrupt::Quit) => {
                self.emit(EventKind::ToolCallFinished {
                    id,
                    outcome: CallOutcome::Cancelled,
                    duration_ms: elapsed,
                    output: OutputRef::default(),
                    error: Some("cancelled: the session ended".into()),
                });
            }
        }
        // Kept only to scrub it from later outputs (see `Engine::typed`).
        self.typed.extend(secret);
    }

    /// `text` without the credential of this call nor any typed earlier in the session.
    pub(super) fn scrub_typed(&self, text: String, secret: Option<&Secret>) -> String {
        secret
            .into_iter()
            .chain(self.typed.iter())
            .fold(text, |text, s| {
                crate::redact::scrub_credential(&text, s.expose())
            })
    }

    /// Run a tool with a timeout; the engineer can cancel it, and quitting cancels it.
    pub(super) async fn run_tool(
        &mut self,
        call: &dyn Call,
        secret: Option<&Secret>,
    ) -> Result<RunEnd, Interrupt> {
        let run = tokio::time::timeout(TOOL_TIMEOUT, call.run(secret));
        tokio::pin!(run);
        loop {
            tokio::select! {
                result = &mut run => return Ok(match result {
                    Ok(done) => RunEnd::Done(done),
                    Err(_) => RunEnd::TimedOut,
                }),
                received = self.next_command(Waiting::Running) => {
                    if let Some((Route::CancelRunning, by)) = received? {
                        return Ok(RunEnd::Cancelled { by });
                    }
                }
            }
        }
    }

    pub(super) fn finish_failed(&mut self, id: &str, message: String, elapsed: u64) {
        let message = for_display(&message);
        self.emit(EventKind::ToolCallFinished {
            id: id.into(),
            outcome: CallOutcome::Failed,
            duration_ms: elapsed,
            output: OutputRef::default(),
            error: Some(message),
        });
    }

    /// A preview for the event (from what a person reads: the display text when the tool
    /// gave one); the full output in the blob store when it doesn't fit or when the
    /// preview is another text than it, and the raw data behind a digest always.
    pub(super) fn store_output(&mut self, output: &ToolOutput) -> OutputRef {
        let display = for_display(output.display.as_deref().unwrap_or(&output.text));
        let lines = display.lines().count() as u64;
        let mut preview: String = display
            .lines()
            .take(PREVIEW_LINES)
            .collect::<Vec<_>>()
            .join("\n");
        if preview.len() > PREVIEW_BYTES {
            let mut cut = PREVIEW_BYTES;
            while !preview.is_char_boundary(cut) {
                cut -= 1;
            }
            preview.truncate(cut);
        }
        let blob = if output.display.is_some() || preview.len() < display.len() {
            match self.config.blobs.put(&output.text) {
                Ok(hash) => Some(hash),
                Err(e) => {
                    self.emit(EventKind::Error {
                        source: "blob store".into(),
                        message: format!(
                            "could not store the full output ({e}); only the preview is kept"
                        ),
                        retried: false,
                    });
                    None
                }
            }
        } else {
            None
        };
        let raw = output.raw.as_deref().and_then(|raw| match self.config.blobs.put(raw) {
            Ok(blob) => Some(RawRef {
                blob,
                lines: raw.lines().count() as u64,
                bytes: raw.len() as u64,
            }),
            Err(e) => {
                self.emit(EventKind::Error {
                    source: "blob store".into(),
                    message: format!(
                        "could not store the raw data behind the output ({e}); only the digest is kept"
                    ),
                    retried: false,
                });
                None
            }
        });
        OutputRef {
            preview,
            bytes: output.text.len() as u64,
            lines,
            blob,
            // A display text is a table for people, whatever the text underneath is.
            language: if output.display.is_some() {
                "table".into()
            } else {
                output.language.into()
            },
            digest: for_display(&output.digest),
            raw,
        }
    }
}

/// An edited command as a new call: arguments parsed by the tool, checked against its
/// schema, and classified from scratch.
fn edited_call(
    tool: &Arc<dyn Tool>,
    parameters: &Value,
    command: &str,
    original: &Value,
) -> Result<(Value, Risk, String), ToolError> {
    let args = tool.args_from_command(command, original)?;
    check_arguments(parameters, &args).map_err(|e| ToolError::InvalidArguments(e.to_string()))?;
    let call = tool.prepare(&args)?;
    let (risk, command) = (call.risk(), call.preview().command);
    Ok((args, risk, command))
}
