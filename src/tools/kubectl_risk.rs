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

use super::ToolError;
use super::shell_risk;
use crate::event::Risk;
use regex::Regex;
use std::sync::LazyLock;

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
/// Long flags that take a separate value (`--namespace shop`): kubectl's global flags and
/// the common per-verb ones. A long flag in neither this list nor [`BOOL_FLAGS`], written
/// without `=` and followed by a word, makes the call unknown: kubectl may read that word
/// as its value (cobra does so for any flag it doesn't know when it looks for the verb:
/// `kubectl --cache-dir get delete ns prod` is a delete) or as a positional.
const FLAGS_WITH_VALUE: &[&str] = &[
    "--namespace",
    "--context",
    "--cluster",
    "--user",
    "--kubeconfig",
    "--server",
    "--token",
    "--as",
    "--as-group",
    "--as-uid",
    "--username",
    "--password",
    "--certificate-authority",
    "--client-certificate",
    "--client-key",
    "--tls-server-name",
    "--cache-dir",
    "--profile",
    "--profile-output",
    "--request-timeout",
    "--log-flush-frequency",
    "--v",
    "--vmodule",
    "--selector",
    "--field-selector",
    "--output",
    "--template",
    "--container",
    "--tail",
    "--since",
    "--since-time",
    "--limit-bytes",
    "--filename",
    "--kustomize",
    "--label-columns",
    "--sort-by",
    "--chunk-size",
    "--patch",
    "--type",
    "--grace-period",
    "--cascade",
    "--replicas",
    "--current-replicas",
    "--resource-version",
    "--to-revision",
    "--revision",
    "--timeout",
    "--image",
    "--port",
    "--target-port",
    "--name",
    "--env",
    "--labels",
    "--restart",
    "--overrides",
    "--field-manager",
    "--subresource",
    "--min",
    "--max",
    "--cpu-percent",
    "--max-log-requests",
    "--pod-running-timeout",
    "--output-directory",
    "--patch-file",
];
/// Long flags that take no separate value.
const BOOL_FLAGS: &[&str] = &[
    "--all",
    "--all-namespaces",
    "--all-containers",
    "--watch",
    "--watch-only",
    "--show-labels",
    "--show-kind",
    "--show-managed-fields",
    "--no-headers",
    "--previous",
    "--follow",
    "--timestamps",
    "--prefix",
    "--force",
    "--wait",
    "--now",
    "--ignore-not-found",
    "--overwrite",
    "--local",
    "--recursive",
    "--insecure-skip-tls-verify",
    "--match-server-version",
    "--warnings-as-errors",
    "--disable-compression",
    "--help",
    "--stdin",
    "--tty",
    "--quiet",
    "--dry-run",
    "--server-side",
    "--force-conflicts",
    "--validate",
    "--record",
    "--prune",
    "--ignore-daemonsets",
    "--delete-emptydir-data",
    "--disable-eviction",
    "--rm",
    "--attach",
    "--privileged",
    "--flatten",
    "--minify",
    "--output-watch-events",
    "--allow-missing-template-keys",
    "--list",
];
/// Short flags that take a value, attached (`-nshop`, `-n=shop`) or as the next word
/// (`-n shop`, or at the end of a cluster: `-in shop`).
const SHORT_WITH_VALUE: &[char] = &['n', 'l', 'o', 'c', 'f', 's', 'k', 'L', 'v', 'p', 'r'];
/// Short flags that take none and may be clustered (`-it`).
const SHORT_BOOL: &[char] = &['i', 't', 'A', 'w', 'R', 'q', 'h'];

/// The words of a kubectl command (before any `--`) as kubectl reads them.
#[derive(Debug, Default)]
pub struct Scanned<'a> {
    pub positionals: Vec<&'a str>,
    /// Every flag, short clusters split (`-it` is `-i`, `-t`), with its value.
    pub flags: Vec<(String, Option<&'a str>)>,
    /// A flag whose arity we don't know was followed by a word kubectl might read either
    /// way: the verb and the target can't be known.
    pub ambiguous: bool,
}

impl Scanned<'_> {
    pub fn has(&self, names: &[&str]) -> bool {
        self.flags.iter().any(|(name, value)| {
            names.contains(&name.as_str()) && value.is_none_or(|v| v != "false")
        })
    }

    /// Every value given to one of `names`, in order (kubectl keeps the last).
    pub fn values<'s>(&'s self, names: &[&str]) -> Vec<&'s str> {
        self.flags
            .iter()
            .filter(|(name, _)| names.contains(&name.as_str()))
            .filter_map(|(_, value)| *value)
            .collect()
    }
}

/// Read the words before `--` the way kubectl's flag parser does.
pub fn scan(words: &[String]) -> Scanned<'_> {
    let (words, _) = split_command(words);
    let mut out = Scanned::default();
    let next_is_word = |i: usize| words.get(i).is_some_and(|w| !w.starts_with('-'));
    let mut i = 0;
    while i < words.len() {
        let word = &words[i];
        i += 1;
        if !word.starts_with('-') || word == "-" {
            out.positionals.push(word);
            continue;
        }
        if let Some(long) = word.strip_prefix("--") {
            match long.split_once('=') {
                Some((name, value)) => out.flags.push((format!("--{name}"), Some(value))),
                None if FLAGS_WITH_VALUE.contains(&word.as_str()) => {
                    out.flags
                        .push((word.clone(), words.get(i).map(String::as_str)));
                    i += 1;
                }
                None => {
                    if !BOOL_FLAGS.contains(&word.as_str()) && next_is_word(i) {
                        out.ambiguous = true;
                    }
                    out.flags.push((word.clone(), None));
                }
            }
            continue;
        }
        let cluster = &word[1..];
        for (at, c) in cluster.char_indices() {
            let name = format!("-{c}");
            let rest = &cluster[at + c.len_utf8()..];
            if SHORT_WITH_VALUE.contains(&c) {
                let rest = rest.strip_prefix('=').unwrap_or(rest);
                if rest.is_empty() {
                    out.flags.push((name, words.get(i).map(String::as_str)));
                    i += 1;
                } else {
                    out.flags.push((name, Some(rest)));
                }
                break;
            }
            out.flags.push((name, None));
            if !SHORT_BOOL.contains(&c) {
                // A shorthand we don't know: it may take the rest, or the next word.
                if !rest.is_empty() || next_is_word(i) {
                    out.ambiguous = true;
                }
                break;
            }
        }
    }
    out
}

/// Why a command line is not the words of one kubectl invocation.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CommandError {
    #[error("cannot parse command: {0}")]
    Unparsable(shell_words::ParseError),
    #[error("the command must start with `kubectl`")]
    NotKubectl,
}

/// A command the tools cannot read is an argument the brain can correct.
impl From<CommandError> for ToolError {
    fn from(error: CommandError) -> ToolError {
        ToolError::InvalidArguments(error.to_string())
    }
}

/// The words of a kubectl command, without the leading `kubectl`.
pub fn parse(command: &str) -> Result<Vec<String>, CommandError> {
    let words = shell_words::split(command).map_err(CommandError::Unparsable)?;
    match words.split_first() {
        Some((first, rest)) if first == "kubectl" => Ok(rest.to_vec()),
        _ => Err(CommandError::NotKubectl),
    }
}

/// The words kubectl reads, and the command after `--` (empty without one).
pub(crate) fn split_command(words: &[String]) -> (&[String], &[String]) {
    match words.iter().position(|w| w == "--") {
        Some(at) => (&words[..at], &words[at + 1..]),
        None => (words, &[]),
    }
}

/// The positional words (verb, subverb, resource…), flags and their values removed;
/// nothing after `--`.
pub(crate) fn positionals(words: &[String]) -> Vec<&str> {
    scan(words).positionals
}

/// The value of a flag such as `-n`/`--namespace`, in any spelling kubectl reads (`-n x`,
/// `-nx`, `--namespace=x`, `-in x`); the last one given, as kubectl keeps it (never read
/// after `--`).
pub(crate) fn flag_value<'a>(words: &'a [String], names: &[&str]) -> Option<&'a str> {
    scan(words)
        .flags
        .into_iter()
        .filter(|(name, _)| names.contains(&name.as_str()))
        .filter_map(|(_, value)| value)
        .next_back()
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
    let mut flags = Vec::new();
    let mut namespaces = Vec::new();
    for (name, value) in scan(words).flags {
        if name == "-n" || name == "--namespace" {
            namespaces.push(value.unwrap_or_default().to_string());
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
    let scanned = scan(&words);
    if scanned.ambiguous {
        return Risk::Unknown;
    }
    let risk = match scanned.positionals.as_slice() {
        ["config", "view", ..] if scanned.has(&["--raw"]) => Risk::ReadsSecrets,
        // `get --raw /api/v1/namespaces/x/secrets` prints whatever the path names.
        ["get", ..] if scanned.has(&["--raw"]) => Risk::ReadsSecrets,
        ["get", resources @ ..] if prints_secrets(&scanned, resources) => Risk::ReadsSecrets,
        ["rollout", sub, ..] if READ_ONLY_ROLLOUT.contains(sub) => Risk::ReadOnly,
        ["auth", "can-i", ..] => Risk::ReadOnly,
        ["config", "view" | "current-context" | "get-contexts", ..] => Risk::ReadOnly,
        [verb, ..] if READ_ONLY_VERBS.contains(verb) => Risk::ReadOnly,
        [verb, rest @ ..] if MUTATING_VERBS.contains(verb) => {
            if is_destructive(verb, rest, &scanned) {
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

/// `get secret … -o yaml|json|jsonpath=…|go-template…` (or `--template`, which kubectl
/// reads as `-o go-template`): prints a Secret's data. Every positional is looked at: a
/// flag's value kubectl takes is not a resource, but one we mistook for a positional must
/// not hide the `secret` after it.
fn prints_secrets(scanned: &Scanned, resources: &[&str]) -> bool {
    let output = scanned.values(&["-o", "--output"]).last().copied();
    let shows_data = output.is_some_and(|o| !matches!(o, "name" | "wide"))
        || (output.is_none() && scanned.has(&["--template"]));
    shows_data
        && resources
            .iter()
            .any(|r| kinds(r).iter().any(|k| k == "secret"))
}

/// An integer as kubectl (Go, base prefix allowed) reads it is zero: `0`, `00`, `+0`,
/// `-0`, `0x0`, `0_0`.
fn is_zero(value: &str) -> bool {
    let digits = value.trim().trim_start_matches(['+', '-']);
    let digits = ["0x", "0X", "0o", "0O", "0b", "0B"]
        .iter()
        .find_map(|p| digits.strip_prefix(p))
        .unwrap_or(digits);
    !digits.is_empty() && digits.chars().all(|c| c == '0' || c == '_')
}

/// A patch body that sets `replicas` to zero (merge, strategic or JSON patch).
fn patches_to_zero(body: &str) -> bool {
    static MERGE: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r#"replicas["']?\s*:\s*["']?[+-]?0[0_]*(?:[^0-9_.]|$)"#).expect("compiles")
    });
    static JSON_VALUE: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r#""value"\s*:\s*["']?[+-]?0[0_]*(?:[^0-9_.]|$)"#).expect("compiles")
    });
    let body = body.to_ascii_lowercase();
    MERGE.is_match(&body) || (body.contains("/replicas") && JSON_VALUE.is_match(&body))
}

fn is_destructive(verb: &str, rest: &[&str], scanned: &Scanned) -> bool {
    match verb {
        // A file, a kustomization or a raw path may name a namespace or a volume; a
        // selector or `--all` names everything it matches.
        "delete" => {
            scanned.has(&[
                "--all",
                "-A",
                "--all-namespaces",
                "-l",
                "--selector",
                "--field-selector",
                "-f",
                "--filename",
                "-k",
                "--kustomize",
                "--raw",
            ]) || rest.iter().any(|r| {
                kinds(r)
                    .iter()
                    .any(|k| DESTRUCTIVE_DELETES.contains(&k.as_str()))
            })
        }
        "scale" => scanned.values(&["--replicas"]).iter().any(|n| is_zero(n)),
        "patch" => {
            scanned
                .values(&["-p", "--patch"])
                .iter()
                .any(|b| patches_to_zero(b))
                || rest.iter().any(|r| patches_to_zero(r))
                || scanned.has(&["--patch-file"])
        }
        // Deleting what the manifest doesn't name; deleting and recreating.
        "apply" => scanned.has(&["--prune"]),
        "replace" => scanned.has(&["--force"]),
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

    #[test]
    fn a_command_that_is_no_kubectl_invocation_says_why() {
        assert_eq!(
            parse("kubectl get 'pods"),
            Err(CommandError::Unparsable(shell_words::ParseError))
        );
        assert_eq!(
            parse("kubectl get 'pods").unwrap_err().to_string(),
            "cannot parse command: missing closing quote"
        );
        assert_eq!(
            ToolError::from(parse("helm list").unwrap_err()).to_string(),
            "invalid arguments: the command must start with `kubectl`"
        );
    }
}
