//! Session scopes: what "approve for the rest of the session" and a `[[trusted]]` rule
//! cover, built from a call's parsed arguments by the same parsers that classify it.
//!
//! A scope is never a text prefix. SQL is covered by statement shape
//! ([`sql_risk::shape`]), kubectl by verb, resource, names, namespace and targeting flags
//! ([`kubectl_risk::shape`]), and anything else only by the identical command line. A
//! call that has no shape (several statements, shell syntax in a kubectl line) or whose
//! risk is unknown gets no scope at all: no approval can cover it, so it always asks.

use super::{kubectl_risk, shell_risk, sql_risk};
use crate::event::{CallShape, Risk, SessionScope};
use serde::Deserialize;

fn scoped(tool: &str, shape: CallShape, risk: Risk) -> Option<SessionScope> {
    risk.may_be_covered().then(|| SessionScope {
        tool: tool.into(),
        shape,
        risk,
    })
}

/// The scope of one SQL statement on `target`.
pub fn sql(tool: &str, target: &str, query: &str, risk: Risk) -> Option<SessionScope> {
    let shape = sql_risk::shape(query)?;
    scoped(
        tool,
        CallShape::Sql {
            target: target.into(),
            statement: shape.statement,
            writes: shape.writes,
            functions: shape.functions,
            tables: shape.tables,
            skeleton: shape.skeleton,
        },
        risk,
    )
}

/// The scope of one kubectl invocation.
pub fn kubectl(command: &str, risk: Risk) -> Option<SessionScope> {
    let shape = kubectl_risk::shape(command)?;
    scoped(
        "kubectl",
        CallShape::Kubectl {
            verb: shape.verb,
            resource: shape.resource,
            names: shape.names,
            namespace: shape.namespace,
            flags: shape.flags,
            command: shape.command,
        },
        risk,
    )
}

/// The scope of exactly this command line.
pub fn exact(tool: &str, command: &str, risk: Risk) -> Option<SessionScope> {
    let command = command.trim();
    if command.is_empty() {
        return None;
    }
    scoped(
        tool,
        CallShape::Exact {
            command: command.into(),
        },
        risk,
    )
}

/// A `[[trusted]]` rule as written in config.toml: an example call of a tool in one
/// environment; the rule covers calls of the same shape and no higher risk there, and
/// nowhere else (a rule written for the lab never runs anything in prod).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TrustedRule {
    /// The environment the rule holds in: an `[environments.NAME]`, or `demo` for the
    /// demo and bundles.
    pub environment: String,
    /// `psql`, `kubectl` or `shell`.
    pub tool: String,
    /// An example call: the SQL, the kubectl command line or the shell line.
    pub call: String,
    /// The database, for `psql` rules.
    #[serde(default)]
    pub target: Option<String>,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum RuleError {
    #[error("`call` is empty: write the example call the rule covers")]
    EmptyCall,
    #[error("a psql rule needs `target` (the database the statement runs on)")]
    MissingTarget,
    #[error("`target` is only for psql rules")]
    UnexpectedTarget,
    #[error(
        "`{0}` can't be trusted: a rule covers exactly one statement or one command whose risk is known (several statements, shell syntax in kubectl and unknown commands always ask)"
    )]
    NoShape(String),
    #[error("tool `{0}` has no trusted rules; use psql, kubectl or shell")]
    UnknownTool(String),
    #[error("`environment` is empty: name the environment the rule holds in")]
    NoEnvironment,
}

impl TrustedRule {
    /// The scope this rule grants.
    pub fn scope(&self) -> Result<SessionScope, RuleError> {
        let call = self.call.trim();
        if call.is_empty() {
            return Err(RuleError::EmptyCall);
        }
        if self.environment.trim().is_empty() {
            return Err(RuleError::NoEnvironment);
        }
        let no_shape = || RuleError::NoShape(call.to_string());
        match (self.tool.as_str(), self.target.as_deref()) {
            ("psql", Some(target)) if !target.trim().is_empty() => {
                sql("psql", target.trim(), call, sql_risk::classify(call)).ok_or_else(no_shape)
            }
            ("psql", _) => Err(RuleError::MissingTarget),
            (_, Some(_)) => Err(RuleError::UnexpectedTarget),
            ("kubectl", None) => kubectl(call, kubectl_risk::classify(call)).ok_or_else(no_shape),
            ("shell", None) => exact("shell", call, shell_risk::classify_on_this_machine(call))
                .ok_or_else(no_shape),
            (other, None) => Err(RuleError::UnknownTool(other.into())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn psql(query: &str) -> Option<SessionScope> {
        sql("psql", "orders-db", query, sql_risk::classify(query))
    }

    fn kube(command: &str) -> Option<SessionScope> {
        kubectl(command, kubectl_risk::classify(command))
    }

    #[test]
    fn sql_scope_ignores_spacing_case_comments_and_literals() {
        let approved =
            psql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE state='idle in transaction'")
                .unwrap();
        for same in [
            "select PG_TERMINATE_BACKEND (pid) from pg_stat_activity where state = 'idle in transaction'",
            "SELECT pg_terminate_backend(pid) /* tidy */ FROM pg_stat_activity -- x\n WHERE state = 'idle in transaction';",
        ] {
            assert!(approved.covers(&psql(same).unwrap()), "{same}");
        }
        // A statement that ends backends keeps its literals: they choose which.
        let other =
            psql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE state = 'active'");
        assert!(!approved.covers(&other.unwrap()));
        // Elsewhere literal values are free.
        let update = psql("UPDATE orders SET status = 'paid' WHERE id = 7").unwrap();
        assert!(update.covers(&psql("update orders set status = 'void' where id = 8").unwrap()));
    }

    #[test]
    fn sql_scope_keeps_where_set_and_the_pid() {
        let covers =
            |approved: &str, other: &str| psql(approved).unwrap().covers(&psql(other).unwrap());
        assert!(covers(
            "DELETE FROM orders WHERE id = 5",
            "delete from orders where id = 6"
        ));
        assert_eq!(
            psql("DELETE FROM orders"),
            None,
            "destructive: no scope at all"
        );
        assert!(!covers(
            "UPDATE orders SET status='paid' WHERE id=7",
            "UPDATE orders SET total = 0 WHERE id=7"
        ));
        assert!(!covers(
            "UPDATE orders SET status='paid' WHERE id=7",
            "UPDATE orders SET status='paid' WHERE id=7 OR true"
        ));
        assert!(!covers(
            "SELECT pg_terminate_backend(31616)",
            "SELECT pg_terminate_backend(1)"
        ));
        assert!(!covers(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE state='idle in transaction'",
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE false"
        ));
    }

    #[test]
    fn sql_scope_never_covers_another_statement_table_or_function() {
        let approved =
            psql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE state='idle in transaction'")
                .unwrap();
        assert_eq!(
            psql(
                "SELECT pg_terminate_backend (pid) FROM pg_stat_activity WHERE false; DROP TABLE orders;"
            ),
            None
        );
        for other in [
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity, orders",
            "SELECT pg_terminate_backend(pid), dblink_exec('drop table orders') FROM pg_stat_activity",
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid IN (SELECT pid FROM orders)",
            "WITH d AS (DELETE FROM orders) SELECT pg_terminate_backend(pid) FROM pg_stat_activity",
            "SELECT pg_catalog.pg_terminate_backend(pid) FROM \"Orders\"",
            "SELECT pg_cancel_backend(pid) FROM pg_stat_activity",
        ] {
            // None: destructive, so no scope at all.
            let covered = psql(other).is_some_and(|call| approved.covers(&call));
            assert!(!covered, "{other}");
        }
        let other_db = sql(
            "psql",
            "users-db",
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity",
            Risk::Mutating,
        )
        .unwrap();
        assert!(!approved.covers(&other_db));
    }

    #[test]
    fn kubectl_scope_is_verb_resource_name_namespace_and_flags() {
        let approved = kube("kubectl rollout undo deployment/payments -n shop").unwrap();
        for same in [
            "kubectl -n shop rollout undo deploy/payments",
            "kubectl rollout undo deployments payments --namespace=shop",
            "kubectl rollout undo deployment/payments -n shop --to-revision=2",
        ] {
            assert!(approved.covers(&kube(same).unwrap()), "{same}");
        }
        assert_eq!(
            kube("kubectl rollout undo deployment/payments -n shop; kubectl delete namespace shop"),
            None
        );
        assert_eq!(
            kube("kubectl rollout undo deployment/payments -n shop && kubectl delete ns shop"),
            None
        );
        for other in [
            "kubectl rollout undo deployment/orders -n shop",
            "kubectl rollout undo deployment/payments -n kube-system",
            "kubectl rollout undo deployment/payments -nkube-system",
            "kubectl rollout undo deployment/payments -n shop -n prod",
            "kubectl rollout restart deployment/payments -n shop",
            "kubectl delete deployment/payments -n shop",
            "kubectl rollout undo deployment/payments deployment/orders -n shop",
            "kubectl rollout undo deployment -l app=payments -n shop",
            "kubectl rollout undo deployment/payments -n shop --context prod",
            "kubectl rollout undo deployment/payments -n shop --all",
        ] {
            let call = kube(other).unwrap();
            assert!(!approved.covers(&call), "{other}");
        }
    }

    #[test]
    fn unknown_and_higher_risk_calls_are_never_covered() {
        let approved = exact("shell", "ls /tmp", Risk::Mutating).unwrap();
        assert!(!approved.covers(&exact("shell", "ls /tmp ; rm -rf /", Risk::Mutating).unwrap()));
        assert_eq!(exact("shell", "ls /tmp", Risk::Unknown), None);
        let read_only = exact("mcp__x", "x {}", Risk::ReadOnly).unwrap();
        assert!(!read_only.covers(&exact("mcp__x", "x {}", Risk::Mutating).unwrap()));
    }

    #[test]
    fn trusted_rules_are_checked() {
        let rule = |tool: &str, call: &str, target: Option<&str>| TrustedRule {
            environment: "lab".into(),
            tool: tool.into(),
            call: call.into(),
            target: target.map(str::to_string),
        };
        let restart = rule(
            "kubectl",
            "kubectl rollout restart deployment/cart -n shop",
            None,
        );
        assert!(
            restart
                .scope()
                .unwrap()
                .covers(&kube("kubectl rollout restart deploy/cart -n shop").unwrap())
        );
        assert_eq!(
            rule("kubectl", " ", None).scope(),
            Err(RuleError::EmptyCall)
        );
        assert_eq!(
            rule("psql", "select 1", None).scope(),
            Err(RuleError::MissingTarget)
        );
        assert!(matches!(
            rule("kubectl", "kubectl get pods; kubectl delete ns x", None).scope(),
            Err(RuleError::NoShape(_))
        ));
        assert!(matches!(
            rule("psql", "select 1; drop table x", Some("db")).scope(),
            Err(RuleError::NoShape(_))
        ));
        assert_eq!(
            rule("ssh", "x", None).scope(),
            Err(RuleError::UnknownTool("ssh".into()))
        );
    }
}
