//! Classifying a shell command line, parsed with `brush-parser` (a real bash parser), not
//! a regex: every simple command of every pipeline and list is judged by its program and
//! its actual flags, and the line is as risky as its riskiest part.
//!
//! Read-only: known read-only programs with read-only flags, pipes and `&&`/`||`/`;`
//! lists of them, input redirects and redirects to `/dev/null`. Mutating: redirects to
//! files, programs that write or delete, and read-only programs given a writing flag
//! (`sort -o`, `find -delete`, `curl -o`). Destructive: `rm -r`, `mkfs`, `dd of=`,
//! `shred`. Unknown (always asks): anything the parser
//! rejects, command or process substitution, variables, background jobs, compound
//! commands and functions, environment assignments, `sudo`, and any program not listed.
//! `kubectl` and `psql -c` inside a shell line are judged by their own classifiers.

use super::{kubectl_risk, sql_risk};
use crate::event::Risk;
use brush_parser::ast::{
    Command, CommandPrefixOrSuffixItem, IoFileRedirectKind, IoFileRedirectTarget, IoRedirect,
    SeparatorOperator,
};

/// Programs that only read, whatever their arguments (apart from the flags listed in
/// [`writing_flag`]).
const READ_ONLY_PROGRAMS: &[&str] = &[
    "cat",
    "head",
    "tail",
    "grep",
    "egrep",
    "fgrep",
    "zgrep",
    "zcat",
    "rg",
    "wc",
    "sort",
    "uniq",
    "cut",
    "tr",
    "column",
    "jq",
    "ls",
    "stat",
    "file",
    "du",
    "df",
    "free",
    "uptime",
    "uname",
    "whoami",
    "id",
    "ps",
    "pgrep",
    "vmstat",
    "iostat",
    "mpstat",
    "ss",
    "netstat",
    "dig",
    "nslookup",
    "host",
    "ping",
    "traceroute",
    "echo",
    "printf",
    "true",
    "false",
    "seq",
    "basename",
    "dirname",
    "realpath",
    "readlink",
    "which",
    "lsof",
    "nproc",
    "getent",
    "base64",
    "sha256sum",
    "md5sum",
    "diff",
    "cmp",
    "tac",
    "nl",
    "fold",
    "od",
    "hexdump",
    "strings",
    "curl",
    "find",
    "journalctl",
    "top",
    "date",
    "hostname",
    "test",
    "[",
];

/// Programs that change the machine or the systems it reaches.
const WRITING_PROGRAMS: &[&str] = &[
    "rm",
    "rmdir",
    "mv",
    "cp",
    "dd",
    "mkdir",
    "touch",
    "chmod",
    "chown",
    "chgrp",
    "ln",
    "truncate",
    "shred",
    "tee",
    "kill",
    "pkill",
    "killall",
    "reboot",
    "shutdown",
    "halt",
    "poweroff",
    "service",
    "apt",
    "apt-get",
    "dpkg",
    "yum",
    "dnf",
    "pip",
    "npm",
    "install",
    "useradd",
    "userdel",
    "usermod",
    "passwd",
    "crontab",
    "mount",
    "umount",
    "iptables",
    "nft",
    "ifconfig",
    "sysctl",
    "redis-cli",
    "mysql",
];

/// Clients that hunch's own tools pin to the environment's cluster or database.
const PINNED_CLIENTS: &[&str] = &["kubectl", "psql", "helm"];

/// Programs that run other programs or raise privileges.
const ESCALATING_PROGRAMS: &[&str] = &[
    "sudo", "su", "doas", "env", "xargs", "nohup", "timeout", "nice", "sh", "bash", "zsh", "eval",
    "exec", "source", ".", "watch", "ssh", "awk", "sed", "perl", "python", "python3",
];

fn worst(a: Risk, b: Risk) -> Risk {
    a.max(b)
}

/// The risk of a whole command line.
pub(crate) fn classify(command: &str) -> Risk {
    classify_with(command, false)
}

/// The risk of a line the `shell` tool runs on the engineer's machine: as [`classify`],
/// except that `kubectl` and `psql` are unknown there (always asked) — they would reach
/// whatever cluster or database the machine's own config names, not the environment's
/// pinned ones; the agent has the `kubectl` and `psql` tools for those.
pub(crate) fn classify_on_this_machine(command: &str) -> Risk {
    classify_with(command, true)
}

fn classify_with(command: &str, unpinned_clients: bool) -> Risk {
    let mut parser = brush_parser::Parser::new(
        std::io::BufReader::new(command.as_bytes()),
        &brush_parser::ParserOptions::default(),
    );
    let Ok(program) = parser.parse_program() else {
        return Risk::Unknown;
    };
    let mut risk = Risk::ReadOnly;
    let mut commands = 0;
    for complete in &program.complete_commands {
        for item in &complete.0 {
            if matches!(item.1, SeparatorOperator::Async) {
                return Risk::Unknown;
            }
            for (_, pipeline) in item.0.iter() {
                for command in &pipeline.seq {
                    commands += 1;
                    risk = worst(risk, command_risk(command, unpinned_clients));
                }
            }
        }
    }
    if commands == 0 { Risk::Unknown } else { risk }
}

fn redirect_risk(redirect: &IoRedirect) -> Risk {
    let to_null = |word: &str| brush_parser::unquote_str(word) == "/dev/null";
    match redirect {
        IoRedirect::File(_, kind, target) => match (kind, target) {
            (_, IoFileRedirectTarget::ProcessSubstitution(..)) => Risk::Unknown,
            (IoFileRedirectKind::Read, IoFileRedirectTarget::Filename(w))
                if w.value.contains('$') =>
            {
                Risk::Unknown
            }
            (IoFileRedirectKind::Read | IoFileRedirectKind::DuplicateInput, _) => Risk::ReadOnly,
            (IoFileRedirectKind::DuplicateOutput, _) => Risk::ReadOnly,
            (_, IoFileRedirectTarget::Filename(w)) if to_null(&w.value) => Risk::ReadOnly,
            (_, IoFileRedirectTarget::Fd(_) | IoFileRedirectTarget::Duplicate(_)) => Risk::ReadOnly,
            _ => Risk::Mutating,
        },
        IoRedirect::HereDocument(..) | IoRedirect::HereString(..) => Risk::ReadOnly,
        IoRedirect::OutputAndError(word, _) if to_null(&word.value) => Risk::ReadOnly,
        IoRedirect::OutputAndError(..) => Risk::Mutating,
    }
}

fn command_risk(command: &Command, unpinned_clients: bool) -> Risk {
    let Command::Simple(simple) = command else {
        return Risk::Unknown;
    };
    let mut risk = Risk::ReadOnly;
    let mut words: Vec<String> = Vec::new();
    let items = simple
        .prefix
        .iter()
        .flat_map(|p| p.0.iter())
        .chain(simple.suffix.iter().flat_map(|s| s.0.iter()));
    for item in items {
        match item {
            CommandPrefixOrSuffixItem::IoRedirect(r) => risk = worst(risk, redirect_risk(r)),
            CommandPrefixOrSuffixItem::Word(w) => words.push(w.value.clone()),
            CommandPrefixOrSuffixItem::AssignmentWord(..)
            | CommandPrefixOrSuffixItem::ProcessSubstitution(..) => return Risk::Unknown,
        }
    }
    let Some(name) = &simple.word_or_name else {
        return Risk::Unknown;
    };
    words.insert(0, name.value.clone());
    // Substitutions and expansions decide at run time what runs; the gate can't see it.
    if words
        .iter()
        .any(|w| w.contains('$') || w.contains('`') || w.contains("<(") || w.contains(">("))
    {
        return Risk::Unknown;
    }
    let words: Vec<String> = words.iter().map(|w| brush_parser::unquote_str(w)).collect();
    if unpinned_clients
        && words
            .first()
            .and_then(|w| program_name(w))
            .is_some_and(|p| PINNED_CLIENTS.contains(&p))
    {
        return Risk::Unknown;
    }
    worst(risk, program_risk(&words))
}

/// The program's base name, when it is a bare name or lives in a system directory.
fn program_name(word: &str) -> Option<&str> {
    match word.rsplit_once('/') {
        None => Some(word),
        Some((dir, name)) if ["/bin", "/usr/bin", "/usr/sbin", "/sbin"].contains(&dir) => {
            Some(name)
        }
        Some(_) => None,
    }
}

fn program_risk(words: &[String]) -> Risk {
    let Some(program) = words.first().and_then(|w| program_name(w)) else {
        return Risk::Unknown;
    };
    let args = &words[1..];
    match program {
        "kubectl" => {
            let line = shell_words::join(
                std::iter::once("kubectl").chain(args.iter().map(String::as_str)),
            );
            kubectl_risk::classify(&line)
        }
        "psql" => psql_risk(args),
        "systemctl" => match args
            .iter()
            .find(|a| !a.starts_with('-'))
            .map(String::as_str)
        {
            Some(
                "status" | "show" | "is-active" | "is-enabled" | "is-failed" | "list-units"
                | "list-timers" | "list-unit-files" | "cat",
            ) => Risk::ReadOnly,
            _ => Risk::Mutating,
        },
        "docker" => match args
            .iter()
            .find(|a| !a.starts_with('-'))
            .map(String::as_str)
        {
            Some("ps" | "logs" | "inspect" | "stats" | "images" | "top" | "version" | "info") => {
                Risk::ReadOnly
            }
            _ => Risk::Mutating,
        },
        "rm" if recursive(args) => Risk::Destructive,
        "shred" | "wipefs" => Risk::Destructive,
        p if p.starts_with("mkfs") => Risk::Destructive,
        "dd" if args.iter().any(|a| a.starts_with("of=")) => Risk::Destructive,
        p if ESCALATING_PROGRAMS.contains(&p) => Risk::Unknown,
        p if WRITING_PROGRAMS.contains(&p) => Risk::Mutating,
        p if READ_ONLY_PROGRAMS.contains(&p) => {
            if writing_flag(p, args) {
                Risk::Mutating
            } else {
                Risk::ReadOnly
            }
        }
        _ => Risk::Unknown,
    }
}

/// `rm -r`, `-R`, `-rf`, `--recursive`: a whole tree goes.
fn recursive(args: &[String]) -> bool {
    args.iter().take_while(|a| *a != "--").any(|a| {
        a == "--recursive" || (a.starts_with('-') && !a.starts_with("--") && a.contains(['r', 'R']))
    })
}

/// Whether a read-only program was given a flag or operand that makes it write.
fn writing_flag(program: &str, args: &[String]) -> bool {
    let has = |flags: &[&str]| {
        args.iter().any(|a| {
            flags.iter().any(|f| {
                a == f
                    || (f.starts_with("--") && a.starts_with(&format!("{f}=")))
                    || (!f.starts_with("--")
                        && f.len() == 2
                        && a.starts_with(f)
                        && !a.starts_with("--"))
            })
        })
    };
    let operands = args.iter().filter(|a| !a.starts_with('-')).count();
    match program {
        "sort" => has(&["-o", "--output"]),
        "uniq" => operands >= 2,
        "find" => args.iter().any(|a| {
            [
                "-delete", "-exec", "-execdir", "-ok", "-okdir", "-fprint", "-fprint0", "-fprintf",
                "-fls",
            ]
            .contains(&a.as_str())
        }),
        "curl" => {
            has(&[
                "-o",
                "--output",
                "-O",
                "--remote-name",
                "-d",
                "--data",
                "--data-raw",
                "--data-binary",
                "--data-urlencode",
                "-F",
                "--form",
                "-T",
                "--upload-file",
                "-K",
                "--config",
                "--json",
            ]) || args.windows(2).any(|w| {
                (w[0] == "-X" || w[0] == "--request")
                    && !matches!(w[1].to_ascii_uppercase().as_str(), "GET" | "HEAD")
            }) || args.iter().any(|a| {
                a.strip_prefix("-X")
                    .or_else(|| a.strip_prefix("--request="))
                    .is_some_and(|m| {
                        !m.is_empty() && !matches!(m.to_ascii_uppercase().as_str(), "GET" | "HEAD")
                    })
            })
        }
        "journalctl" => args.iter().any(|a| {
            a.starts_with("--vacuum")
                || [
                    "--rotate",
                    "--flush",
                    "--sync",
                    "--relinquish-var",
                    "--setup-keys",
                ]
                .contains(&a.as_str())
        }),
        "date" => has(&["-s", "--set"]),
        "hostname" => operands > 0 || has(&["-F", "--file"]),
        _ => false,
    }
}

/// `psql -c SQL` is as risky as its SQL; anything else (a script, an interactive
/// session) is unknown.
fn psql_risk(args: &[String]) -> Risk {
    let mut sql = Vec::new();
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        if arg == "-c" || arg == "--command" {
            match iter.next() {
                Some(s) => sql.push(s.clone()),
                None => return Risk::Unknown,
            }
        } else if let Some(s) = arg.strip_prefix("--command=") {
            sql.push(s.to_string());
        } else if arg == "-f" || arg.starts_with("--file") {
            return Risk::Unknown;
        }
    }
    if sql.is_empty() {
        return Risk::Unknown;
    }
    sql.iter()
        .fold(Risk::ReadOnly, |r, s| worst(r, sql_risk::classify(s)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pipes_of_readers_are_read_only() {
        for line in [
            "grep -c ERROR /var/log/app.log",
            "journalctl -u payments --since '10 min ago' | grep -i timeout | sort | uniq -c | sort -rn | head",
            "ps aux | grep postgres",
            "kubectl get pods -n shop && kubectl top pods -n shop",
            "curl -s http://localhost:9090/-/healthy",
            "tail -n 100 app.log 2>/dev/null",
            "cat < /etc/hostname",
            "psql -c 'select state, count(*) from pg_stat_activity group by 1'",
        ] {
            assert_eq!(classify(line), Risk::ReadOnly, "{line}");
        }
    }

    #[test]
    fn writes_deletes_and_sql_writes_are_mutating() {
        for line in [
            "kubectl get pods; kubectl delete pod x -n prod",
            "psql -c \"select 1; insert into x values (1)\"",
            "grep x app.log > out.txt",
            "echo hi >> /etc/motd",
            "sort -o sorted.txt input.txt",
            "find /var/log -name '*.gz' -delete",
            "curl -X POST http://api/admin/flush",
            "curl -o /etc/passwd http://x",
            "journalctl --vacuum-size=1G",
            "systemctl restart payments",
            "ls | tee listing.txt",
        ] {
            assert_eq!(classify(line), Risk::Mutating, "{line}");
        }
    }

    #[test]
    fn unpinned_clients_on_this_machine_are_asked() {
        assert_eq!(classify("kubectl get pods -n shop"), Risk::ReadOnly);
        for line in [
            "kubectl get pods -n shop",
            "ls && /usr/bin/kubectl rollout history deployment/orders-db -n default",
            "psql -c 'select 1'",
        ] {
            assert_eq!(classify_on_this_machine(line), Risk::Unknown, "{line}");
        }
        assert_eq!(classify_on_this_machine("ps aux | grep x"), Risk::ReadOnly);
    }

    #[test]
    fn removing_trees_and_disks_is_destructive() {
        for line in [
            "rm -rf /tmp/cache",
            "rm -r /data",
            "rm --recursive /data",
            "rm -fR /data",
            "mkfs.ext4 /dev/sdb1",
            "ls && rm -rf /var/lib/postgresql",
        ] {
            assert_eq!(classify(line), Risk::Destructive, "{line}");
        }
        assert_eq!(classify("rm /tmp/x.log"), Risk::Mutating);
    }

    #[test]
    fn what_the_gate_cannot_see_is_unknown() {
        for line in [
            "sudo cat /etc/shadow",
            "echo $(rm -rf /)",
            "cat `ls`",
            "cat $HOME/.ssh/id_rsa",
            "diff <(ls a) <(ls b)",
            "sleep 100 &",
            "for f in *; do rm $f; done",
            "LD_PRELOAD=/tmp/x.so ls",
            "./deploy.sh",
            "/tmp/ls",
            "frobnicate --now",
            "xargs rm < files.txt",
            "awk '{ system(\"rm -rf /\") }' x",
            "echo 'unterminated",
            "",
        ] {
            assert_eq!(classify(line), Risk::Unknown, "{line:?}");
        }
    }
}
