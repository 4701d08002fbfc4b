//! The replay driver: feeds a recorded session's events into the same reducer the live
//! TUI uses, paced by their recorded timestamps (gaps capped so waits don't drag), with
//! play/pause, single steps forward and back, speed, jumps to the next human decision,
//! and a seek to a tool call by its id. Going back folds the events again from the start
//! up to the new position (the reducer folds 100k events in milliseconds).

use crate::event::{Event, EventKind, State};
use std::time::{Duration, Instant};

/// The longest pause between two events during playback, at 1x.
const MAX_GAP: Duration = Duration::from_millis(1500);
const SPEEDS: &[f64] = &[0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 64.0];

pub struct Replay {
    events: Vec<Event>,
    cursor: usize,
    speed: usize,
    playing: bool,
    due: Option<Instant>,
    pub warnings: Vec<String>,
}

impl Replay {
    pub fn new(events: Vec<Event>, warnings: Vec<String>) -> Replay {
        Replay {
            events,
            cursor: 0,
            speed: 2,
            playing: true,
            due: None,
            warnings,
        }
    }

    pub fn position(&self) -> (usize, usize) {
        (self.cursor, self.events.len())
    }

    pub fn speed(&self) -> f64 {
        SPEEDS[self.speed]
    }

    pub(crate) fn playing(&self) -> bool {
        self.playing && self.cursor < self.events.len()
    }

    pub(crate) fn toggle_play(&mut self) {
        self.playing = !self.playing;
        self.due = None;
    }

    pub fn faster(&mut self) {
        self.speed = (self.speed + 1).min(SPEEDS.len() - 1);
    }

    pub fn slower(&mut self) {
        self.speed = self.speed.saturating_sub(1);
    }

    fn apply_next(&mut self, state: &mut State) -> Option<&Event> {
        let event = self.events.get(self.cursor)?;
        state.apply(event);
        self.cursor += 1;
        Some(event)
    }

    fn is_text(event: &Event) -> bool {
        matches!(
            event.kind,
            EventKind::ReasoningDelta { .. } | EventKind::MessageDelta { .. }
        )
    }

    /// One step: one event, or one run of streamed text.
    pub fn step(&mut self, state: &mut State) {
        self.playing = false;
        let Some(first) = self.apply_next(state).cloned() else {
            return;
        };
        if Self::is_text(&first) {
            while self.events.get(self.cursor).is_some_and(|e| {
                std::mem::discriminant(&e.kind) == std::mem::discriminant(&first.kind)
            }) {
                self.apply_next(state);
            }
        }
    }

    /// One step back: the state as it was before the last step (one event, or one run
    /// of streamed text). At the first event it stays there.
    pub(crate) fn step_back(&mut self, state: &mut State) {
        self.playing = false;
        let mut target = self.cursor.saturating_sub(1);
        if let Some(last) = self.events.get(target)
            && Self::is_text(last)
        {
            let kind = std::mem::discriminant(&last.kind);
            while target > 0 && std::mem::discriminant(&self.events[target - 1].kind) == kind {
                target -= 1;
            }
        }
        self.refold(state, target.max(1));
    }

    /// Fold the events from the start up to (not including) `end`.
    fn refold(&mut self, state: &mut State, end: usize) {
        *state = State::new();
        self.cursor = 0;
        self.due = None;
        while self.cursor < end.min(self.events.len()) {
            self.apply_next(state);
        }
    }

    /// Move, forward or back, to just after the call `id` finished (or was proposed,
    /// when it never finished). Returns whether the session has such a call.
    pub(crate) fn seek_call(&mut self, state: &mut State, id: &str) -> bool {
        let of = |kind: &EventKind, finished: bool| match kind {
            EventKind::ToolCallFinished { id: i, .. } if finished => i == id,
            EventKind::ToolCallProposed { id: i, .. } if !finished => i == id,
            _ => false,
        };
        let Some(at) = self
            .events
            .iter()
            .position(|e| of(&e.kind, true))
            .or_else(|| self.events.iter().position(|e| of(&e.kind, false)))
        else {
            return false;
        };
        self.playing = false;
        if at < self.cursor {
            self.refold(state, at + 1);
        } else {
            while self.cursor <= at {
                self.apply_next(state);
            }
        }
        true
    }

    /// Play up to and including the next approval, credential request, edit or steer.
    pub(crate) fn next_decision(&mut self, state: &mut State) {
        self.playing = false;
        while let Some(event) = self.apply_next(state) {
            if event.kind.is_human_decision() {
                break;
            }
        }
    }

    pub fn restart(&mut self, state: &mut State) {
        *state = State::new();
        self.cursor = 0;
        self.due = None;
        self.apply_next(state);
    }

    pub(crate) fn jump_to_end(&mut self, state: &mut State) {
        while self.apply_next(state).is_some() {}
        self.playing = false;
    }

    /// Jump to the end and keep playing, so events appended later (a followed session)
    /// play as they come.
    pub fn follow_from_end(&mut self, state: &mut State) {
        self.jump_to_end(state);
        self.playing = true;
    }

    /// An event appended to the session after the replay began; it plays in its turn.
    pub fn push(&mut self, event: Event) {
        self.events.push(event);
    }

    /// When the next event is due, if playing.
    pub(crate) fn next_due(&mut self, now: Instant) -> Option<Instant> {
        if !self.playing() {
            return None;
        }
        Some(*self.due.get_or_insert_with(|| {
            let gap = match (
                self.cursor.checked_sub(1).and_then(|i| self.events.get(i)),
                self.events.get(self.cursor),
            ) {
                (Some(prev), Some(next)) => (next.ts - prev.ts)
                    .to_std()
                    .unwrap_or_default()
                    .min(MAX_GAP),
                _ => Duration::ZERO,
            };
            now + gap.div_f64(SPEEDS[self.speed])
        }))
    }

    /// Apply every event that is due by `now`. Returns whether anything changed.
    pub(crate) fn advance(&mut self, state: &mut State, now: Instant) -> bool {
        let mut changed = false;
        while let Some(due) = self.next_due(now) {
            if due > now {
                break;
            }
            self.due = None;
            changed |= self.apply_next(state).is_some();
        }
        changed
    }
}
