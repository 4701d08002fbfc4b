//! Where a command goes. The engine receives commands in one place
//! ([`Engine::next_command`]); what a command does is decided by [`route`], a pure
//! function of the command and of what the engine is waiting for, tested on its own
//! like [`super::gate::decide`]. Edits, steering, pause and resume (and an attached
//! terminal coming or going) apply whatever is waiting; an approval, a denial or a
//! credential concerns only the call it names, and one that names no waiting call is
//! stale and changes nothing.

use super::{Engine, Interrupt};
use crate::protocol::{Approval, Command, Envelope, Secret};

/// What the engine is waiting for when a command arrives.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Waiting<'a> {
    /// Planning, or waiting for the engineer: only the commands that can come at any
    /// time matter.
    Nothing,
    /// This call waits for its decision.
    Decision(&'a str),
    /// This call waits for its credential.
    Credential(&'a str),
    /// A call is running.
    Running,
}

/// What a command does, given what is waiting.
#[derive(Debug)]
pub(super) enum Route {
    /// An edit, steering, pause or resume: applied whatever is waiting.
    Side(Command),
    /// The session ends.
    Quit,
    /// The waiting call's decision.
    Approve(Approval),
    Deny(String),
    /// Steering while a call waits for its decision: the steer is applied and the call
    /// is set aside (the agent may propose it again).
    SteerInstead(String),
    /// The waiting call's credential, or its cancellation.
    Credential(Secret),
    CancelCredential,
    /// Stop the running call.
    CancelRunning,
    /// It names no call that waits (a decision that came late, a second click).
    Stale,
}

/// Where `command` goes while the engine waits for `waiting`.
pub(super) fn route(command: Command, waiting: Waiting) -> Route {
    let names = |id: &str, call: &str| id == call;
    match (command, waiting) {
        (Command::Quit, _) => Route::Quit,
        (Command::Approve { id, approval }, Waiting::Decision(call)) if names(&id, call) => {
            Route::Approve(approval)
        }
        (Command::Deny { id, reason }, Waiting::Decision(call)) if names(&id, call) => {
            Route::Deny(reason)
        }
        (Command::Steer(text), Waiting::Decision(_)) => Route::SteerInstead(text),
        (Command::SupplyCredential { id, secret }, Waiting::Credential(call))
            if names(&id, call) =>
        {
            Route::Credential(secret)
        }
        (
            Command::CancelCredential { id } | Command::Deny { id, .. },
            Waiting::Credential(call),
        ) if names(&id, call) => Route::CancelCredential,
        (Command::CancelRunning, Waiting::Running) => Route::CancelRunning,
        (
            command @ (Command::EditHypothesis(_)
            | Command::Steer(_)
            | Command::Pause
            | Command::Resume
            | Command::Attached { .. }
            | Command::Detached
            | Command::Ask(_)),
            _,
        ) => Route::Side(command),
        (
            Command::Approve { .. }
            | Command::Deny { .. }
            | Command::SupplyCredential { .. }
            | Command::CancelCredential { .. }
            | Command::CancelRunning,
            _,
        ) => Route::Stale,
    }
}

impl Engine {
    /// Receive one command: side commands are applied here, and what concerns the waiter
    /// is returned with who sent it. Cancel-safe: once a command is received, nothing
    /// below awaits.
    pub(super) async fn next_command(
        &mut self,
        waiting: Waiting<'_>,
    ) -> Result<Option<(Route, String)>, Interrupt> {
        let Some(envelope) = self.commands.recv().await else {
            self.quit = true;
            return Err(Interrupt::Quit);
        };
        self.dispatch(envelope, waiting)
    }

    fn dispatch(
        &mut self,
        envelope: Envelope,
        waiting: Waiting<'_>,
    ) -> Result<Option<(Route, String)>, Interrupt> {
        let by = envelope.by;
        match route(envelope.command, waiting) {
            Route::Side(command) => {
                self.apply_side_command(command, by);
                Ok(None)
            }
            Route::Quit => {
                self.quit = true;
                Err(Interrupt::Quit)
            }
            Route::Stale => {
                tracing::debug!(?waiting, "a command for nothing that waits");
                Ok(None)
            }
            Route::SteerInstead(text) => {
                self.apply_side_command(Command::Steer(text.clone()), by.clone());
                Ok(Some((Route::SteerInstead(text), by)))
            }
            concerns_the_waiter => Ok(Some((concerns_the_waiter, by))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::HypothesisEdit;

    fn approve(id: &str) -> Command {
        Command::Approve {
            id: id.into(),
            approval: Approval::Once,
        }
    }

    fn deny(id: &str) -> Command {
        Command::Deny {
            id: id.into(),
            reason: "no".into(),
        }
    }

    fn credential(id: &str) -> Command {
        Command::SupplyCredential {
            id: id.into(),
            secret: Secret::new("s3cret".into()),
        }
    }

    fn every_waiting() -> [Waiting<'static>; 4] {
        [
            Waiting::Nothing,
            Waiting::Decision("c3"),
            Waiting::Credential("c3"),
            Waiting::Running,
        ]
    }

    /// An attached terminal comes and goes whatever waits, even a credential prompt.
    #[test]
    fn attaching_and_leaving_apply_whatever_waits() {
        for waiting in every_waiting() {
            assert!(matches!(
                route(Command::Attached { watch: false }, waiting),
                Route::Side(Command::Attached { watch: false })
            ));
            assert!(matches!(
                route(Command::Detached, waiting),
                Route::Side(Command::Detached)
            ));
        }
    }

    #[test]
    fn a_decision_concerns_only_the_call_that_waits_for_it() {
        assert!(matches!(
            route(approve("c3"), Waiting::Decision("c3")),
            Route::Approve(Approval::Once)
        ));
        assert!(matches!(route(deny("c3"), Waiting::Decision("c3")), Route::Deny(r) if r == "no"));
        for waiting in [
            Waiting::Nothing,
            Waiting::Decision("c4"),
            Waiting::Credential("c3"),
            Waiting::Running,
        ] {
            assert!(
                matches!(route(approve("c3"), waiting), Route::Stale),
                "{waiting:?}"
            );
        }
        assert!(matches!(
            route(deny("c4"), Waiting::Decision("c3")),
            Route::Stale
        ));
    }

    #[test]
    fn a_credential_reaches_only_the_call_that_asked() {
        assert!(matches!(
            route(credential("c3"), Waiting::Credential("c3")),
            Route::Credential(_)
        ));
        assert!(matches!(
            route(credential("c3"), Waiting::Credential("c4")),
            Route::Stale
        ));
        assert!(matches!(
            route(credential("c3"), Waiting::Decision("c3")),
            Route::Stale
        ));
        for cancel in [Command::CancelCredential { id: "c3".into() }, deny("c3")] {
            assert!(matches!(
                route(cancel, Waiting::Credential("c3")),
                Route::CancelCredential
            ));
        }
    }

    #[test]
    fn steering_sets_a_waiting_call_aside_and_is_otherwise_a_side_command() {
        assert!(matches!(
            route(Command::Steer("look at redis".into()), Waiting::Decision("c3")),
            Route::SteerInstead(t) if t == "look at redis"
        ));
        for waiting in [
            Waiting::Nothing,
            Waiting::Credential("c3"),
            Waiting::Running,
        ] {
            assert!(matches!(
                route(Command::Steer("x".into()), waiting),
                Route::Side(Command::Steer(_))
            ));
        }
    }

    #[test]
    fn edits_pause_resume_and_quit_apply_whatever_waits() {
        for waiting in every_waiting() {
            assert!(matches!(
                route(Command::EditHypothesis(HypothesisEdit::default()), waiting),
                Route::Side(Command::EditHypothesis(_))
            ));
            assert!(matches!(
                route(Command::Pause, waiting),
                Route::Side(Command::Pause)
            ));
            assert!(matches!(
                route(Command::Resume, waiting),
                Route::Side(Command::Resume)
            ));
            assert!(matches!(route(Command::Quit, waiting), Route::Quit));
        }
    }

    #[test]
    fn cancelling_stops_only_a_running_call() {
        assert!(matches!(
            route(Command::CancelRunning, Waiting::Running),
            Route::CancelRunning
        ));
        for waiting in [
            Waiting::Nothing,
            Waiting::Decision("c3"),
            Waiting::Credential("c3"),
        ] {
            assert!(matches!(
                route(Command::CancelRunning, waiting),
                Route::Stale
            ));
        }
    }
}
