//! hunch-protocol: the bottom layer every other crate speaks. The events and their reducer
//! ([`event`]), the commands a frontend sends the engine (and who sent them), the handle that
//! sends them, the secret a credential travels in, what a brain is told about a tool, the
//! reports the tools answer with ([`digest`]), and the hygiene every outside string passes
//! through ([`sanitize`], [`redact`], [`text`]). It depends on no other part of hunch; the
//! TUI and the brains stand on it, never on the engine's or the tools' internals (the
//! workspace's layers, `Cargo.toml`, are kept by the compiler).

pub mod event;
pub mod knowledge;
pub mod redact;
pub mod sanitize;
pub mod text;

pub mod board;
pub mod digest;
pub mod ops;

use crate::event::HypothesisStatus;
use serde_json::Value;
use std::fmt;
use tokio::sync::mpsc;
use zeroize::Zeroizing;

/// How the engineer answered an approval request.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Approval {
    Once,
    ForSession,
    /// Run this edited command instead.
    Edited(String),
}

/// A change to the board by a human. `id: None` adds a hypothesis.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct HypothesisEdit {
    pub id: Option<String>,
    pub statement: Option<String>,
    pub status: Option<HypothesisStatus>,
    pub pinned: Option<bool>,
}

#[derive(Debug)]
pub enum Command {
    Approve {
        id: String,
        approval: Approval,
    },
    Deny {
        id: String,
        reason: String,
    },
    SupplyCredential {
        id: String,
        secret: Secret,
    },
    CancelCredential {
        id: String,
    },
    EditHypothesis(HypothesisEdit),
    Steer(String),
    Pause,
    Resume,
    /// Stop the tool call that is running; its future is dropped, which kills its
    /// processes. Ignored when nothing runs.
    CancelRunning,
    /// End the session (the engineer quit, or aborted).
    Quit,
    /// The sender joined from another terminal (`hunch attach`), to act or only to watch.
    /// Sent by the attach server, never across the socket: the engine records it.
    Attached {
        watch: bool,
    },
    /// The sender's attached terminal went away.
    Detached,
    /// A follow-up question about the record (after the conclusion): the brain answers
    /// it from the whole record, citing calls, and the investigation does not go on.
    Ask(String),
}

/// A command and who sent it.
#[derive(Debug)]
pub struct Envelope {
    pub by: String,
    pub command: Command,
}

/// The sending side of the engine's command channel.
#[derive(Clone)]
pub struct EngineHandle {
    sender: mpsc::UnboundedSender<Envelope>,
    by: String,
}

impl EngineHandle {
    /// A handle and the receiving end of its channel, for a frontend driven without an
    /// engine behind it (tests, and later remote clients relaying commands).
    pub fn channel(by: &str) -> (EngineHandle, mpsc::UnboundedReceiver<Envelope>) {
        let (sender, receiver) = mpsc::unbounded_channel();
        (
            EngineHandle {
                sender,
                by: by.into(),
            },
            receiver,
        )
    }

    /// Send a command on behalf of another engineer (an attached terminal).
    pub fn send_as(&self, by: &str, command: Command) {
        let _ = self.sender.send(Envelope {
            by: by.into(),
            command,
        });
    }

    /// Who this handle's commands are from.
    pub fn by(&self) -> &str {
        &self.by
    }

    pub fn send(&self, command: Command) {
        // A closed channel means the engine has ended; there is nothing left to steer.
        let _ = self.sender.send(Envelope {
            by: self.by.clone(),
            command,
        });
    }
}

/// A command as it crosses the attach socket from another terminal: everything an
/// engineer can do except typing a credential (a secret never crosses the socket) and
/// ending the session (an attached terminal only detaches).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum RemoteCommand {
    Approve { id: String, approval: Approval },
    Deny { id: String, reason: String },
    EditHypothesis { edit: HypothesisEdit },
    Steer { text: String },
    Pause,
    Resume,
    CancelRunning,
    Ask { text: String },
}

impl RemoteCommand {
    /// The command as it may be sent from an attached terminal; `None` for a credential
    /// (typed only where it was asked for) and for quitting (which only detaches).
    pub fn of(command: &Command) -> Option<RemoteCommand> {
        Some(match command {
            Command::Approve { id, approval } => RemoteCommand::Approve {
                id: id.clone(),
                approval: approval.clone(),
            },
            Command::Deny { id, reason } => RemoteCommand::Deny {
                id: id.clone(),
                reason: reason.clone(),
            },
            Command::EditHypothesis(edit) => RemoteCommand::EditHypothesis { edit: edit.clone() },
            Command::Steer(text) => RemoteCommand::Steer { text: text.clone() },
            Command::Pause => RemoteCommand::Pause,
            Command::Resume => RemoteCommand::Resume,
            Command::CancelRunning => RemoteCommand::CancelRunning,
            Command::Ask(text) => RemoteCommand::Ask { text: text.clone() },
            Command::SupplyCredential { .. }
            | Command::CancelCredential { .. }
            | Command::Quit
            | Command::Attached { .. }
            | Command::Detached => {
                return None;
            }
        })
    }

    pub fn into_command(self) -> Command {
        match self {
            RemoteCommand::Approve { id, approval } => Command::Approve { id, approval },
            RemoteCommand::Deny { id, reason } => Command::Deny { id, reason },
            RemoteCommand::EditHypothesis { edit } => Command::EditHypothesis(edit),
            RemoteCommand::Steer { text } => Command::Steer(text),
            RemoteCommand::Pause => Command::Pause,
            RemoteCommand::Resume => Command::Resume,
            RemoteCommand::CancelRunning => Command::CancelRunning,
            RemoteCommand::Ask { text } => Command::Ask(text),
        }
    }
}

/// The first line an attached terminal sends: who it is, and whether it only watches.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Hello {
    pub user: String,
    pub watch: bool,
}

/// A secret typed by the engineer. Its `Debug` never shows the value, it is wiped from
/// memory on drop, and it has no `Serialize`, so it can't end up in a session file.
pub struct Secret(Zeroizing<String>);

impl Secret {
    pub fn new(value: String) -> Secret {
        Secret(Zeroizing::new(value))
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// What a brain is told about a tool.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ToolSpec {
    pub name: String,
    pub description: String,
    /// JSON Schema of the arguments object.
    pub parameters: Value,
}

/// The JSON Schema of a tool's argument type, derived with schemars (doc comments become
/// descriptions, `deny_unknown_fields` becomes `additionalProperties: false`).
pub fn schema_of<T: schemars::JsonSchema>() -> Value {
    let mut value = serde_json::to_value(schemars::schema_for!(T)).expect("a schema serializes");
    if let Some(map) = value.as_object_mut() {
        map.remove("$schema");
        map.remove("title");
    }
    value
}
