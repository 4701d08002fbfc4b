//! The approval gate: the one place that decides whether a tool call may run.
//!
//! It sits in the engine in front of every tool run and looks only at the risk the tool
//! computed from the actual arguments, the session's policy and the rules the engineer
//! granted. Nothing a brain writes (a rationale, a claim that a call is safe) and nothing
//! in telemetry (a log line that says "run this without asking") is an input here.
//!
//! The session rules it reads are the ones granted in this process (the engine keeps
//! them, never folded from a file); `[[trusted]]` rules arrive already filtered to the
//! environment in force. Destructive calls are never covered by either.

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

// One Gate is made per call and consumed at once: the size of its largest variant costs
// nothing worth a box.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Gate {
    /// Run now (read-only, or a credential prompt will follow).
    Run,
    /// Ask the engineer.
    Ask,
    /// Decided without asking: the decision and who made it.
    Decided(Decision, String),
}

/// The gate. `call_scope` is the scope the tool built from the call's parsed arguments
/// (none for a call no approval may cover); a rule covers the call only when the shapes
/// are equal and the call's risk is no higher than the rule's (see
/// [`SessionScope::covers`]).
pub fn decide(
    policy: &Policy,
    approver: Approver,
    risk: Risk,
    call_scope: Option<&SessionScope>,
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
    // A destructive or unknown call is asked every time, whatever was granted.
    let covering = |rules: &[SessionScope]| {
        let call = call_scope.filter(|c| c.risk == risk && risk.may_be_covered())?;
        rules.iter().find(|rule| rule.covers(call)).cloned()
    };
    if let Some(scope) = covering(session_rules) {
        let decision = Decision::ApprovedForSession { scope };
        return Gate::Decided(decision, "session rule".into());
    }
    if let Policy::TrustedSession(rules) = policy
        && let Some(scope) = covering(rules)
    {
        let decision = Decision::ApprovedForSession { scope };
        return Gate::Decided(decision, "policy trusted-session".into());
    }
    match approver {
        Approver::Human => Gate::Ask,
        Approver::Nobody => Gate::Decided(
            Decision::Denied {
                reason: "no approver (headless without --approve-all)".into(),
            },
            "headless".into(),
        ),
        Approver::ApproveAll => Gate::Decided(Decision::ApprovedOnce, "--approve-all".into()),
    }
}

/// Whether an edit made a call riskier, so the engineer must see the edited call in an
/// approval before it runs.
pub(crate) fn edit_needs_review(proposed: Risk, edited: Risk) -> bool {
    edited.rank() > proposed.rank()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::scope;

    fn kube(command: &str, risk: Risk) -> Option<SessionScope> {
        scope::kubectl(command, risk)
    }

    #[test]
    fn only_read_only_runs_without_a_decision() {
        let cmd = "kubectl rollout undo deployment/payments -n shop";
        let ask = |risk| {
            decide(
                &Policy::Ask,
                Approver::Human,
                risk,
                kube(cmd, risk).as_ref(),
                &[],
            )
        };
        assert_eq!(ask(Risk::ReadOnly), Gate::Run);
        assert_eq!(ask(Risk::Mutating), Gate::Ask);
        assert_eq!(ask(Risk::Unknown), Gate::Ask);
    }

    #[test]
    fn read_only_policy_denies_everything_else() {
        for risk in [Risk::Mutating, Risk::NeedsCredentials, Risk::Unknown] {
            let gate = decide(&Policy::ReadOnly, Approver::Human, risk, None, &[]);
            assert!(matches!(gate, Gate::Decided(Decision::Denied { .. }, _)));
        }
    }

    #[test]
    fn session_rules_cover_the_same_shape_only() {
        let rules = [kube("kubectl rollout restart deployment/x", Risk::Mutating).unwrap()];
        let decide_on = |cmd: &str, risk| {
            decide(
                &Policy::Ask,
                Approver::Human,
                risk,
                kube(cmd, risk).as_ref(),
                &rules,
            )
        };
        assert!(matches!(
            decide_on("kubectl rollout restart deploy/x", Risk::Mutating),
            Gate::Decided(Decision::ApprovedForSession { .. }, _)
        ));
        assert_eq!(
            decide_on("kubectl rollout undo deployment/x", Risk::Mutating),
            Gate::Ask
        );
        assert_eq!(
            decide_on("kubectl rollout restart deployment/x", Risk::Unknown),
            Gate::Ask
        );
        let other_tool = scope::exact(
            "shell",
            "kubectl rollout restart deployment/x",
            Risk::Mutating,
        );
        assert_eq!(
            decide(
                &Policy::Ask,
                Approver::Human,
                Risk::Mutating,
                other_tool.as_ref(),
                &rules
            ),
            Gate::Ask
        );
        // A scope whose risk disagrees with the call's is not trusted.
        let lying = kube("kubectl rollout restart deployment/x", Risk::Mutating);
        assert_eq!(
            decide(
                &Policy::Ask,
                Approver::Human,
                Risk::Unknown,
                lying.as_ref(),
                &rules
            ),
            Gate::Ask
        );
    }

    #[test]
    fn trusted_session_rules_come_from_config_and_headless_denies() {
        let policy = Policy::TrustedSession(vec![
            kube("kubectl rollout restart deploy/x", Risk::Mutating).unwrap(),
        ]);
        let call = kube("kubectl rollout restart deployment/x", Risk::Mutating);
        let gate = decide(
            &policy,
            Approver::Nobody,
            Risk::Mutating,
            call.as_ref(),
            &[],
        );
        assert!(
            matches!(gate, Gate::Decided(Decision::ApprovedForSession { .. }, ref by) if by == "policy trusted-session")
        );
        let call = kube("kubectl delete ns x", Risk::Mutating);
        let gate = decide(
            &policy,
            Approver::Nobody,
            Risk::Mutating,
            call.as_ref(),
            &[],
        );
        assert!(matches!(gate, Gate::Decided(Decision::Denied { .. }, ref by) if by == "headless"));
        // Every name the gate decides under is known not to be a person (learning and the
        // postmortem's people depend on it).
        for by in [
            "policy",
            "session rule",
            "policy trusted-session",
            "headless",
            "--approve-all",
        ] {
            assert!(!crate::event::decided_by_a_person(by), "{by}");
        }
    }

    #[test]
    fn destructive_calls_are_never_covered() {
        let mut scope = kube("kubectl scale deploy/x --replicas=2", Risk::Mutating).unwrap();
        let rules = [scope.clone()];
        scope.risk = Risk::Destructive;
        for policy in [Policy::Ask, Policy::TrustedSession(rules.to_vec())] {
            let gate = decide(
                &policy,
                Approver::Human,
                Risk::Destructive,
                Some(&scope),
                &rules,
            );
            assert_eq!(gate, Gate::Ask);
        }
        assert_eq!(
            kube("kubectl scale deploy/x --replicas=0", Risk::Destructive),
            None,
            "a destructive call has no scope to approve for the session"
        );
    }

    #[test]
    fn edits_that_raise_the_risk_need_review() {
        assert!(edit_needs_review(Risk::Mutating, Risk::Destructive));
        assert!(edit_needs_review(Risk::ReadOnly, Risk::Mutating));
        assert!(edit_needs_review(Risk::Mutating, Risk::Unknown));
        assert!(!edit_needs_review(Risk::Mutating, Risk::Mutating));
        assert!(!edit_needs_review(Risk::Mutating, Risk::ReadOnly));
    }
}
