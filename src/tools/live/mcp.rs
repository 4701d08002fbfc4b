//! Tools from MCP servers, through the official Rust SDK `rmcp`: a child process
//! speaking stdio, or a streamable-HTTP endpoint.
//!
//! Each server tool becomes a hunch tool named `<server>__<tool>`. The MCP specification
//! says tool annotations are hints that clients must not trust from untrusted servers, so
//! risk comes from the configuration first: tools of a server not marked `trusted` are
//! destructive whatever they claim and always wait for approval. A trusted server's
//! `readOnlyHint: true` lets a tool run at once; its other tools ask too.

use super::super::{CallPreview, Secret, Tool, ToolError, ToolOutput, ToolSpec, TypedTool};
use crate::event::Risk;
use futures::future::BoxFuture;
use rmcp::model::{CallToolRequestParams, Tool as McpToolSpec};
use rmcp::service::RunningService;
use rmcp::transport::{StreamableHttpClientTransport, TokioChildProcess};
use rmcp::{RoleClient, ServiceExt};
use serde::Deserialize;
use serde_json::Value;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

/// One entry of an environment's `mcp = [...]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct McpServerConfig {
    /// The prefix of this server's tool names.
    pub name: String,
    /// A program and its arguments that speak MCP on stdio.
    pub command: Option<Vec<String>>,
    /// A streamable-HTTP MCP endpoint.
    pub url: Option<String>,
    /// Trust this server's tool annotations (`readOnlyHint`); default false.
    #[serde(default)]
    pub trusted: bool,
}

type Client = RunningService<RoleClient, ()>;

/// Start or reach a server and list its tools.
pub async fn connect(
    server: &McpServerConfig,
    timeout: Duration,
) -> Result<Vec<Arc<dyn Tool>>, ToolError> {
    let failed = |what: &str, e: &dyn std::fmt::Display| ToolError::Failed(format!("{what}: {e}"));
    let handshake = async {
        match (&server.command, &server.url) {
            (Some(command), None) => {
                let (program, args) = command
                    .split_first()
                    .ok_or_else(|| ToolError::InvalidArguments("`command` is empty".into()))?;
                let mut child = tokio::process::Command::new(program);
                child.args(args);
                // The server's stderr would land on the terminal the TUI draws on.
                let (transport, _) = TokioChildProcess::builder(child)
                    .stderr(Stdio::null())
                    .spawn()
                    .map_err(|e| failed(&format!("starting `{program}`"), &e))?;
                ().serve(transport)
                    .await
                    .map_err(|e| failed("the MCP handshake failed", &e))
            }
            (None, Some(url)) => {
                // rmcp's HTTP client is reqwest 0.13 built without a TLS backend; give it
                // the ring provider the rest of hunch already uses (a no-op the second time).
                let _ = rustls::crypto::ring::default_provider().install_default();
                let transport = StreamableHttpClientTransport::from_uri(url.as_str());
                ().serve(transport)
                    .await
                    .map_err(|e| failed(&format!("the MCP handshake with {url} failed"), &e))
            }
            _ => Err(ToolError::InvalidArguments(
                "give exactly one of `command` (stdio) or `url` (streamable HTTP)".into(),
            )),
        }
    };
    let client: Client = tokio::time::timeout(timeout, handshake)
        .await
        .map_err(|_| {
            ToolError::Failed(format!("no MCP handshake within {}s", timeout.as_secs()))
        })??;
    let client = Arc::new(client);
    let tools = tokio::time::timeout(timeout, client.list_all_tools())
        .await
        .map_err(|_| ToolError::Failed("tools/list timed out".into()))?
        .map_err(|e| failed("tools/list failed", &e))?;
    Ok(tools
        .into_iter()
        .map(|tool| {
            super::super::typed(McpTool {
                client: client.clone(),
                server: server.name.clone(),
                trusted: server.trusted,
                tool,
                timeout,
            })
        })
        .collect())
}

pub(crate) struct McpTool {
    client: Arc<Client>,
    server: String,
    trusted: bool,
    tool: McpToolSpec,
    timeout: Duration,
}

impl McpTool {
    fn name(&self) -> String {
        let clean = |s: &str| -> String {
            s.chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || c == '-' {
                        c
                    } else {
                        '_'
                    }
                })
                .collect()
        };
        format!("{}__{}", clean(&self.server), clean(&self.tool.name))
    }
}

impl TypedTool for McpTool {
    /// The server's own arguments: a JSON object, checked against the schema it gave.
    type Args = serde_json::Map<String, Value>;

    fn spec(&self) -> ToolSpec {
        let mut parameters = Value::Object((*self.tool.input_schema).clone());
        if parameters.get("type").is_none() {
            parameters["type"] = "object".into();
        }
        ToolSpec {
            name: self.name(),
            description: format!(
                "[MCP server {}{}] {}",
                self.server,
                if self.trusted {
                    ""
                } else {
                    ", untrusted: every call asks"
                },
                self.tool
                    .description
                    .as_deref()
                    .unwrap_or("(no description)")
            ),
            parameters,
        }
    }

    fn parse(&self, args: &Value) -> Result<Self::Args, ToolError> {
        args.as_object().cloned().ok_or_else(|| {
            ToolError::InvalidArguments("the arguments must be a JSON object".into())
        })
    }

    fn classify(&self, _args: &Self::Args) -> Risk {
        let read_only_hint = self
            .tool
            .annotations
            .as_ref()
            .and_then(|a| a.read_only_hint)
            .unwrap_or(false);
        if self.trusted && read_only_hint {
            Risk::ReadOnly
        } else if self.trusted {
            Risk::Mutating
        } else {
            Risk::Unknown
        }
    }

    fn preview(&self, args: &Self::Args) -> CallPreview {
        CallPreview {
            command: format!("{} {}", self.name(), Value::Object(args.clone())),
            target: format!(
                "MCP server {}{}",
                self.server,
                if self.trusted { "" } else { " (untrusted)" }
            ),
        }
    }

    fn session_scope(&self, args: &Self::Args, risk: Risk) -> Option<crate::event::SessionScope> {
        super::super::scope::exact(&self.name(), &self.preview(args).command, risk)
    }

    fn args_from_command(&self, command: &str, _original: &Value) -> Result<Value, ToolError> {
        let json = command
            .trim()
            .strip_prefix(&self.name())
            .unwrap_or(command)
            .trim();
        serde_json::from_str(json).map_err(|e| {
            ToolError::InvalidArguments(format!(
                "after the tool name, the arguments must be a JSON object: {e}"
            ))
        })
    }

    fn run<'a>(
        &'a self,
        args: &'a Self::Args,
        _: Option<&'a Secret>,
    ) -> BoxFuture<'a, Result<ToolOutput, ToolError>> {
        Box::pin(async move {
            let mut params = CallToolRequestParams::new(self.tool.name.clone());
            params.arguments = Some(args.clone());
            let result = tokio::time::timeout(self.timeout, self.client.call_tool(params))
                .await
                .map_err(|_| {
                    ToolError::Failed(format!(
                        "MCP server {} did not answer within {}s",
                        self.server,
                        self.timeout.as_secs()
                    ))
                })?
                .map_err(|e| ToolError::Failed(format!("MCP server {}: {e}", self.server)))?;
            let mut text: Vec<String> = result
                .content
                .iter()
                .map(|c| match c.as_text() {
                    Some(t) => t.text.clone(),
                    None => "[non-text content]".to_string(),
                })
                .collect();
            if let Some(structured) = &result.structured_content
                && text.is_empty()
            {
                text.push(serde_json::to_string_pretty(structured).unwrap_or_default());
            }
            let text = text.join("\n");
            if result.is_error == Some(true) {
                return Err(ToolError::Failed(format!(
                    "{} reported an error: {}",
                    self.name(),
                    text.chars().take(500).collect::<String>()
                )));
            }
            Ok(ToolOutput {
                digest: format!(
                    "{} lines from MCP server {}",
                    text.lines().count(),
                    self.server
                ),
                text,
                language: "log",
                raw: None,
                display: None,
            })
        })
    }
}
