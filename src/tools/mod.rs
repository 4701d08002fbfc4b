//! Tools: what the agent can do, and how risky each call is.
//!
//! A [`Tool`] has a name, a JSON schema for its arguments, and — the part that matters
//! for safety — [`Tool::classify`], which decides the call's [`Risk`] from the actual
//! arguments. The brain never says what is safe; the engine's gate asks the tool. A tool
//! that needs a secret says so in [`Tool::credential`]; the secret is handed to `run`
//! for that one call and never appears in an event.

pub mod demo;
pub mod kubectl_risk;
pub mod live;
pub mod replay;
pub mod scope;
pub mod shell_risk;
pub mod sql_risk;
pub mod telemetry;

use crate::event::{Risk, SessionScope};
pub use crate::protocol::{Secret, ToolSpec, schema_of};
use futures::future::BoxFuture;
use serde_json::Value;
use std::sync::Arc;

/// What a call will do, in the words the approval overlay shows.
#[derive(Debug, Clone, PartialEq)]
pub struct CallPreview {
    pub command: String,
    pub target: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CredentialSpec {
    pub target: String,
    pub prompt: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ToolOutput {
    pub text: String,
    /// Highlighting syntax: json, sql, yaml, shell or log; `table` (a query result) is
    /// shown as it is, so words like `in` inside its cells are not coloured as SQL.
    pub language: &'static str,
    /// One line that says what the output means.
    pub digest: String,
    /// The data a digest was made from (the log lines, the samples), when there is more
    /// behind it than the output shows. The engine keeps it in the blob store and tells
    /// the model how to read it (`read_output` with `raw`), so the digest is what fills
    /// the context and nothing is lost.
    pub raw: Option<String>,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ToolError {
    #[error("invalid arguments: {0}")]
    InvalidArguments(String),
    #[error("{0}")]
    Failed(String),
    #[error("needs a credential and none was supplied")]
    MissingCredential,
}

pub trait Tool: Send + Sync {
    fn spec(&self) -> ToolSpec;

    /// The risk of this call, from its actual arguments.
    fn classify(&self, args: &Value) -> Risk;

    /// Whether this call needs a secret typed by the engineer.
    fn credential(&self, _args: &Value) -> Option<CredentialSpec> {
        None
    }

    fn preview(&self, args: &Value) -> CallPreview;

    /// What "approve for the rest of the session" covers for this call of risk `risk`,
    /// built from the parsed arguments (see [`scope`]); none when no approval may cover
    /// it. By default only the identical command line.
    fn session_scope(&self, args: &Value, risk: Risk) -> Option<SessionScope> {
        scope::exact(&self.spec().name, &self.preview(args).command, risk)
    }

    /// A preview of the effect of a risky call (a dry run, a diff), when one can be made
    /// without side effects.
    fn dry_run<'a>(&'a self, _args: &'a Value) -> BoxFuture<'a, Option<String>> {
        Box::pin(std::future::ready(None))
    }

    /// Turn an edited command line back into arguments (for "edit, then approve").
    fn args_from_command(&self, command: &str, original: &Value) -> Result<Value, ToolError>;

    fn run<'a>(
        &'a self,
        args: &'a Value,
        secret: Option<&'a Secret>,
    ) -> BoxFuture<'a, Result<ToolOutput, ToolError>>;
}

/// The tools a session can use, by name, with their specs built once (a spec holds the
/// generated JSON schema of the tool's arguments).
#[derive(Clone, Default)]
pub struct Registry {
    tools: Vec<Arc<dyn Tool>>,
    specs: Vec<ToolSpec>,
}

impl Registry {
    pub fn new(tools: Vec<Arc<dyn Tool>>) -> Registry {
        let specs = tools.iter().map(|t| t.spec()).collect();
        Registry { tools, specs }
    }

    fn position(&self, name: &str) -> Option<usize> {
        self.specs.iter().position(|s| s.name == name)
    }

    pub fn get(&self, name: &str) -> Option<&Arc<dyn Tool>> {
        self.position(name).map(|i| &self.tools[i])
    }

    /// The spec of the tool called `name`, as built when the registry was.
    pub fn spec(&self, name: &str) -> Option<&ToolSpec> {
        self.position(name).map(|i| &self.specs[i])
    }

    pub fn specs(&self) -> Vec<ToolSpec> {
        self.specs.clone()
    }

    pub fn tools(&self) -> impl Iterator<Item = &Arc<dyn Tool>> {
        self.tools.iter()
    }
}

/// Arguments as the tool's type; the error says which field was wrong.
pub fn parse_args<T: serde::de::DeserializeOwned>(args: &Value) -> Result<T, ToolError> {
    serde_json::from_value(args.clone()).map_err(|e| ToolError::InvalidArguments(e.to_string()))
}

/// Read a required string argument.
pub fn str_arg<'a>(args: &'a Value, name: &str) -> Result<&'a str, ToolError> {
    args.get(name)
        .and_then(Value::as_str)
        .ok_or_else(|| ToolError::InvalidArguments(format!("`{name}` (a string) is required")))
}

pub use crate::protocol::ops::{KubectlArgs, PsqlArgs};
