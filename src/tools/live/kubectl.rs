//! The live `kubectl`: the real binary, pinned to the environment's context.
//!
//! The command is split with shell-words and run without a shell, so `;`, pipes and
//! substitutions are never interpreted (and make the call unknown in
//! [`kubectl_risk`](super::super::kubectl_risk)). The environment decides the cluster:
//! a command naming another context, kubeconfig, server or token, or impersonating
//! someone, is refused. For risky verbs that support it, the approval overlay shows what
//! `--dry-run=server` says the change would do; for the others it says that no dry run
//! was made.
//!
//! The argv is built in one place ([`Kubectl::argv`]): the pinned `--context` goes before
//! the verb and `--dry-run=server` before any `--`, where kubectl reads them — after `--`
//! they would be the pod's command, and the call would go to the kubeconfig's current
//! context for real. Without a kube context or kubeconfig in the environment there is no
//! kubectl tool at all (see [`super::connect`]).

use super::super::{
    CallPreview, KubectlArgs, Secret, ToolError, ToolOutput, ToolSpec, TypedTool, kubectl_risk,
    parse_args, schema_of,
};
use super::EnvironmentConfig;
use super::shell::run_capped;
use crate::event::{Risk, SessionScope};
use futures::future::BoxFuture;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::time::Duration;
use tokio::process::Command;

/// Flags that would point kubectl somewhere the environment didn't choose, or present
/// another identity, or trust another server; and flags that write files on this
/// machine (a profile, a cache, a dump) whatever the verb. Read in every spelling kubectl
/// reads (`-s x`, `-shttps://…`, `-As…`, `--server=…`).
const CLUSTER_FLAGS: &[&str] = &[
    "--context",
    "--kubeconfig",
    "--server",
    "-s",
    "--token",
    "--as",
    "--as-group",
    "--as-uid",
    "--cluster",
    "--user",
    "--username",
    "--password",
    "--certificate-authority",
    "--client-certificate",
    "--client-key",
    "--tls-server-name",
    "--insecure-skip-tls-verify",
    "--profile",
    "--profile-output",
    "--cache-dir",
    "--output-directory",
];

/// Mutating verbs whose effect `--dry-run=server` can show.
const DRY_RUNNABLE: &[&str] = &[
    "run",
    "apply",
    "create",
    "delete",
    "patch",
    "replace",
    "scale",
    "set",
    "label",
    "annotate",
    "rollout",
    "cordon",
    "uncordon",
    "drain",
    "taint",
    "autoscale",
    "expose",
];

pub(super) struct Kubectl {
    binary: PathBuf,
    context: Option<String>,
    kubeconfig: Option<PathBuf>,
    timeout: Duration,
}

impl Kubectl {
    pub(super) fn new(config: &EnvironmentConfig, timeout: Duration) -> Kubectl {
        Kubectl {
            binary: config
                .kubectl
                .clone()
                .unwrap_or_else(|| PathBuf::from("kubectl")),
            context: config.kube_context.clone(),
            kubeconfig: config.kubeconfig.clone(),
            timeout,
        }
    }

    /// The words after `kubectl`, checked against the environment's pinning.
    fn words(&self, command: &str) -> Result<Vec<String>, ToolError> {
        let words = kubectl_risk::parse(command)?;
        if let Some(flag) = kubectl_risk::scan(&words)
            .flags
            .into_iter()
            .find(|(name, _)| CLUSTER_FLAGS.contains(&name.as_str()))
            .map(|(name, value)| match value {
                Some(value) => format!("{name}={value}"),
                None => name,
            })
        {
            return Err(ToolError::InvalidArguments(format!(
                "`{flag}` is not allowed: the environment decides the cluster and the identity{}",
                self.context
                    .as_deref()
                    .map(|c| format!(" (context {c})"))
                    .unwrap_or_default()
            )));
        }
        Ok(words)
    }

    /// The argv after the binary: the pinned context first (a global flag, before the
    /// verb), then the call's words, with `extra` flags (the dry run) before any `--`.
    pub(super) fn argv(&self, words: &[String], extra: &[&str]) -> Vec<String> {
        let mut argv = Vec::with_capacity(words.len() + extra.len() + 2);
        if let Some(context) = &self.context {
            argv.extend(["--context".to_string(), context.clone()]);
        }
        let (kubectl_words, pod_command) = kubectl_risk::split_command(words);
        argv.extend(kubectl_words.iter().cloned());
        argv.extend(extra.iter().map(|e| e.to_string()));
        if words.len() > kubectl_words.len() {
            argv.push("--".into());
            argv.extend(pod_command.iter().cloned());
        }
        argv
    }

    fn command(&self, words: &[String], extra: &[&str]) -> Command {
        let mut command = Command::new(&self.binary);
        command.args(self.argv(words, extra));
        if let Some(kubeconfig) = &self.kubeconfig {
            command.env("KUBECONFIG", kubeconfig);
        }
        command
    }

    fn target(&self) -> String {
        match &self.context {
            Some(c) => format!("kube context {c}"),
            None => "kubectl's current context".into(),
        }
    }
}

/// A kubectl call as parsed once: the command line, and its words or why they can't
/// run here (shell syntax, a flag that would leave the pinned cluster).
pub(super) struct KubectlCall {
    command: String,
    words: Result<Vec<String>, ToolError>,
}

impl TypedTool for Kubectl {
    type Args = KubectlCall;

    fn spec(&self) -> ToolSpec {
        ToolSpec {
            name: "kubectl".into(),
            description: format!(
                "Run one kubectl command against {}. Read-only verbs (get, describe, logs, events, top, rollout history/status, auth can-i) run at once; anything that changes the cluster waits for the engineer's approval. No shell: one kubectl invocation.",
                self.target()
            ),
            parameters: schema_of::<KubectlArgs>(),
        }
    }

    fn parse(&self, args: &Value) -> Result<KubectlCall, ToolError> {
        let KubectlArgs { command } = parse_args(args)?;
        let words = self.words(&command);
        Ok(KubectlCall { command, words })
    }

    fn classify(&self, args: &KubectlCall) -> Risk {
        match &args.words {
            Ok(_) => kubectl_risk::classify(&args.command),
            Err(_) => Risk::Unknown,
        }
    }

    fn preview(&self, args: &KubectlCall) -> CallPreview {
        CallPreview {
            command: args.command.clone(),
            target: self.target(),
        }
    }

    fn session_scope(&self, args: &KubectlCall, risk: Risk) -> Option<SessionScope> {
        crate::scope::kubectl(&args.command, risk)
    }

    fn dry_run<'a>(&'a self, args: &'a KubectlCall) -> BoxFuture<'a, Option<String>> {
        Box::pin(async move {
            let words = args.words.as_ref().ok()?;
            let verb = *kubectl_risk::positionals(words).first()?;
            let risk = kubectl_risk::classify(&args.command);
            if !matches!(risk, Risk::Mutating | Risk::Destructive) {
                return None;
            }
            let (kubectl_words, _) = kubectl_risk::split_command(words);
            if !DRY_RUNNABLE.contains(&verb) {
                return Some(format!(
                    "no dry run: `kubectl {verb}` has none, and nothing runs before you decide"
                ));
            }
            if kubectl_words.iter().any(|w| w.starts_with("--dry-run")) {
                return Some(
                    "no dry run: the command sets --dry-run itself, and nothing runs before you decide"
                        .into(),
                );
            }
            let timeout = self.timeout.min(Duration::from_secs(15));
            Some(
                match run_capped(
                    self.command(words, &["--dry-run=server"]),
                    "kubectl",
                    timeout,
                )
                .await
                {
                    Ok(c) if c.success => format!("kubectl --dry-run=server: {}", c.stdout.trim()),
                    Ok(c) => format!("dry run failed: {}", c.stderr.trim()),
                    Err(e) => format!("dry run failed: {e}"),
                },
            )
        })
    }

    fn args_from_command(&self, command: &str, _original: &Value) -> Result<Value, ToolError> {
        self.words(command)?;
        Ok(json!({ "command": command }))
    }

    fn run<'a>(
        &'a self,
        args: &'a KubectlCall,
        _: Option<&'a Secret>,
    ) -> BoxFuture<'a, Result<ToolOutput, ToolError>> {
        Box::pin(async move {
            let words = args.words.clone()?;
            let captured = run_capped(self.command(&words, &[]), "kubectl", self.timeout).await?;
            if !captured.success {
                return Err(ToolError::Failed(format!(
                    "kubectl exited with {}: {}",
                    captured
                        .code
                        .map(|c| c.to_string())
                        .unwrap_or_else(|| "a signal".into()),
                    captured.stderr.trim()
                )));
            }
            let lines = captured.stdout.lines().count();
            let yaml = kubectl_risk::split_command(&words)
                .0
                .iter()
                .any(|w| w == "yaml" || w == "-oyaml" || w == "--output=yaml");
            Ok(ToolOutput {
                digest: format!("{lines} lines"),
                text: captured.stdout,
                language: if yaml { "yaml" } else { "log" },
                raw: None,
                display: None,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_environment_pins_the_cluster() {
        let config = EnvironmentConfig {
            kube_context: Some("prod-eu".into()),
            ..EnvironmentConfig::default()
        };
        let kubectl = crate::typed(Kubectl::new(&config, Duration::from_secs(5)));
        let other = json!({"command": "kubectl --context dev delete ns shop"});
        assert_eq!(kubectl.classify(&other), Risk::Unknown);
        let err = kubectl
            .args_from_command("kubectl get pods --as=admin", &json!({}))
            .unwrap_err();
        assert!(err.to_string().contains("--as=admin"), "{err}");
        assert_eq!(
            kubectl.classify(&json!({"command": "kubectl get pods -n shop"})),
            Risk::ReadOnly
        );
        assert_eq!(
            kubectl.preview(&other).unwrap().target,
            "kube context prod-eu"
        );
    }

    fn words(command: &str) -> Vec<String> {
        kubectl_risk::parse(command).unwrap()
    }

    #[test]
    fn pinned_flags_go_where_kubectl_reads_them() {
        let config = EnvironmentConfig {
            kube_context: Some("staging".into()),
            ..EnvironmentConfig::default()
        };
        let kubectl = Kubectl::new(&config, Duration::from_secs(5));
        let job = words("kubectl create job probe --image=busybox -n shop -- echo hi");
        assert_eq!(
            kubectl.argv(&job, &["--dry-run=server"]),
            [
                "--context",
                "staging",
                "create",
                "job",
                "probe",
                "--image=busybox",
                "-n",
                "shop",
                "--dry-run=server",
                "--",
                "echo",
                "hi"
            ]
        );
        let trailing = words("kubectl get pods -n shop --");
        assert_eq!(
            kubectl.argv(&trailing, &[]),
            ["--context", "staging", "get", "pods", "-n", "shop", "--"]
        );
        let curl = words("kubectl exec web-0 -n shop -- curl -s http://localhost/healthz");
        assert!(
            kubectl
                .words("kubectl exec web-0 -n shop -- curl -s http://x")
                .is_ok()
        );
        assert_eq!(&kubectl.argv(&curl, &[])[..2], ["--context", "staging"]);
    }
}
