//! Tools: what the agent can do, and how risky each call is.
//!
//! A tool is written as a [`TypedTool`]: a name, a JSON schema for its arguments, a
//! typed value they are parsed into once per call, and — the part that matters for
//! safety — [`TypedTool::classify`], which decides the call's [`Risk`] from that parsed
//! value. The engine holds tools as [`Tool`]s and works on one prepared [`Call`] per
//! call: the gate, the approval overlay, the session scope, the credential prompt and
//! the run all read the same parsed arguments. The brain never says what is safe; the
//! engine's gate asks the tool. A tool that needs a secret says so in
//! [`TypedTool::credential`]; the secret is handed to `run` for that one call and never
//! appears in an event.

// The crates this one stands on, under the names its modules use (`crate::event`, …).
use hunch_analysis as analysis;
use hunch_bundle as bundle;
use hunch_knowledge as knowledge;
use hunch_protocol as protocol;
use hunch_protocol::{event, sanitize, text};
use hunch_session as session;

pub mod demo;
pub mod kubectl_risk;
pub mod live;
mod logs_fold;
pub mod replay;
pub mod scope;
mod shell_risk;
pub mod sql_risk;
mod telemetry;
mod traces;

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
    /// What a person reads, when it differs from `text` (a typed JSON report shown as a
    /// compact table and waterfall): the screen's preview is made from it, and `text`
    /// goes whole to the blob store for the brains.
    pub display: Option<String>,
}

#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum ToolError {
    #[error("invalid arguments: {0}")]
    InvalidArguments(String),
    #[error("{0}")]
    Failed(String),
    #[error("needs a credential and none was supplied")]
    MissingCredential,
}

/// A tool as it is written: a call's arguments are parsed once into [`TypedTool::Args`],
/// and everything about the call — its risk, preview, session scope, credential, dry run
/// and run — reads that value. [`typed`] makes it a [`Tool`] for the registry.
pub trait TypedTool: Send + Sync + 'static {
    type Args: Send + Sync;

    fn spec(&self) -> ToolSpec;

    /// The arguments as this tool's type; an error says what was wrong with them.
    fn parse(&self, args: &Value) -> Result<Self::Args, ToolError>;

    /// The risk of this call, from its actual arguments.
    fn classify(&self, args: &Self::Args) -> Risk;

    /// Whether this call needs a secret typed by the engineer.
    fn credential(&self, _args: &Self::Args) -> Option<CredentialSpec> {
        None
    }

    fn preview(&self, args: &Self::Args) -> CallPreview;

    /// What "approve for the rest of the session" covers for this call of risk `risk`,
    /// built from the parsed arguments (see [`scope`]); none when no approval may cover
    /// it.
    fn session_scope(&self, args: &Self::Args, risk: Risk) -> Option<SessionScope>;

    /// A preview of the effect of a risky call (a dry run, a diff), when one can be made
    /// without side effects.
    fn dry_run<'a>(&'a self, _args: &'a Self::Args) -> BoxFuture<'a, Option<String>> {
        Box::pin(std::future::ready(None))
    }

    /// Turn an edited command line back into arguments (for "edit, then approve").
    fn args_from_command(&self, command: &str, original: &Value) -> Result<Value, ToolError>;

    fn run<'a>(
        &'a self,
        args: &'a Self::Args,
        secret: Option<&'a Secret>,
    ) -> BoxFuture<'a, Result<ToolOutput, ToolError>>;
}

/// One call whose arguments its tool has parsed: what the gate, the screens and the run
/// read, so the arguments are never parsed again.
pub trait Call: Send + Sync {
    fn risk(&self) -> Risk;
    fn credential(&self) -> Option<CredentialSpec>;
    fn preview(&self) -> CallPreview;
    fn session_scope(&self, risk: Risk) -> Option<SessionScope>;
    fn dry_run(&self) -> BoxFuture<'_, Option<String>>;
    fn run<'a>(
        &'a self,
        secret: Option<&'a Secret>,
    ) -> BoxFuture<'a, Result<ToolOutput, ToolError>>;
}

/// A tool as the engine holds it: its spec, and calls prepared from JSON arguments.
pub trait Tool: Send + Sync {
    fn spec(&self) -> ToolSpec;

    /// Parse a call's arguments, once.
    fn prepare<'a>(&'a self, args: &Value) -> Result<Box<dyn Call + 'a>, ToolError>;

    /// Turn an edited command line back into arguments (for "edit, then approve").
    fn args_from_command(&self, command: &str, original: &Value) -> Result<Value, ToolError>;
}

/// A [`TypedTool`] as a [`Tool`].
pub(crate) struct Typed<T>(pub T);

/// A typed tool for the registry.
pub fn typed<T: TypedTool>(tool: T) -> Arc<dyn Tool> {
    Arc::new(Typed(tool))
}

struct Prepared<'a, T: TypedTool> {
    tool: &'a T,
    args: T::Args,
}

impl<T: TypedTool> Call for Prepared<'_, T> {
    fn risk(&self) -> Risk {
        self.tool.classify(&self.args)
    }
    fn credential(&self) -> Option<CredentialSpec> {
        self.tool.credential(&self.args)
    }
    fn preview(&self) -> CallPreview {
        self.tool.preview(&self.args)
    }
    fn session_scope(&self, risk: Risk) -> Option<SessionScope> {
        self.tool.session_scope(&self.args, risk)
    }
    fn dry_run(&self) -> BoxFuture<'_, Option<String>> {
        self.tool.dry_run(&self.args)
    }
    fn run<'a>(
        &'a self,
        secret: Option<&'a Secret>,
    ) -> BoxFuture<'a, Result<ToolOutput, ToolError>> {
        self.tool.run(&self.args, secret)
    }
}

impl<T: TypedTool> Tool for Typed<T> {
    fn spec(&self) -> ToolSpec {
        self.0.spec()
    }
    fn prepare<'a>(&'a self, args: &Value) -> Result<Box<dyn Call + 'a>, ToolError> {
        let args = self.0.parse(args)?;
        Ok(Box::new(Prepared {
            tool: &self.0,
            args,
        }))
    }
    fn args_from_command(&self, command: &str, original: &Value) -> Result<Value, ToolError> {
        self.0.args_from_command(command, original)
    }
}

/// One-shot uses from JSON arguments (the CLI, tests): each prepares the call.
impl dyn Tool + '_ {
    /// The call's risk; `unknown` when its arguments don't parse.
    pub fn classify(&self, args: &Value) -> Risk {
        self.prepare(args).map_or(Risk::Unknown, |call| call.risk())
    }
    pub fn preview(&self, args: &Value) -> Result<CallPreview, ToolError> {
        Ok(self.prepare(args)?.preview())
    }
    pub fn credential(&self, args: &Value) -> Option<CredentialSpec> {
        self.prepare(args).ok()?.credential()
    }
    pub async fn dry_run(&self, args: &Value) -> Option<String> {
        self.prepare(args).ok()?.dry_run().await
    }
    pub async fn run(
        &self,
        args: &Value,
        secret: Option<&Secret>,
    ) -> Result<ToolOutput, ToolError> {
        self.prepare(args)?.run(secret).await
    }
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
pub(crate) fn parse_args<T: serde::de::DeserializeOwned>(args: &Value) -> Result<T, ToolError> {
    serde_json::from_value(args.clone()).map_err(|e| ToolError::InvalidArguments(e.to_string()))
}

/// Read a required string argument.
pub(crate) fn str_arg<'a>(args: &'a Value, name: &str) -> Result<&'a str, ToolError> {
    args.get(name)
        .and_then(Value::as_str)
        .ok_or_else(|| ToolError::InvalidArguments(format!("`{name}` (a string) is required")))
}

pub use crate::protocol::ops::{KubectlArgs, PsqlArgs};
