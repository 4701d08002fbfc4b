//! The demo environment: tools that read an incident bundle and a `kubectl` and `psql`
//! that act on the bundle's simulated state instead of a real cluster and database.
//!
//! Everything here is honest about being simulated: outputs say `demo environment`, and
//! anything the simulation can't answer is an error that says so. Risk is classified by
//! the same code the real tools use (`kubectl_risk`, `sql_risk`), so the gate behaves
//! exactly as it would against production.

use super::telemetry::{BundleTelemetry, digest_tools};
use super::{
    CallPreview, CredentialSpec, KubectlArgs, PsqlArgs, Registry, Secret, ToolError, ToolOutput,
    ToolSpec, TypedTool, kubectl_risk, parse_args, schema_of, sql_risk, str_arg, typed,
};
use crate::bundle::Bundle;
use crate::event::Risk;
use crate::knowledge::KnowledgeBase;
use futures::future::BoxFuture;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

/// What the simulated kubectl and psql have changed so far.
#[derive(Debug, Default)]
struct Sim {
    /// Index into each deployment's history of the version running now.
    running: HashMap<String, usize>,
    replicas: HashMap<String, u32>,
    /// Leaked sessions were terminated while this version was running.
    terminated_under: Option<String>,
}

pub struct DemoEnv {
    pub bundle: Bundle,
    knowledge: Arc<KnowledgeBase>,
    sim: Mutex<Sim>,
}

impl DemoEnv {
    pub fn new(bundle: Bundle) -> Arc<DemoEnv> {
        let bundle = bundle.sanitized();
        let mut sim = Sim::default();
        for d in &bundle.state.deployments {
            sim.running
                .insert(d.name.clone(), d.history.len().saturating_sub(1));
            sim.replicas.insert(d.name.clone(), d.replicas);
        }
        let knowledge = Arc::new(KnowledgeBase::new(&bundle.runbooks, &bundle.past_incidents));
        Arc::new(DemoEnv {
            bundle,
            knowledge,
            sim: Mutex::new(sim),
        })
    }

    fn sim(&self) -> std::sync::MutexGuard<'_, Sim> {
        self.sim.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn version(&self, sim: &Sim, deployment: &str) -> Option<String> {
        let spec = self
            .bundle
            .state
            .deployments
            .iter()
            .find(|d| d.name == deployment)?;
        spec.history.get(*sim.running.get(deployment)?).cloned()
    }

    /// (application, version) running a release that leaks transactions, if any.
    fn leaking(&self, sim: &Sim) -> Option<(String, String)> {
        self.bundle.state.deployments.iter().find_map(|d| {
            let from = d.leaks_transactions_from.as_ref()?;
            let start = d.history.iter().position(|v| v == from)?;
            let now = *sim.running.get(&d.name)?;
            (now >= start).then(|| (d.name.clone(), d.history[now].clone()))
        })
    }
}

/// Every tool of the demo environment: the digest tools over the bundle's telemetry,
/// and the simulated kubectl and psql.
pub fn demo_registry(env: &Arc<DemoEnv>) -> Registry {
    let source = Arc::new(BundleTelemetry::of(&env.bundle));
    let mut tools = digest_tools(source, env.knowledge.clone());
    tools.push(typed(Kubectl(env.clone())));
    tools.push(typed(Psql(env.clone())));
    Registry::new(tools)
}

pub struct Kubectl(Arc<DemoEnv>);

/// The styles of text table the simulated tools print.
#[derive(Clone, Copy)]
enum TableStyle {
    /// kubectl: columns padded and separated by three spaces.
    Kubectl,
    /// psql's aligned format: ` a | b ` with a `---+---` rule under the header.
    Psql,
}

fn table_in(style: TableStyle, header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &[String]| {
        let padded = cells.iter().zip(&widths);
        let joined = match style {
            TableStyle::Kubectl => padded
                .map(|(c, w)| format!("{c:<w$}"))
                .collect::<Vec<_>>()
                .join("   "),
            TableStyle::Psql => padded
                .map(|(c, w)| format!(" {c:<w$} "))
                .collect::<Vec<_>>()
                .join("|"),
        };
        joined.trim_end().to_string()
    };
    let mut out = vec![line(
        &header.iter().map(|h| h.to_string()).collect::<Vec<_>>(),
    )];
    if let TableStyle::Psql = style {
        out.push(
            widths
                .iter()
                .map(|w| "-".repeat(w + 2))
                .collect::<Vec<_>>()
                .join("+"),
        );
    }
    out.extend(rows.iter().map(|r| line(r)));
    out.join("\n")
}

fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    table_in(TableStyle::Kubectl, header, rows)
}

impl Kubectl {
    fn simulated_dry_run(&self, command: &str) -> Option<String> {
        let words = kubectl_risk::parse(command).ok()?;
        let positionals = kubectl_risk::positionals(&words);
        let env = &self.0;
        let sim = env.sim();
        match positionals.as_slice() {
            ["rollout", "undo", resource] => {
                let name = resource.rsplit('/').next()?;
                let spec = env
                    .bundle
                    .state
                    .deployments
                    .iter()
                    .find(|d| d.name == name)?;
                let now = *sim.running.get(name)?;
                let previous = spec.history.get(now.checked_sub(1)?)?;
                Some(format!(
                    "dry run (demo environment): deployment.apps/{name} image {name}:{} → {name}:{previous}; {} pods replaced",
                    spec.history[now],
                    sim.replicas.get(name).copied().unwrap_or(spec.replicas)
                ))
            }
            ["rollout", "restart", resource] => Some(format!(
                "dry run (demo environment): every pod of {resource} is replaced, one at a time"
            )),
            _ => None,
        }
    }

    fn simulate(&self, command: &str) -> Result<ToolOutput, ToolError> {
        let env = &self.0;
        let words = kubectl_risk::parse(command)?;
        if kubectl_risk::classify(command) == Risk::Unknown {
            return Err(ToolError::Failed(format!(
                "demo environment: `{command}` is not a single kubectl invocation the simulation understands"
            )));
        }
        let namespace =
            kubectl_risk::flag_value(&words, &["-n", "--namespace"]).unwrap_or("default");
        let expected = env.bundle.incident.namespace.as_str();
        let positionals = kubectl_risk::positionals(&words);
        let mut sim = env.sim();
        let deployment_of = |resource: &str| -> Result<String, ToolError> {
            let name = resource
                .strip_prefix("deployment/")
                .or_else(|| resource.strip_prefix("deploy/"))
                .or_else(|| resource.strip_prefix("deployments/"))
                .unwrap_or(resource);
            if namespace != expected {
                return Err(ToolError::Failed(format!(
                    "Error from server (NotFound): deployments.apps \"{name}\" not found in namespace \"{namespace}\" (the demo cluster has namespace \"{expected}\")"
                )));
            }
            env.bundle
                .state
                .deployments
                .iter()
                .any(|d| d.name == name)
                .then(|| name.to_string())
                .ok_or_else(|| {
                    ToolError::Failed(format!(
                        "Error from server (NotFound): deployments.apps \"{name}\" not found"
                    ))
                })
        };
        let text = match positionals.as_slice() {
            ["rollout", "history", resource] => {
                let name = deployment_of(resource)?;
                let spec = env
                    .bundle
                    .state
                    .deployments
                    .iter()
                    .find(|d| d.name == name)
                    .expect("checked");
                let rows: Vec<Vec<String>> = spec
                    .history
                    .iter()
                    .enumerate()
                    .map(|(i, v)| vec![(i + 1).to_string(), format!("image {name}:{v}")])
                    .collect();
                format!(
                    "deployment.apps/{name}\n{}",
                    table(&["REVISION", "CHANGE-CAUSE"], &rows)
                )
            }
            ["rollout", "status", resource] => {
                let name = deployment_of(resource)?;
                let version = env.version(&sim, &name).unwrap_or_default();
                format!("deployment \"{name}\" successfully rolled out (running {name}:{version})")
            }
            ["rollout", "undo", resource] => {
                let name = deployment_of(resource)?;
                let index = sim.running.get_mut(&name).expect("known deployment");
                if *index == 0 {
                    return Err(ToolError::Failed(format!(
                        "error: no rollout history found for deployment \"{name}\""
                    )));
                }
                *index -= 1;
                let version = env.version(&sim, &name).unwrap_or_default();
                format!("deployment.apps/{name} rolled back (now running {name}:{version})")
            }
            ["rollout", "restart", resource] => {
                let name = deployment_of(resource)?;
                if env.leaking(&sim).is_some_and(|(app, _)| app == name) {
                    sim.terminated_under = env.version(&sim, &name);
                }
                format!("deployment.apps/{name} restarted")
            }
            ["scale", resource] => {
                let name = deployment_of(resource)?;
                let replicas: u32 = kubectl_risk::flag_value(&words, &["--replicas"])
                    .and_then(|r| r.parse().ok())
                    .ok_or_else(|| {
                        ToolError::InvalidArguments("scale needs --replicas=N".into())
                    })?;
                sim.replicas.insert(name.clone(), replicas);
                format!("deployment.apps/{name} scaled")
            }
            ["get", "pods" | "pod" | "po", ..] => {
                if namespace != expected {
                    return Ok(plain(
                        format!("No resources found in {namespace} namespace."),
                        "0 pods",
                    ));
                }
                let selector = kubectl_risk::flag_value(&words, &["-l", "--selector"]);
                let app = selector.and_then(|s| s.strip_prefix("app="));
                let mut rows = Vec::new();
                for d in &env.bundle.state.deployments {
                    if app.is_some_and(|a| a != d.name) {
                        continue;
                    }
                    let version = env.version(&sim, &d.name).unwrap_or_default();
                    let replicas = sim.replicas.get(&d.name).copied().unwrap_or(d.replicas);
                    let hash = crate::session::BlobStore::hash(&format!("{}{version}", d.name));
                    let hash = &hash[..8];
                    for i in 0..replicas {
                        rows.push(vec![
                            format!(
                                "{}-{hash}-{}",
                                d.name,
                                ["x2lmq", "b7k4n", "p9wzr", "c3dfv", "m8hqs", "t5jnk"]
                                    [i as usize % 6]
                            ),
                            "1/1".into(),
                            "Running".into(),
                            "0".into(),
                            format!("{}:{version}", d.name),
                        ]);
                    }
                }
                table(&["NAME", "READY", "STATUS", "RESTARTS", "IMAGE"], &rows)
            }
            ["get", "deployments" | "deployment" | "deploy", ..] => {
                let rows: Vec<Vec<String>> = env
                    .bundle
                    .state
                    .deployments
                    .iter()
                    .map(|d| {
                        let replicas = sim.replicas.get(&d.name).copied().unwrap_or(d.replicas);
                        vec![
                            d.name.clone(),
                            format!("{replicas}/{replicas}"),
                            format!(
                                "{}:{}",
                                d.name,
                                env.version(&sim, &d.name).unwrap_or_default()
                            ),
                        ]
                    })
                    .collect();
                table(&["NAME", "READY", "IMAGE"], &rows)
            }
            ["logs", resource, ..] => {
                let name = resource
                    .trim_start_matches("deployment/")
                    .trim_start_matches("deploy/");
                let tail: usize = kubectl_risk::flag_value(&words, &["--tail"])
                    .and_then(|t| t.parse().ok())
                    .unwrap_or(50);
                // Streamed: a bundle's log file is never held, only the tail kept.
                let source = env.bundle.log_source();
                let total = source.count(Some(name));
                let lines: Vec<String> = source
                    .tail(name, tail)
                    .map_err(|e| ToolError::Failed(e.to_string()))?
                    .iter()
                    .map(|l| {
                        format!(
                            "{} {} {}",
                            l.ts.format("%Y-%m-%dT%H:%M:%S%.3fZ"),
                            l.level,
                            l.message
                        )
                    })
                    .collect();
                return Ok(ToolOutput {
                    text: lines.join("\n"),
                    language: "log",
                    digest: format!("{} of {total} lines", lines.len()),
                    raw: None,
                    display: None,
                });
            }
            _ => {
                return Err(ToolError::Failed(format!(
                    "demo environment: `kubectl {}` is not simulated (try get pods, get deployments, logs, rollout history/status/undo/restart, scale)",
                    positionals.join(" ")
                )));
            }
        };
        Ok(plain(text, "demo environment"))
    }
}

fn plain(text: String, digest: &str) -> ToolOutput {
    ToolOutput {
        text,
        language: "shell",
        digest: digest.to_string(),
        raw: None,
        display: None,
    }
}

impl TypedTool for Kubectl {
    type Args = KubectlArgs;

    fn spec(&self) -> ToolSpec {
        ToolSpec {
            name: "kubectl".into(),
            description: "Run one kubectl command against the cluster. Read-only verbs run at once; anything that changes the cluster waits for the engineer's approval.".into(),
            parameters: schema_of::<KubectlArgs>(),
        }
    }

    fn parse(&self, args: &Value) -> Result<KubectlArgs, ToolError> {
        parse_args(args)
    }

    fn classify(&self, args: &KubectlArgs) -> Risk {
        kubectl_risk::classify(&args.command)
    }

    fn preview(&self, args: &KubectlArgs) -> CallPreview {
        CallPreview {
            command: args.command.clone(),
            target: format!(
                "demo cluster, namespace {}",
                self.0.bundle.incident.namespace
            ),
        }
    }

    fn session_scope(&self, args: &KubectlArgs, risk: Risk) -> Option<crate::event::SessionScope> {
        super::scope::kubectl(&args.command, risk)
    }

    fn dry_run<'a>(&'a self, args: &'a KubectlArgs) -> BoxFuture<'a, Option<String>> {
        Box::pin(std::future::ready(self.simulated_dry_run(&args.command)))
    }

    fn args_from_command(&self, command: &str, _original: &Value) -> Result<Value, ToolError> {
        kubectl_risk::parse(command)?;
        Ok(json!({"command": command}))
    }

    fn run<'a>(
        &'a self,
        args: &'a KubectlArgs,
        _: Option<&'a Secret>,
    ) -> BoxFuture<'a, Result<ToolOutput, ToolError>> {
        Box::pin(async move { self.simulate(&args.command) })
    }
}

pub(crate) struct Psql(Arc<DemoEnv>);

impl Psql {
    fn database(&self) -> Option<&crate::bundle::DatabaseSpec> {
        self.0.bundle.state.database.as_ref()
    }

    fn answer(&self, target: &str, query: &str) -> Result<ToolOutput, ToolError> {
        let env = &self.0;
        let db = self.database().ok_or_else(|| {
            ToolError::Failed("demo environment: this bundle simulates no database".into())
        })?;
        if target != db.service {
            return Err(ToolError::Failed(format!(
                "could not translate host name \"{target}\" to address (the demo database is \"{}\")",
                db.service
            )));
        }
        let lower = query.to_ascii_lowercase();
        let mut sim = env.sim();
        let leaking = env.leaking(&sim);
        let leaked_now = match &leaking {
            Some((_, version)) if sim.terminated_under.as_ref() == Some(version) => {
                db.leaked_sessions / 5
            }
            Some(_) => db.leaked_sessions,
            None => 0,
        };
        if lower.contains("pg_terminate_backend") {
            if !lower.contains("idle in transaction") {
                return Err(ToolError::Failed("demo environment: only terminating `idle in transaction` sessions is simulated".into()));
            }
            let terminated = leaked_now;
            sim.terminated_under = leaking.map(|(_, v)| v);
            let rows: Vec<Vec<String>> = (0..terminated.min(3))
                .map(|_| vec!["t".to_string()])
                .collect();
            let text = format!(
                "{}\n({terminated} rows)",
                table(&[" pg_terminate_backend"], &rows)
            );
            return Ok(ToolOutput {
                text,
                language: "table",
                digest: format!("{terminated} sessions terminated (demo environment)"),
                raw: None,
                display: None,
            });
        }
        if lower.contains("pg_stat_activity") {
            let mut sessions: Vec<(String, String, u32, String, String)> = db
                .baseline_sessions
                .iter()
                .map(|(app, state, n)| {
                    (
                        app.clone(),
                        state.clone(),
                        *n,
                        "00:00:00.4".into(),
                        if state == "active" {
                            "SELECT …".into()
                        } else {
                            String::new()
                        },
                    )
                })
                .collect();
            if let Some((app, version)) = &leaking
                && leaked_now > 0
            {
                sessions.push((
                    format!("{app}-{version}"),
                    "idle in transaction".into(),
                    leaked_now,
                    "00:03:41".into(),
                    db.leaked_query.clone(),
                ));
            }
            let by_app = lower.contains("application_name");
            let mut grouped: BTreeMap<(String, String), (u32, String, String)> = BTreeMap::new();
            for (app, state, n, age, q) in sessions {
                let key = (if by_app { app } else { String::new() }, state);
                let e = grouped.entry(key).or_insert((0, age.clone(), q.clone()));
                e.0 += n;
                if age > e.1 {
                    e.1 = age;
                    e.2 = q;
                }
            }
            let mut rows: Vec<(u32, Vec<String>)> = grouped
                .into_iter()
                .map(|((app, state), (n, age, q))| {
                    let mut row = if by_app { vec![app] } else { vec![] };
                    row.push(state);
                    row.push(n.to_string());
                    if by_app {
                        row.push(age);
                        row.push(q.chars().take(60).collect());
                    }
                    (n, row)
                })
                .collect();
            rows.sort_by_key(|r| std::cmp::Reverse(r.0));
            let total: u32 = rows.iter().map(|r| r.0).sum();
            let header: &[&str] = if by_app {
                &[
                    "application_name",
                    "state",
                    "sessions",
                    "oldest_xact",
                    "sample_query",
                ]
            } else {
                &["state", "count"]
            };
            let body: Vec<Vec<String>> = rows.into_iter().map(|r| r.1).collect();
            let n = body.len();
            let text = format!("{}\n({n} rows)", psql_table(header, &body));
            let digest = format!(
                "{total} of {} connections in use (demo environment)",
                db.max_connections
            );
            return Ok(ToolOutput {
                text,
                language: "table",
                digest,
                raw: None,
                display: None,
            });
        }
        Err(ToolError::Failed(
            "demo environment: the simulated database answers queries on pg_stat_activity and pg_terminate_backend of idle transactions; connect a real PostgreSQL for anything else".into(),
        ))
    }
}

fn psql_table(header: &[&str], rows: &[Vec<String>]) -> String {
    table_in(TableStyle::Psql, header, rows)
}

impl TypedTool for Psql {
    type Args = PsqlArgs;

    fn spec(&self) -> ToolSpec {
        ToolSpec {
            name: "psql".into(),
            description: "Run SQL on a production database. Needs the engineer to type the password; anything but a plain read also needs approval.".into(),
            parameters: schema_of::<PsqlArgs>(),
        }
    }

    fn parse(&self, args: &Value) -> Result<PsqlArgs, ToolError> {
        parse_args(args)
    }

    fn classify(&self, args: &PsqlArgs) -> Risk {
        match sql_risk::classify(&args.query) {
            Risk::ReadOnly => Risk::NeedsCredentials,
            risk => risk,
        }
    }

    fn credential(&self, args: &PsqlArgs) -> Option<CredentialSpec> {
        let target = &args.target;
        Some(CredentialSpec {
            target: format!("postgres://readonly@{target}:5432"),
            prompt: format!("Password for readonly@{target}"),
        })
    }

    fn preview(&self, args: &PsqlArgs) -> CallPreview {
        CallPreview {
            command: args.query.split_whitespace().collect::<Vec<_>>().join(" "),
            target: format!("postgres {} (demo environment)", args.target),
        }
    }

    fn session_scope(&self, args: &PsqlArgs, risk: Risk) -> Option<crate::event::SessionScope> {
        super::scope::sql("psql", &args.target, &args.query, risk)
    }

    fn args_from_command(&self, command: &str, original: &Value) -> Result<Value, ToolError> {
        let target = str_arg(original, "target")?;
        Ok(json!({"target": target, "query": command}))
    }

    fn run<'a>(
        &'a self,
        args: &'a PsqlArgs,
        secret: Option<&'a Secret>,
    ) -> BoxFuture<'a, Result<ToolOutput, ToolError>> {
        Box::pin(async move {
            let (target, query) = (args.target.as_str(), args.query.as_str());
            match secret {
                None => return Err(ToolError::MissingCredential),
                Some(s) if s.expose().is_empty() => {
                    return Err(ToolError::Failed(format!(
                        "FATAL: password authentication failed for user \"readonly\" on {target} (empty password)"
                    )));
                }
                Some(_) => {}
            }
            self.answer(target, query)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env() -> Arc<DemoEnv> {
        DemoEnv::new(Bundle::demo())
    }

    #[tokio::test]
    async fn ranking_puts_the_fault_path_first_and_the_red_herring_last() {
        let env = env();
        let source = Arc::new(BundleTelemetry::of(&env.bundle));
        let out = typed(super::super::telemetry::MetricsRank(source))
            .run(&json!({}), None)
            .await
            .unwrap();
        let value: Value = serde_json::from_str(&out.text).unwrap();
        let changed: Vec<&str> = value["changed"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["service"].as_str().unwrap())
            .collect();
        assert!(
            changed.contains(&"payments") && changed.contains(&"orders-db"),
            "{changed:?}"
        );
        assert!(!changed.contains(&"catalog"), "{changed:?}");
        assert!(
            value["onset"]
                .as_str()
                .unwrap()
                .starts_with("2026-11-24T02:0")
        );
    }

    #[tokio::test]
    async fn rollback_changes_the_simulated_database() {
        let env = env();
        let psql = typed(Psql(env.clone()));
        let secret = Secret::new("pw".into());
        let q = json!({"target": "orders-db", "query": "select application_name, state, count(*) from pg_stat_activity group by 1, 2"});
        let before = psql.run(&q, Some(&secret)).await.unwrap();
        assert!(
            before.text.contains("idle in transaction"),
            "{}",
            before.text
        );
        let undo = json!({"command": "kubectl rollout undo deployment/payments -n shop"});
        assert!(
            typed(Kubectl(env.clone()))
                .dry_run(&undo)
                .await
                .unwrap()
                .contains("2.14.0 → payments:2.13.4")
        );
        typed(Kubectl(env.clone())).run(&undo, None).await.unwrap();
        let after = psql.run(&q, Some(&secret)).await.unwrap();
        assert!(
            !after.text.contains("idle in transaction"),
            "{}",
            after.text
        );
    }

    #[tokio::test]
    async fn psql_without_a_password_fails_and_wrong_namespace_is_not_found() {
        let env = env();
        let q = json!({"target": "orders-db", "query": "select 1 from pg_stat_activity"});
        assert_eq!(
            typed(Psql(env.clone())).run(&q, None).await.unwrap_err(),
            ToolError::MissingCredential
        );
        let err = typed(Kubectl(env))
            .run(
                &json!({"command": "kubectl rollout undo deployment/payments -n prod"}),
                None,
            )
            .await
            .unwrap_err();
        assert!(err.to_string().contains("not found in namespace \"prod\""));
    }

    #[test]
    fn derived_schemas_are_valid_and_strict() {
        let registry = demo_registry(&env());
        for spec in registry.specs() {
            jsonschema::validator_for(&spec.parameters)
                .unwrap_or_else(|e| panic!("{}: {e}", spec.name));
            assert_eq!(
                spec.parameters["additionalProperties"],
                json!(false),
                "{}",
                spec.name
            );
        }
        let digest = registry.get("logs_digest").unwrap().spec().parameters;
        assert_eq!(
            digest["properties"]["level"]["enum"],
            json!(["INFO", "WARN", "ERROR", null]),
            "optional: null allowed"
        );
        assert!(
            digest.get("$defs").is_none(),
            "enums are inlined for servers that can't follow $ref"
        );
        let psql = registry.get("psql").unwrap().spec().parameters;
        assert_eq!(psql["required"], json!(["target", "query"]));
        assert_eq!(
            psql["properties"]["target"]["description"],
            "The database service name, e.g. orders-db."
        );
    }

    #[test]
    fn risk_comes_from_the_arguments() {
        let env = env();
        let psql = typed(Psql(env.clone()));
        assert_eq!(
            psql.classify(&json!({"target": "orders-db", "query": "select 1"})),
            Risk::NeedsCredentials
        );
        assert_eq!(
            psql.classify(&json!({"target": "orders-db", "query": "select 1; drop table x"})),
            Risk::Destructive
        );
        let kubectl = typed(Kubectl(env));
        assert_eq!(
            kubectl.classify(&json!({"command": "kubectl get pods; kubectl delete ns prod"})),
            Risk::Unknown
        );
        assert_eq!(
            kubectl.classify(&json!({"cmd": "kubectl get pods"})),
            Risk::Unknown
        );
    }
}
