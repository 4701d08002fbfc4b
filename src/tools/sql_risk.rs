//! Classifying SQL by what it does: a statement splitter that respects quotes, dollar
//! quotes and comments, then a look at each statement's leading keyword and at the
//! functions it calls. Every statement must be read-only for the whole text to be.
//! `select 1; drop table x` is mutating.

use crate::event::Risk;

/// Functions that change server state even inside a SELECT.
const MUTATING_FUNCTIONS: &[&str] = &[
    "pg_terminate_backend",
    "pg_cancel_backend",
    "pg_reload_conf",
    "pg_rotate_logfile",
    "set_config",
    "nextval",
    "setval",
    "pg_advisory_lock",
    "pg_advisory_xact_lock",
    "lo_unlink",
    "pg_switch_wal",
    "pg_create_restore_point",
    "dblink_exec",
];

const READ_ONLY_LEADS: &[&str] = &["select", "with", "show", "explain", "table", "values"];
const WRITE_WORDS: &[&str] = &[
    "insert", "update", "delete", "merge", "truncate", "drop", "alter", "create", "grant",
    "revoke", "copy", "into",
];

/// Split SQL into statements, dropping comments and keeping string contents out of the
/// words we look at (strings are replaced by `''`).
pub fn statements(sql: &str) -> Vec<String> {
    let chars: Vec<char> = sql.chars().collect();
    let mut out = Vec::new();
    let mut current = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        match c {
            '-' if next == Some('-') => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
                continue;
            }
            '/' if next == Some('*') => {
                i += 2;
                while i + 1 < chars.len() && !(chars[i] == '*' && chars[i + 1] == '/') {
                    i += 1;
                }
                i += 2;
                continue;
            }
            '\'' | '"' => {
                i += 1;
                while i < chars.len() && chars[i] != c {
                    i += 1;
                }
                current.push_str(if c == '\'' { "''" } else { "\"q\"" });
            }
            '$' => {
                let tag_end = chars[i + 1..].iter().position(|&ch| ch == '$');
                let is_tag = tag_end.is_some_and(|end| {
                    chars[i + 1..i + 1 + end]
                        .iter()
                        .all(|ch| ch.is_alphanumeric() || *ch == '_')
                        && !chars[i + 1..i + 1 + end]
                            .first()
                            .is_some_and(char::is_ascii_digit)
                });
                if let (true, Some(end)) = (is_tag, tag_end) {
                    let tag: String = chars[i..i + end + 2].iter().collect();
                    let body_start = i + end + 2;
                    let rest: String = chars[body_start..].iter().collect();
                    let close = rest.find(&tag).map(|p| rest[..p].chars().count());
                    i = body_start
                        + close
                            .map(|n| n + tag.chars().count())
                            .unwrap_or(rest.chars().count());
                    current.push_str("''");
                    continue;
                }
                current.push(c);
            }
            ';' => {
                if !current.trim().is_empty() {
                    out.push(current.trim().to_string());
                }
                current.clear();
            }
            _ => current.push(c),
        }
        i += 1;
    }
    if !current.trim().is_empty() {
        out.push(current.trim().to_string());
    }
    out
}

fn words(statement: &str) -> Vec<String> {
    statement
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_lowercase)
        .collect()
}

/// Read-only only if every statement is a plain read.
pub fn classify(sql: &str) -> Risk {
    let statements = statements(sql);
    if statements.is_empty() {
        return Risk::Unknown;
    }
    for statement in &statements {
        let words = words(statement);
        let Some(lead) = words.first() else {
            return Risk::Unknown;
        };
        if !READ_ONLY_LEADS.contains(&lead.as_str()) {
            return Risk::Mutating;
        }
        if lead == "explain" && words.iter().any(|w| w == "analyze" || w == "analyse") {
            return Risk::Mutating;
        }
        if words.iter().any(|w| WRITE_WORDS.contains(&w.as_str()))
            || words
                .iter()
                .any(|w| MUTATING_FUNCTIONS.contains(&w.as_str()))
            || (words.iter().any(|w| w == "for")
                && words.iter().any(|w| w == "update" || w == "share"))
        {
            return Risk::Mutating;
        }
    }
    Risk::ReadOnly
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_are_read_only() {
        assert_eq!(
            classify("SELECT state, count(*) FROM pg_stat_activity GROUP BY 1"),
            Risk::ReadOnly
        );
        assert_eq!(classify("explain select * from orders"), Risk::ReadOnly);
        assert_eq!(
            classify("select 'drop table x; delete' as s"),
            Risk::ReadOnly
        );
        assert_eq!(classify("select $$ drop table x $$"), Risk::ReadOnly);
        assert_eq!(classify("-- drop table\nselect 1"), Risk::ReadOnly);
    }

    #[test]
    fn anything_that_writes_is_mutating() {
        assert_eq!(classify("select 1; drop table x"), Risk::Mutating);
        assert_eq!(
            classify("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"),
            Risk::Mutating
        );
        assert_eq!(
            classify("with d as (delete from t returning *) select * from d"),
            Risk::Mutating
        );
        assert_eq!(classify("explain analyze delete from t"), Risk::Mutating);
        assert_eq!(classify("vacuum full orders"), Risk::Mutating);
        assert_eq!(classify("select * from t for update"), Risk::Mutating);
        assert_eq!(classify("select * into new_t from t"), Risk::Mutating);
        assert_eq!(classify("set statement_timeout = 0"), Risk::Mutating);
        assert_eq!(classify("  ;  "), Risk::Unknown);
    }
}
