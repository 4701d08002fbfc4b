//! Classifying a `kubectl` command line by its verb, after parsing it with a real
//! shell-words parser. The kubectl tool runs one kubectl invocation, never a shell, so
//! shell syntax anywhere (`;`, `&&`, `|`, redirects, substitutions) makes a call
//! unknown, not read-only.

use crate::event::Risk;

const READ_ONLY_VERBS: &[&str] = &[
    "get",
    "describe",
    "logs",
    "top",
    "events",
    "explain",
    "api-resources",
    "api-versions",
    "version",
    "cluster-info",
    "diff",
];
const READ_ONLY_ROLLOUT: &[&str] = &["history", "status"];
const MUTATING_VERBS: &[&str] = &[
    "apply",
    "create",
    "delete",
    "edit",
    "patch",
    "replace",
    "scale",
    "autoscale",
    "cordon",
    "uncordon",
    "drain",
    "taint",
    "label",
    "annotate",
    "set",
    "exec",
    "attach",
    "port-forward",
    "cp",
    "run",
    "expose",
    "debug",
    "rollout",
];
/// Global flags that take a separate value (`-n shop`).
const FLAGS_WITH_VALUE: &[&str] = &[
    "-n",
    "--namespace",
    "--context",
    "--cluster",
    "--user",
    "--kubeconfig",
    "-l",
    "--selector",
    "-o",
    "--output",
    "-c",
    "--container",
    "--tail",
    "--since",
    "-f",
    "--filename",
];

/// The words of a kubectl command, without the leading `kubectl`.
pub fn parse(command: &str) -> Result<Vec<String>, String> {
    let words = shell_words::split(command).map_err(|e| format!("cannot parse command: {e}"))?;
    match words.split_first() {
        Some((first, rest)) if first == "kubectl" => Ok(rest.to_vec()),
        _ => Err("the command must start with `kubectl`".into()),
    }
}

/// The positional words (verb, subverb, resource…), flags and their values removed.
pub fn positionals(words: &[String]) -> Vec<&str> {
    let mut out = Vec::new();
    let mut skip_next = false;
    for word in words {
        if skip_next {
            skip_next = false;
            continue;
        }
        if word.starts_with('-') {
            skip_next = !word.contains('=') && FLAGS_WITH_VALUE.contains(&word.as_str());
            continue;
        }
        out.push(word.as_str());
    }
    out
}

/// The value of a flag such as `-n`/`--namespace`, in either `-n x` or `--namespace=x` form.
pub fn flag_value<'a>(words: &'a [String], names: &[&str]) -> Option<&'a str> {
    for (i, word) in words.iter().enumerate() {
        if names.contains(&word.as_str()) {
            return words.get(i + 1).map(String::as_str);
        }
        if let Some((name, value)) = word.split_once('=')
            && names.contains(&name)
        {
            return Some(value);
        }
    }
    None
}

pub fn classify(command: &str) -> Risk {
    const SHELL_SYNTAX: &[&str] = &[";", "&", "|", ">", "<", "`", "$(", "\n"];
    let Ok(words) = parse(command) else {
        return Risk::Unknown;
    };
    if words
        .iter()
        .any(|w| SHELL_SYNTAX.iter().any(|op| w.contains(op)))
    {
        return Risk::Unknown;
    }
    let positionals = positionals(&words);
    match positionals.as_slice() {
        ["rollout", sub, ..] if READ_ONLY_ROLLOUT.contains(sub) => Risk::ReadOnly,
        ["auth", "can-i", ..] => Risk::ReadOnly,
        ["config", "view" | "current-context" | "get-contexts", ..] => Risk::ReadOnly,
        [verb, ..] if READ_ONLY_VERBS.contains(verb) => Risk::ReadOnly,
        [verb, ..] if MUTATING_VERBS.contains(verb) => Risk::Mutating,
        _ => Risk::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verbs_decide_risk() {
        assert_eq!(classify("kubectl get pods -n shop"), Risk::ReadOnly);
        assert_eq!(
            classify("kubectl -n shop rollout history deployment/payments"),
            Risk::ReadOnly
        );
        assert_eq!(
            classify("kubectl rollout undo deployment/payments -n shop"),
            Risk::Mutating
        );
        assert_eq!(classify("kubectl delete ns prod"), Risk::Mutating);
        assert_eq!(classify("kubectl frobnicate"), Risk::Unknown);
    }

    #[test]
    fn shell_tricks_are_unknown() {
        assert_eq!(
            classify("kubectl get pods ; kubectl delete ns prod"),
            Risk::Unknown
        );
        assert_eq!(classify("kubectl get pods && rm -rf /"), Risk::Unknown);
        assert_eq!(classify("kubectl get pods $(rm -rf /)"), Risk::Unknown);
        assert_eq!(classify("rm -rf / # kubectl get pods"), Risk::Unknown);
        assert_eq!(classify("kubectl get 'pods"), Risk::Unknown);
    }

    #[test]
    fn flags_are_skipped_to_find_the_verb() {
        assert_eq!(
            classify("kubectl --context prod -n shop get pods"),
            Risk::ReadOnly
        );
        assert_eq!(
            classify("kubectl --namespace=shop scale deploy/x --replicas=0"),
            Risk::Mutating
        );
    }
}
