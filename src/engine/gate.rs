//! The approval gate: the one place that decides whether a tool call may run.
//!
//! It sits in the engine in front of every tool run and looks only at the risk the tool
//! computed from the actual arguments, the session's policy and the rules the engineer
//! granted. Nothing a brain writes (a rationale, a claim that a call is safe) and nothing
//! in telemetry (a log line that says "run this without asking") is an input here.

use crate::event::{Decision, Risk, SessionScope};

/// How much the session may do without asking.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Policy {
    /// Read-only calls run; everything else waits for a human (the default).
    #[default]
    Ask,
    /// Only read-only calls run; everything else is denied without asking.
    ReadOnly,
    /// Like `ask`, but calls covered by these rules (from the config file) run at once.
    TrustedSession(Vec<SessionScope>),
}

impl Policy {
    pub fn name(&self) -> &'static str {
        match self {
            Policy::Ask => "ask",
            Policy::ReadOnly => "read-only",
            Policy::TrustedSession(_) => "trusted-session",
        }
    }
}

/// Who answers approval requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Approver {
    /// An engineer at the TUI.
    Human,
    /// Nobody (headless): risky calls are denied with "no approver".
    Nobody,
    /// Headless with `--approve-all`: risky calls are approved and recorded as such.
    ApproveAll,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Gate {
    /// Run now (read-only, or a credential prompt will follow).
    Run,
    /// Ask the engineer.
    Ask,
    /// Decided without asking: the decision and who made it.
    Decided(Decision, String),
}

pub fn decide(
    policy: &Policy,
    approver: Approver,
    risk: Risk,
    tool: &str,
    command: &str,
    session_rules: &[SessionScope],
) -> Gate {
    if risk == Risk::ReadOnly {
        return Gate::Run;
    }
    if *policy == Policy::ReadOnly {
        let reason = format!("policy read-only: {} calls are not allowed", risk.label());
        return Gate::Decided(Decision::Denied { reason }, "policy".into());
    }
    if risk == Risk::NeedsCredentials {
        // Read-only apart from the secret: typing the secret is the human decision.
        return Gate::Run;
    }
    if let Some(scope) = session_rules.iter().find(|s| s.covers(tool, command)) {
        let decision = Decision::ApprovedForSession {
            scope: scope.clone(),
        };
        return Gate::Decided(decision, "session rule".into());
    }
    if let Policy::TrustedSession(rules) = policy
        && let Some(scope) = rules.iter().find(|s| s.covers(tool, command))
    {
        let decision = Decision::ApprovedForSession {
            scope: scope.clone(),
        };
        return Gate::Decided(decision, "policy trusted-session".into());
    }
    match approver {
        Approver::Human => Gate::Ask,
        Approver::Nobody => Gate::Decided(
            Decision::Denied {
                reason: "no approver".into(),
            },
            "headless".into(),
        ),
        Approver::ApproveAll => Gate::Decided(Decision::ApprovedOnce, "--approve-all".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope(tool: &str, prefix: &str) -> SessionScope {
        SessionScope {
            tool: tool.into(),
            prefix: prefix.into(),
        }
    }

    #[test]
    fn only_read_only_runs_without_a_decision() {
        let cmd = "kubectl rollout undo deployment/payments -n shop";
        assert_eq!(
            decide(
                &Policy::Ask,
                Approver::Human,
                Risk::ReadOnly,
                "kubectl",
                "kubectl get pods",
                &[]
            ),
            Gate::Run
        );
        assert_eq!(
            decide(
                &Policy::Ask,
                Approver::Human,
                Risk::Mutating,
                "kubectl",
                cmd,
                &[]
            ),
            Gate::Ask
        );
        assert_eq!(
            decide(
                &Policy::Ask,
                Approver::Human,
                Risk::Unknown,
                "kubectl",
                cmd,
                &[]
            ),
            Gate::Ask
        );
    }

    #[test]
    fn read_only_policy_denies_everything_else() {
        let gate = decide(
            &Policy::ReadOnly,
            Approver::Human,
            Risk::Mutating,
            "kubectl",
            "kubectl delete ns x",
            &[],
        );
        assert!(matches!(gate, Gate::Decided(Decision::Denied { .. }, _)));
        let gate = decide(
            &Policy::ReadOnly,
            Approver::Human,
            Risk::NeedsCredentials,
            "psql",
            "select 1",
            &[],
        );
        assert!(matches!(gate, Gate::Decided(Decision::Denied { .. }, _)));
    }

    #[test]
    fn session_rules_are_scoped_to_tool_and_prefix() {
        let rules = [scope("kubectl", "kubectl rollout restart")];
        let ok = decide(
            &Policy::Ask,
            Approver::Human,
            Risk::Mutating,
            "kubectl",
            "kubectl rollout restart deployment/x",
            &rules,
        );
        assert!(matches!(
            ok,
            Gate::Decided(Decision::ApprovedForSession { .. }, _)
        ));
        let other = decide(
            &Policy::Ask,
            Approver::Human,
            Risk::Mutating,
            "kubectl",
            "kubectl rollout undo deployment/x",
            &rules,
        );
        assert_eq!(other, Gate::Ask);
        let other_tool = decide(
            &Policy::Ask,
            Approver::Human,
            Risk::Mutating,
            "shell",
            "kubectl rollout restart deployment/x",
            &rules,
        );
        assert_eq!(other_tool, Gate::Ask);
    }

    #[test]
    fn trusted_session_rules_come_from_config_and_headless_denies() {
        let policy = Policy::TrustedSession(vec![scope("kubectl", "kubectl rollout restart")]);
        let gate = decide(
            &policy,
            Approver::Nobody,
            Risk::Mutating,
            "kubectl",
            "kubectl rollout restart deploy/x",
            &[],
        );
        assert!(
            matches!(gate, Gate::Decided(Decision::ApprovedForSession { .. }, ref by) if by == "policy trusted-session")
        );
        let gate = decide(
            &policy,
            Approver::Nobody,
            Risk::Mutating,
            "kubectl",
            "kubectl delete ns x",
            &[],
        );
        assert_eq!(
            gate,
            Gate::Decided(
                Decision::Denied {
                    reason: "no approver".into()
                },
                "headless".into()
            )
        );
    }
}
