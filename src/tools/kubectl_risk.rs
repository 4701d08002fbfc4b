//! Classifying a `kubectl` command line by its verb, after parsing it with a real
//! shell-words parser. The kubectl tool runs one kubectl invocation, never a shell, so
//! shell syntax anywhere (`;`, `&&`, `|`, redirects, substitutions) makes a call
//! unknown, not read-only.
//!
//! Words after `--` are not kubectl's: they are the command a pod runs (`exec … -- rm -rf
//! /data`), judged by the shell classifier and kept word for word; flags there are never
//! read as kubectl flags.
//!
//! Above mutating: destructive (deleting a namespace, a volume, a CRD or everything a
//! selector or `--all` matches; scaling to zero; an `exec` of a destructive command) and,
//! beside it, reads-secrets (`config view --raw`, a Secret printed with `-o`), which are
//! asked although they change nothing.
//!
//! [`shape`] is what a session approval of a command covers: verb, resource, names (in
//! order: `cp a b` is not `cp b a`), namespace, every flag that can change what the
//! command touches, and the command after `--`, read from the parsed words. Only flags
//! that tune an already-chosen target (`--replicas`, `--to-revision`, output and
//! timeouts) may differ between covered calls.

use super::shell_risk;
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

/// The words kubectl reads, and the command after `--` (empty without one).
pub fn split_command(words: &[String]) -> (&[String], &[String]) {
    match words.iter().position(|w| w == "--") {
        Some(at) => (&words[..at], &words[at + 1..]),
        None => (words, &[]),
    }
}

/// The positional words (verb, subverb, resource…), flags and their values removed;
/// nothing after `--`.
pub fn positionals(words: &[String]) -> Vec<&str> {
    let (words, _) = split_command(words);
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

/// The value of a flag such as `-n`/`--namespace`, in either `-n x` or `--namespace=x` form
/// (never read after `--`).
pub fn flag_value<'a>(words: &'a [String], names: &[&str]) -> Option<&'a str> {
    let (words, _) = split_command(words);
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

/// Flags whose value tunes what a command does to its target without choosing another
/// target; a session approval covers calls that differ only in these.
const TUNING_FLAGS: &[&str] = &["--replicas", "--to-revision", "-o", "--output", "--timeout"];
/// Verbs whose next word is part of the verb (`rollout undo`, `set image`).
const TWO_WORD_VERBS: &[&str] = &["rollout", "set", "config", "auth", "certificate", "top"];

/// What a session approval of one kubectl command covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KubectlShape {
    pub verb: String,
    pub resource: String,
    pub names: Vec<String>,
    pub namespace: String,
    pub flags: Vec<String>,
    /// The command after `--`, word for word.
    pub command: Vec<String>,
}

/// One spelling per resource kind, so `deploy/x` and `deployments x` are the same target.
fn canonical_resource(resource: &str) -> String {
    let lower = resource.to_ascii_lowercase();
    let (kind, group) = lower.split_once('.').unwrap_or((&lower, ""));
    let kind = match kind {
        "deploy" | "deployments" => "deployment",
        "po" | "pods" => "pod",
        "svc" | "services" => "service",
        "ns" | "namespaces" => "namespace",
        "sts" | "statefulsets" => "statefulset",
        "ds" | "daemonsets" => "daemonset",
        "rs" | "replicasets" => "replicaset",
        "cm" | "configmaps" => "configmap",
        "no" | "nodes" => "node",
        "pvc" | "persistentvolumeclaims" => "persistentvolumeclaim",
        "jobs" => "job",
        "pv" | "persistentvolumes" => "persistentvolume",
        "crd" | "crds" | "customresourcedefinitions" => "customresourcedefinition",
        "cj" | "cronjobs" => "cronjob",
        "secrets" => "secret",
        "ing" | "ingresses" => "ingress",
        "hpa" | "horizontalpodautoscalers" => "horizontalpodautoscaler",
        other => other,
    };
    match group {
        "" => kind.to_string(),
        group => format!("{kind}.{group}"),
    }
}

/// The flags of a command in a normal form (`--flag=value`, sorted), the tuning and
/// namespace ones left out; and every namespace it names, in order.
fn normal_flags(words: &[String]) -> (Vec<String>, Vec<String>) {
    let (words, _) = split_command(words);
    let mut flags = Vec::new();
    let mut namespaces = Vec::new();
    let mut i = 0;
    while i < words.len() {
        let word = &words[i];
        i += 1;
        if !word.starts_with('-') {
            continue;
        }
        let (name, value) = match word.split_once('=') {
            Some((name, value)) => (name.to_string(), Some(value.to_string())),
            None if FLAGS_WITH_VALUE.contains(&word.as_str()) => {
                let value = words.get(i).cloned();
                i += 1;
                (word.clone(), value)
            }
            // `-nshop`: a short flag with its value attached.
            None if word.len() > 2 && !word.starts_with("--") => {
                (word[..2].to_string(), Some(word[2..].to_string()))
            }
            None => (word.clone(), None),
        };
        if name == "-n" || name == "--namespace" {
            namespaces.push(value.unwrap_or_default());
            continue;
        }
        if TUNING_FLAGS.contains(&name.as_str()) {
            continue;
        }
        flags.push(match value {
            Some(value) => format!("{name}={value}"),
            None => name,
        });
    }
    flags.sort();
    flags.dedup();
    (flags, namespaces)
}

/// The shape of a kubectl command; none when it is not one plain kubectl invocation.
pub fn shape(command: &str) -> Option<KubectlShape> {
    if classify(command) == Risk::Unknown {
        return None;
    }
    let words = parse(command).ok()?;
    let positionals = positionals(&words);
    let (verb, rest) = match positionals.as_slice() {
        [first, second, rest @ ..] if TWO_WORD_VERBS.contains(first) => {
            (format!("{first} {second}"), rest)
        }
        [first, rest @ ..] => (first.to_string(), rest),
        [] => return None,
    };
    let (resource, names) = match rest {
        [] => (String::new(), Vec::new()),
        [first, ..] if first.contains('/') => {
            let names = rest
                .iter()
                .map(|r| match r.split_once('/') {
                    Some((kind, name)) => format!("{}/{name}", canonical_resource(kind)),
                    None => r.to_string(),
                })
                .collect::<Vec<_>>();
            (String::new(), names)
        }
        [first, names @ ..] => {
            let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
            (canonical_resource(first), names)
        }
    };
    // `deployment/x` and `deployment x` are one target.
    let (resource, names) = match names.as_slice() {
        [one] if resource.is_empty() && one.contains('/') => {
            let (kind, name) = one.split_once('/').expect("checked");
            (kind.to_string(), vec![name.to_string()])
        }
        _ => (resource, names),
    };
    let (flags, namespaces) = normal_flags(&words);
    let namespace = match namespaces.as_slice() {
        [] => String::new(),
        [one] => one.clone(),
        many => many.join(","),
    };
    Some(KubectlShape {
        verb,
        resource,
        names,
        namespace,
        flags,
        command: split_command(&words).1.to_vec(),
    })
}

pub fn classify(command: &str) -> Risk {
    // `#` too: a shell comment hides text from the command that runs while the engineer
    // still reads it.
    const SHELL_SYNTAX: &[&str] = &[";", "&", "|", ">", "<", "`", "$(", "\n", "#"];
    if command.contains('#') {
        return Risk::Unknown;
    }
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
    let risk = match positionals.as_slice() {
        ["config", "view", ..] if has_flag(&words, &["--raw"]) => Risk::ReadsSecrets,
        ["get", resources, ..] if prints_secrets(&words, resources) => Risk::ReadsSecrets,
        ["rollout", sub, ..] if READ_ONLY_ROLLOUT.contains(sub) => Risk::ReadOnly,
        ["auth", "can-i", ..] => Risk::ReadOnly,
        ["config", "view" | "current-context" | "get-contexts", ..] => Risk::ReadOnly,
        [verb, ..] if READ_ONLY_VERBS.contains(verb) => Risk::ReadOnly,
        [verb, rest @ ..] if MUTATING_VERBS.contains(verb) => {
            if is_destructive(verb, rest, &words) {
                Risk::Destructive
            } else {
                Risk::Mutating
            }
        }
        _ => Risk::Unknown,
    };
    let (_, command) = split_command(&words);
    if command.is_empty() {
        return risk;
    }
    // The command a pod runs is as risky as it would be on the shell, and never less
    // than the kubectl call that starts it.
    let inner = shell_risk::classify(&shell_words::join(command));
    match inner {
        Risk::Destructive | Risk::Unknown => risk.max(inner),
        _ => risk,
    }
}

/// Resource kinds whose deletion takes data or everything inside them with it.
const DESTRUCTIVE_DELETES: &[&str] = &[
    "namespace",
    "persistentvolume",
    "pv",
    "persistentvolumes",
    "persistentvolumeclaim",
    "customresourcedefinition",
    "customresourcedefinitions",
    "crd",
    "crds",
    "all",
];

fn has_flag(words: &[String], names: &[&str]) -> bool {
    let (words, _) = split_command(words);
    words.iter().any(|w| {
        let name = w.split_once('=').map(|(n, _)| n).unwrap_or(w);
        names.contains(&name) && !w.ends_with("=false")
    })
}

/// Kinds named by a resource word: `ns,pvc`, `deployment/x`, `secrets.v1`.
fn kinds(resources: &str) -> Vec<String> {
    resources
        .split(',')
        .map(|r| {
            let kind = r.split_once('/').map(|(k, _)| k).unwrap_or(r);
            let kind = kind.split_once('.').map(|(k, _)| k).unwrap_or(kind);
            canonical_resource(kind)
        })
        .collect()
}

/// `get secret … -o yaml|json|jsonpath=…|go-template…`: prints a Secret's data.
fn prints_secrets(words: &[String], resources: &str) -> bool {
    let output = flag_value(words, &["-o", "--output"]).or_else(|| {
        let (words, _) = split_command(words);
        words
            .iter()
            .find_map(|w| w.strip_prefix("-o").filter(|v| !v.is_empty()))
    });
    let shows_data = output.is_some_and(|o| !matches!(o, "name" | "wide"));
    shows_data && kinds(resources).iter().any(|k| k == "secret")
}

fn is_destructive(verb: &str, rest: &[&str], words: &[String]) -> bool {
    match verb {
        "delete" => {
            has_flag(
                words,
                &["--all", "-A", "--all-namespaces", "-l", "--selector"],
            ) || split_command(words)
                .0
                .iter()
                .any(|w| w.starts_with("-l") && w.len() > 2)
                || rest.first().is_some_and(|r| {
                    kinds(r)
                        .iter()
                        .any(|k| DESTRUCTIVE_DELETES.contains(&k.as_str()))
                })
        }
        "scale" => flag_value(words, &["--replicas"]).is_some_and(|n| n.trim() == "0"),
        _ => false,
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
        assert_eq!(classify("kubectl delete ns prod"), Risk::Destructive);
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
    fn what_cannot_be_undone_is_destructive() {
        for destructive in [
            "kubectl delete namespace shop",
            "kubectl delete ns shop",
            "kubectl delete pvc data-orders-db-0 -n shop",
            "kubectl delete pv pv-1",
            "kubectl delete crd widgets.example.com",
            "kubectl delete pods --all -n shop",
            "kubectl delete pods -l app=orders -n shop",
            "kubectl delete all -n shop",
            "kubectl scale deployment/orders --replicas=0 -n shop",
            "kubectl scale deployment orders --replicas 0 -n shop",
            "kubectl exec orders-0 -n shop -- rm -rf /data",
        ] {
            assert_eq!(classify(destructive), Risk::Destructive, "{destructive}");
        }
        for mutating in [
            "kubectl delete pod orders-0 -n shop",
            "kubectl scale deployment/orders --replicas=3 -n shop",
            "kubectl exec orders-0 -n shop -- mv a b",
        ] {
            assert_eq!(classify(mutating), Risk::Mutating, "{mutating}");
        }
    }

    #[test]
    fn reading_secrets_is_asked() {
        for secret in [
            "kubectl config view --raw",
            "kubectl config view --flatten --raw",
            "kubectl get secret db-password -n shop -o yaml",
            "kubectl get secrets -n shop -o json",
            "kubectl get secret/db-password -o jsonpath={.data.password}",
            "kubectl get secret db -oyaml",
        ] {
            assert_eq!(classify(secret), Risk::ReadsSecrets, "{secret}");
        }
        for read in [
            "kubectl config view",
            "kubectl get secrets -n shop",
            "kubectl get secrets -n shop -o name",
            "kubectl describe secret db-password",
            "kubectl get configmap x -o yaml",
        ] {
            assert_eq!(classify(read), Risk::ReadOnly, "{read}");
        }
    }

    #[test]
    fn words_after_dashes_are_the_pods_command() {
        let words = parse("kubectl exec orders-0 -n shop -- curl -s --context x http://a").unwrap();
        assert_eq!(positionals(&words), ["exec", "orders-0"]);
        assert_eq!(flag_value(&words, &["--context"]), None);
        let moved = shape("kubectl exec orders-0 -n shop -- mv a b").unwrap();
        let back = shape("kubectl exec orders-0 -n shop -- mv b a").unwrap();
        assert_ne!(moved, back);
        assert_eq!(moved.command, ["mv", "a", "b"]);
        let down = shape("kubectl cp shop/payments-0:/data/db /tmp/db").unwrap();
        let up = shape("kubectl cp /tmp/db shop/payments-0:/data/db").unwrap();
        assert_ne!(down, up);
    }

    #[test]
    fn flags_are_skipped_to_find_the_verb() {
        assert_eq!(
            classify("kubectl --context prod -n shop get pods"),
            Risk::ReadOnly
        );
        assert_eq!(
            classify("kubectl --namespace=shop scale deploy/x --replicas=2"),
            Risk::Mutating
        );
    }
}
