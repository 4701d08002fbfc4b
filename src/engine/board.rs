//! The engine's own tools, which every brain sees: `update_hypotheses` and `conclude`
//! write the board and the conclusion, `read_output` reads more of an earlier call's
//! output or its raw data. They are answered here, recorded as `board_call_answered`, and
//! so reach the brain's history like any other call's result.

use super::*;

use crate::session::BlobError;

/// Arguments an engine tool cannot read; `error` says why, in serde's words.
#[derive(Debug, thiserror::Error)]
#[error("invalid arguments for `{tool}`: {error}")]
struct ArgumentsError {
    tool: &'static str,
    error: serde_json::Error,
}

/// Why `read_output` has nothing to show for call `id`.
#[derive(Debug, thiserror::Error)]
pub(super) enum ReadOutputError {
    #[error("no finished call `{id}` with output in this session")]
    NoOutput { id: String },
    #[error("call `{id}` kept no raw data; read its output instead")]
    NoRaw { id: String },
    #[error("the raw data of `{id}` could not be read from the blob store: {error}")]
    Blob { id: String, error: BlobError },
}

/// Why an engine tool's call failed: its arguments, or what it was asked to read.
#[derive(Debug, thiserror::Error)]
enum BoardCallError {
    #[error(transparent)]
    Arguments(#[from] ArgumentsError),
    #[error(transparent)]
    ReadOutput(#[from] ReadOutputError),
}

/// A board call's arguments as the tool's type.
fn parse<T: serde::de::DeserializeOwned>(
    tool: &'static str,
    args: &Value,
) -> Result<T, ArgumentsError> {
    serde_json::from_value(args.clone()).map_err(|error| ArgumentsError { tool, error })
}

impl Engine {
    /// `update_hypotheses` and `conclude`: handled here, answered in the brain's history
    /// like any other call (models expect every call answered).
    pub(super) fn board_call(&mut self, call: ProposedCall) {
        let id = format!("b{}", self.next_board_call);
        self.next_board_call += 1;
        let result = self.answer_board_call(&call).map_err(|e| e.to_string());
        if let Err(message) = &result
            && call.tool != READ_OUTPUT
        {
            self.emit(EventKind::Error {
                source: "brain".into(),
                message: message.clone(),
                retried: false,
            });
        }
        let (outcome, output, error) = match result {
            Ok(summary) => (CallOutcome::Ok, summary, None),
            Err(message) => (CallOutcome::Failed, String::new(), Some(message)),
        };
        self.emit(EventKind::BoardCallAnswered {
            id,
            tool: call.tool,
            args: call.args,
            outcome,
            output,
            error,
        });
    }

    /// What a board call answers: a summary of what it did, or the output read.
    fn answer_board_call(&mut self, call: &ProposedCall) -> Result<String, BoardCallError> {
        Ok(match call.tool.as_str() {
            CONCLUDE => self.conclude(parse(CONCLUDE, &call.args)?),
            READ_OUTPUT => self.read_output(parse(READ_OUTPUT, &call.args)?)?,
            _ => self.update_hypotheses(parse(UPDATE_HYPOTHESES, &call.args)?),
        })
    }

    /// A slice of an earlier call's full output, by line range or substring.
    pub(super) fn read_output(&self, args: ReadOutputArgs) -> Result<String, ReadOutputError> {
        const MAX_LINES: usize = 200;
        let id = args.id.as_str();
        let (output, raw) = self
            .history
            .items()
            .iter()
            .find_map(|h| match h {
                HistoryItem::ToolResult {
                    id: i,
                    output,
                    raw,
                    outcome: CallOutcome::Ok,
                    ..
                } if i == id => Some((output, raw)),
                _ => None,
            })
            .ok_or_else(|| ReadOutputError::NoOutput { id: id.into() })?;
        let raw_text;
        let output = if args.raw {
            let raw = raw
                .as_ref()
                .ok_or_else(|| ReadOutputError::NoRaw { id: id.into() })?;
            raw_text = self
                .config
                .blobs
                .get(&raw.blob)
                .map_err(|error| ReadOutputError::Blob {
                    id: id.into(),
                    error,
                })?;
            &raw_text
        } else {
            output
        };
        let lines: Vec<&str> = output.lines().collect();
        let selected: Vec<String> = match args.grep.as_deref() {
            Some(pattern) => {
                let needle = pattern.to_lowercase();
                lines
                    .iter()
                    .enumerate()
                    .filter(|(_, l)| l.to_lowercase().contains(&needle))
                    .map(|(n, l)| format!("{}: {l}", n + 1))
                    .collect()
            }
            None => {
                let start = args.start_line.unwrap_or(1).max(1) as usize;
                let end = args
                    .end_line
                    .map(|e| e as usize)
                    .unwrap_or(start + MAX_LINES - 1)
                    .min(lines.len());
                (start..=end)
                    .filter_map(|n| lines.get(n - 1).map(|l| format!("{n}: {l}")))
                    .collect()
            }
        };
        let total = selected.len();
        let mut text: Vec<String> = selected.into_iter().take(MAX_LINES).collect();
        if total > MAX_LINES {
            text.push(format!(
                "[{}; narrow the range or the pattern]",
                crate::text::plural(total - MAX_LINES, "more line")
            ));
        }
        if text.is_empty() {
            text.push(format!("no lines matched ({} lines in {id})", lines.len()));
        }
        Ok(text.join("\n"))
    }

    pub(super) fn update_hypotheses(&mut self, args: UpdateHypothesesArgs) -> String {
        let mut updated = Vec::new();
        for item in args.hypotheses {
            let mut proposed = Hypothesis {
                id: item.id.unwrap_or_default(),
                statement: for_display(&item.statement),
                status: item.status,
                confidence: item.confidence.clamp(0.0, 1.0),
                evidence: item.evidence,
                key: item.key,
                author: Author::Brain,
                pinned: false,
            };
            proposed.evidence.retain(|id| self.state.call(id).is_some());
            // The brain's key names a hypothesis better than an id: a brain that lost its
            // board (a resume, a fork, an engineer's edit in the middle of its turn) may
            // offer an id that is already another hypothesis's. An id is the same
            // hypothesis only when the keys do not say otherwise.
            let by_key = || {
                proposed.key.as_ref().and_then(|key| {
                    self.state
                        .hypotheses
                        .iter()
                        .find(|h| h.key.as_ref() == Some(key))
                })
            };
            let by_id = || {
                self.state.hypotheses.iter().find(|h| {
                    !proposed.id.is_empty()
                        && h.id == proposed.id
                        && (proposed.key.is_none() || h.key == proposed.key)
                })
            };
            let existing = by_key().or_else(by_id).cloned();
            let hypothesis = match existing {
                // The engineer's word stands: the brain adds evidence and confidence only,
                // and a hypothesis the engineer refuted never gains confidence.
                Some(h) if h.author == Author::Human => Hypothesis {
                    confidence: if h.status == HypothesisStatus::Refuted {
                        proposed.confidence.min(h.confidence)
                    } else {
                        proposed.confidence
                    },
                    evidence: proposed.evidence,
                    ..h
                },
                Some(h) => Hypothesis {
                    id: h.id,
                    pinned: h.pinned,
                    key: proposed.key.or(h.key),
                    ..proposed
                },
                None => {
                    if proposed.id.is_empty() || self.state.hypothesis(&proposed.id).is_some() {
                        let mut n = self.state.hypotheses.len() + 1;
                        while self.state.hypothesis(&format!("H{n}")).is_some() {
                            n += 1;
                        }
                        proposed.id = format!("H{n}");
                    }
                    proposed
                }
            };
            updated.push(hypothesis.id.clone());
            self.emit(EventKind::HypothesisUpserted { hypothesis });
        }
        format!("board updated: {}", updated.join(", "))
    }

    /// Record the conclusion; returns what to tell the brain.
    pub(super) fn conclude(&mut self, args: ConcludeArgs) -> String {
        let cited: Vec<String> = args.evidence.iter().map(|e| for_display(e)).collect();
        let unknown: Vec<String> = cited
            .iter()
            .filter(|id| self.state.call(id).is_none())
            .cloned()
            .collect();
        let conclusion = Conclusion {
            root_cause: for_display(&args.root_cause),
            confidence: args.confidence.clamp(0.0, 1.0),
            evidence: cited
                .into_iter()
                .filter(|id| self.state.call(id).is_some())
                .collect(),
            follow_ups: distinct_follow_ups(&args.follow_ups),
        };
        let uncited = conclusion.evidence.is_empty();
        self.emit(EventKind::Concluded { conclusion });
        self.conclusion_stale = false;
        let mut summary = "conclusion recorded".to_string();
        if !unknown.is_empty() {
            summary.push_str(&format!(
                "; these evidence ids are not tool calls of this session and were dropped: {}",
                unknown.join(", ")
            ));
        }
        if uncited {
            summary.push_str("; it cites no evidence and is shown as uncited");
        }
        summary
    }
}

/// Follow-ups without near-repeats: one that names the same setting or command (a
/// backticked term) as an earlier one and shares another word with it, or whose words
/// mostly repeat an earlier one's, is dropped. Two sources saying "set
/// `idle_in_transaction_session_timeout` to 30s" become one.
fn distinct_follow_ups(follow_ups: &[String]) -> Vec<String> {
    use std::collections::BTreeSet;
    fn words(text: &str) -> BTreeSet<String> {
        text.split(|c: char| !c.is_alphanumeric() && c != '_')
            .filter(|w| w.len() > 2)
            .map(str::to_lowercase)
            .collect()
    }
    fn named_terms(text: &str) -> BTreeSet<String> {
        text.split('`')
            .skip(1)
            .step_by(2)
            .filter_map(|span| span.split_whitespace().next())
            .map(str::to_lowercase)
            .collect()
    }
    let mut kept: Vec<(String, BTreeSet<String>, BTreeSet<String>)> = Vec::new();
    for text in follow_ups {
        let text = for_display(text).trim().to_string();
        let (these, terms) = (words(&text), named_terms(&text));
        let repeats = kept.iter().any(|(_, earlier, earlier_terms)| {
            let shared = these.intersection(earlier).count();
            let smaller = these.len().min(earlier.len()).max(1);
            let same_term = terms.intersection(earlier_terms).count();
            (same_term > 0 && shared > same_term) || (shared * 2 > smaller && shared >= 2)
        });
        if !text.is_empty() && !repeats {
            kept.push((text, these, terms));
        }
    }
    kept.into_iter().map(|(text, ..)| text).collect()
}

#[cfg(test)]
mod tests {
    use super::distinct_follow_ups;

    #[test]
    fn near_identical_follow_ups_are_kept_once() {
        let follow_ups = [
            "`idle_in_transaction_session_timeout = 30s` on orders-db (not yet done). (from INC-2041)".to_string(),
            "Set `idle_in_transaction_session_timeout` on the database (30s is a common choice).".into(),
            "Alert when connections stay above 80% of `max_connections` for 2 minutes.".into(),
            "Keep the previous release pinned until the regression is understood.".into(),
        ];
        let kept = distinct_follow_ups(&follow_ups);
        assert_eq!(kept.len(), 3, "{kept:?}");
        assert!(kept[0].contains("INC-2041"));
        let different = [
            "Alert above 80% of `max_connections`".to_string(),
            "Raise `max_connections`".into(),
        ];
        assert_eq!(distinct_follow_ups(&different).len(), 2);
    }
}
