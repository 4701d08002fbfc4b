//! The reducer: folding events into the state every reader shows.

use chrono::{TimeZone, Utc};
use hunch::event::*;
use hunch::session::read_session;
use serde_json::json;

fn ev(seq: u64, kind: EventKind) -> Event {
    Event {
        seq,
        ts: Utc.timestamp_opt(1_764_000_000 + seq as i64, 0).unwrap(),
        kind,
    }
}

fn proposed(id: &str, risk: Risk) -> EventKind {
    EventKind::ToolCallProposed {
        id: id.into(),
        tool: "kubectl".into(),
        args: json!({"command": "kubectl rollout undo deployment/payments -n shop"}),
        command: "kubectl rollout undo deployment/payments -n shop".into(),
        target: "cluster".into(),
        risk,
        rationale: "mitigate".into(),
    }
}

#[test]
fn streamed_text_joins_into_one_entry_per_kind() {
    let state = State::from_events(&[
        ev(
            0,
            EventKind::ReasoningDelta {
                text: "The alert ".into(),
            },
        ),
        ev(
            1,
            EventKind::ReasoningDelta {
                text: "says.".into(),
            },
        ),
        ev(
            2,
            EventKind::MessageDelta {
                text: "Proposing".into(),
            },
        ),
        ev(
            3,
            EventKind::ReasoningDelta {
                text: "Again".into(),
            },
        ),
    ]);
    assert_eq!(
        state.transcript,
        vec![
            Entry::Reasoning("The alert says.".into()),
            Entry::Message("Proposing".into()),
            Entry::Reasoning("Again".into())
        ]
    );
    assert!(state.entry_revisions[0] < state.entry_revisions[2]);
}

#[test]
fn sessions_recorded_with_prefix_scopes_still_load_and_cover_nothing() {
    let line = r#"{"seq":3,"ts":"2026-01-01T00:00:00Z","type":"approval_decided","id":"c1","decision":"approved-for-session","scope":{"tool":"kubectl","prefix":"kubectl rollout"},"by":"alice"}"#;
    let event: hunch::event::Event = serde_json::from_str(line).unwrap();
    let EventKind::ApprovalDecided {
        decision: Decision::ApprovedForSession { scope },
        ..
    } = event.kind
    else {
        panic!("{event:?}")
    };
    let call =
        hunch::tools::scope::kubectl("kubectl rollout undo deploy/x", Risk::Mutating).unwrap();
    assert!(!scope.covers(&call));
    assert!(scope.describe().contains("nothing"));
}

#[test]
fn an_approval_moves_a_call_through_its_life() {
    let mut state = State::new();
    state.apply(&ev(0, proposed("c1", Risk::Mutating)));
    assert_eq!(state.calls[0].status, CallStatus::Proposed);
    let scope = hunch::tools::scope::kubectl(
        "kubectl rollout undo deployment/payments -n shop",
        Risk::Mutating,
    )
    .unwrap();
    state.apply(&ev(
        1,
        EventKind::ApprovalRequested {
            id: "c1".into(),
            command: "x".into(),
            target: "t".into(),
            risk: Risk::Mutating,
            reason: "r".into(),
            scope: Some(scope.clone()),
            preview: None,
        },
    ));
    assert_eq!(state.calls[0].status, CallStatus::AwaitingApproval);
    assert_eq!(state.pending.len(), 1);
    let before = state.entry_revisions[0];
    state.apply(&ev(
        2,
        EventKind::ApprovalDecided {
            id: "c1".into(),
            decision: Decision::ApprovedForSession {
                scope: scope.clone(),
            },
            by: "alice".into(),
        },
    ));
    assert!(state.pending.is_empty());
    assert_eq!(state.session_rules, vec![scope]);
    assert!(state.entry_revisions[0] > before, "the cell is redrawn");
    state.apply(&ev(
        3,
        EventKind::ToolCallStarted {
            id: "c1".into(),
            command: "kubectl rollout undo deployment/payments -n shop".into(),
        },
    ));
    assert_eq!(state.running_calls(), 1);
    state.apply(&ev(
        5,
        EventKind::ToolCallFinished {
            id: "c1".into(),
            outcome: CallOutcome::Ok,
            duration_ms: 12,
            output: OutputRef {
                preview: "ok".into(),
                lines: 1,
                bytes: 2,
                ..OutputRef::default()
            },
            error: None,
        },
    ));
    assert_eq!(state.calls[0].status, CallStatus::Finished(CallOutcome::Ok));
    assert_eq!(state.steps(), 1);
    assert_eq!(
        state.calls[0].started_at,
        Some(Utc.timestamp_opt(1_764_000_003, 0).unwrap())
    );
}

#[test]
fn an_edited_approval_replaces_the_command() {
    let mut state = State::new();
    state.apply(&ev(0, proposed("c1", Risk::Mutating)));
    state.apply(&ev(
        1,
        EventKind::ApprovalDecided {
            id: "c1".into(),
            decision: Decision::Edited {
                args: json!({"command": "kubectl rollout restart deployment/payments -n shop"}),
                command: "kubectl rollout restart deployment/payments -n shop".into(),
                risk: Risk::Mutating,
            },
            by: "alice".into(),
        },
    ));
    assert_eq!(
        state.calls[0].command,
        "kubectl rollout restart deployment/payments -n shop"
    );
}

#[test]
fn a_credential_is_recorded_as_supplied_by_whom_never_what() {
    let mut state = State::new();
    state.apply(&ev(0, proposed("c1", Risk::NeedsCredentials)));
    state.apply(&ev(
        1,
        EventKind::CredentialRequested {
            id: "c1".into(),
            target: "db".into(),
            prompt: "Password".into(),
        },
    ));
    assert!(matches!(
        state.pending[0],
        Pending::Credential { call: 0, .. }
    ));
    state.apply(&ev(
        2,
        EventKind::CredentialSupplied {
            id: "c1".into(),
            by: "alice".into(),
        },
    ));
    assert!(state.pending.is_empty());
    assert_eq!(state.calls[0].credential_by.as_deref(), Some("alice"));
}

#[test]
fn human_edits_replace_the_hypothesis_and_show_in_the_transcript() {
    let h = Hypothesis {
        id: "H1".into(),
        statement: "deploy".into(),
        status: HypothesisStatus::Supported,
        confidence: 0.7,
        evidence: vec!["c1".into()],
        key: Some("deploy:payments".into()),
        author: Author::Brain,
        pinned: false,
    };
    let mut state = State::from_events(&[ev(
        0,
        EventKind::HypothesisUpserted {
            hypothesis: h.clone(),
        },
    )]);
    let edited = Hypothesis {
        status: HypothesisStatus::Refuted,
        author: Author::Human,
        pinned: true,
        ..h
    };
    state.apply(&ev(
        1,
        EventKind::HypothesisEdited {
            hypothesis: edited.clone(),
            by: "alice".into(),
        },
    ));
    assert_eq!(state.hypotheses, vec![edited]);
    assert!(
        matches!(state.transcript.last(), Some(Entry::Human(t)) if t == "alice refuted and pinned H1 (was supported): deploy")
    );
}

#[test]
fn events_for_unknown_calls_are_ignored() {
    let mut state = State::new();
    state.apply(&ev(
        0,
        EventKind::ToolCallFinished {
            id: "ghost".into(),
            outcome: CallOutcome::Ok,
            duration_ms: 1,
            output: OutputRef::default(),
            error: None,
        },
    ));
    state.apply(&ev(
        1,
        EventKind::ApprovalRequested {
            id: "ghost".into(),
            command: "x".into(),
            target: "t".into(),
            risk: Risk::Mutating,
            reason: "r".into(),
            scope: None,
            preview: None,
        },
    ));
    assert!(state.calls.is_empty() && state.pending.is_empty());
    assert_eq!(state.events, 2);
}

#[test]
fn the_recorded_fixture_folds_to_a_concluded_investigation() {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/demo-session.jsonl");
    let log = read_session(&path).unwrap();
    assert!(log.warnings.is_empty());
    let state = State::from_events(&log.events);
    assert!(state.conclusion.is_some());
    assert!(state.pending.is_empty());
    assert_eq!(state.ended.as_deref(), Some("engineer quit"));
    // Folding is deterministic: twice gives the same transcript and board.
    let again = State::from_events(&log.events);
    assert_eq!(again.transcript, state.transcript);
    assert_eq!(again.hypotheses, state.hypotheses);
    // Every event round-trips through JSON unchanged.
    for event in &log.events {
        let text = serde_json::to_string(event).unwrap();
        assert_eq!(&serde_json::from_str::<Event>(&text).unwrap(), event);
    }
}

/// Who is attached from another terminal is folded from the record: each coming and
/// going is a transcript line, and the session's end leaves nobody attached.
#[test]
fn attaching_and_leaving_fold_into_who_is_attached() {
    let attached = |by: &str, watch| EventKind::Attached {
        by: by.into(),
        watch,
    };
    let mut state = State::from_events(&[
        ev(0, attached("bob", false)),
        ev(1, attached("carol", true)),
        ev(2, attached("bob", false)),
        ev(3, EventKind::Detached { by: "bob".into() }),
    ]);
    assert_eq!(state.attached, ["carol", "bob"]);
    let notices: Vec<&Entry> = state.transcript.iter().collect();
    assert_eq!(
        notices,
        [
            &Entry::Notice("bob attached".into()),
            &Entry::Notice("carol attached to watch".into()),
            &Entry::Notice("bob attached".into()),
            &Entry::Notice("bob left".into()),
        ]
    );
    state.apply(&ev(
        4,
        EventKind::SessionEnded {
            reason: "quit".into(),
        },
    ));
    assert!(state.attached.is_empty(), "{:?}", state.attached);
}

/// The events as they are written, and a session recorded before `watch` existed.
#[test]
fn attach_events_are_recorded_as_json_lines() {
    let event = ev(
        7,
        EventKind::Attached {
            by: "bob".into(),
            watch: false,
        },
    );
    let line = serde_json::to_string(&event).unwrap();
    assert!(line.contains(r#""type":"attached""#), "{line}");
    assert_eq!(serde_json::from_str::<Event>(&line).unwrap(), event);
    let old = r#"{"seq":7,"ts":"2025-11-24T16:00:07Z","type":"attached","by":"bob"}"#;
    assert_eq!(serde_json::from_str::<Event>(old).unwrap().kind, event.kind);
    let left = r#"{"seq":8,"ts":"2025-11-24T16:00:08Z","type":"detached","by":"bob"}"#;
    let state = State::from_events(&[serde_json::from_str::<Event>(left).unwrap()]);
    assert!(state.attached.is_empty());
}

/// The headless printer folds through the same reducer and says who came and went.
#[test]
fn the_headless_printer_says_who_attached_and_left() {
    let mut out = Vec::new();
    let mut printer = hunch::headless::Printer::new(&mut out, false);
    for (seq, kind) in [
        EventKind::Attached {
            by: "bob".into(),
            watch: false,
        },
        EventKind::Detached { by: "bob".into() },
    ]
    .into_iter()
    .enumerate()
    {
        printer.print(&ev(seq as u64, kind)).unwrap();
    }
    assert!(printer.state().attached.is_empty());
    let text = String::from_utf8(out).unwrap();
    assert!(text.contains("] bob attached\n"), "{text}");
    assert!(text.contains("] bob left\n"), "{text}");
}

/// The clock a live screen shows stands still when the investigation comes to rest: an
/// engineer attaching after the conclusion does not move it, another turn of the agent
/// does (it is working again), and the end keeps the time it first came to rest.
#[test]
fn the_investigation_rests_at_its_conclusion_until_the_agent_works_again() {
    let conclusion = Conclusion {
        root_cause: "payments deploy".into(),
        confidence: 0.7,
        evidence: vec![],
        follow_ups: vec![],
    };
    let mut state = State::new();
    state.apply(&ev(1, EventKind::TurnStarted { turn: 1 }));
    assert_eq!(state.settled_at, None);
    let concluded = ev(2, EventKind::Concluded { conclusion });
    state.apply(&concluded);
    state.apply(&ev(
        30,
        EventKind::Attached {
            by: "bob".into(),
            watch: false,
        },
    ));
    assert_eq!(
        state.settled_at,
        Some(concluded.ts),
        "attaching moved the clock"
    );
    state.apply(&ev(40, EventKind::TurnStarted { turn: 2 }));
    assert_eq!(state.settled_at, None, "the agent works again");
    let ended = ev(
        50,
        EventKind::SessionEnded {
            reason: "quit".into(),
        },
    );
    state.apply(&ended);
    state.apply(&ev(60, EventKind::Detached { by: "bob".into() }));
    assert_eq!(state.settled_at, Some(ended.ts));
}
