//! Classifying SQL by what it does: a statement splitter that respects quotes, dollar
//! quotes and comments, then a look at each statement's leading keyword and at the
//! functions it calls. Every statement must be read-only for the whole text to be.
//! `select 1; drop table x` is mutating.
//!
//! Destructive, above mutating: DROP, TRUNCATE, `ALTER … DROP`, and DELETE or UPDATE
//! without a WHERE — what no later statement can undo. No session or trusted rule covers
//! those.
//!
//! [`shape`] is what a session approval of a statement covers: its kind, write keywords,
//! functions and tables, and its skeleton — every token in order, so WHERE and SET are
//! kept, with literal values free (`?`) except a backend pid given to
//! `pg_terminate_backend`/`pg_cancel_backend`, which names the session acted on the way a
//! table name names a table. Case, spacing and comments don't matter, and
//! `pg_terminate_backend (pid)` is `pg_terminate_backend(pid)`. Text with more than one
//! statement has no shape and is never covered by a session approval.

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
    split(sql, false)
}

/// Split SQL into statements as [`statements`] does, or — `keep_strings` — with each
/// string literal kept whole (`'…'`, inner quotes doubled), for a shape that must tell
/// `'cleanup'` from `'api'`.
fn split(sql: &str, keep_strings: bool) -> Vec<String> {
    let chars: Vec<char> = sql.chars().collect();
    let mut out = Vec::new();
    let mut current = String::new();
    let mut i = 0;
    // What PostgreSQL's lexer does, where a looser reading would hide code from the
    // classifier: block comments nest, `E'…'` strings take backslash escapes, and a `$`
    // inside an identifier (`a$x$`) starts no dollar quote.
    let is_ident = |c: char| c.is_alphanumeric() || c == '_' || c == '$';
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        let prev = i.checked_sub(1).map(|p| chars[p]);
        match c {
            '-' if next == Some('-') => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
                continue;
            }
            '/' if next == Some('*') => {
                let mut depth = 1;
                i += 2;
                while i < chars.len() && depth > 0 {
                    match (chars[i], chars.get(i + 1)) {
                        ('/', Some('*')) => {
                            depth += 1;
                            i += 2;
                        }
                        ('*', Some('/')) => {
                            depth -= 1;
                            i += 2;
                        }
                        _ => i += 1,
                    }
                }
                current.push(' ');
                continue;
            }
            '\'' | '"' => {
                let escapes = c == '\''
                    && matches!(prev, Some('e' | 'E'))
                    && !i.checked_sub(2).is_some_and(|p| is_ident(chars[p]));
                let start = i + 1;
                i += 1;
                while i < chars.len() && chars[i] != c {
                    if escapes && chars[i] == '\\' {
                        i += 1;
                    }
                    i += 1;
                }
                if c == '\'' && keep_strings {
                    let content: String = chars[start..i.min(chars.len())].iter().collect();
                    current.push('\'');
                    current.push_str(&content.replace('\'', "''"));
                    current.push('\'');
                } else if c == '\'' {
                    current.push_str("''");
                } else {
                    // A quoted identifier keeps its name: it may be the table a call touches.
                    current.push('"');
                    current.extend(&chars[start..i.min(chars.len())]);
                    current.push('"');
                }
            }
            '$' if prev.is_some_and(is_ident) => current.push(c),
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

/// Read-only only if every statement is a plain read; as risky as the riskiest one.
pub fn classify(sql: &str) -> Risk {
    let statements = statements(sql);
    if statements.is_empty() {
        return Risk::Unknown;
    }
    statements
        .iter()
        .map(|s| statement_risk(&words(s)))
        .fold(Risk::ReadOnly, Risk::max)
}

fn statement_risk(words: &[String]) -> Risk {
    let Some(lead) = words.first() else {
        return Risk::Unknown;
    };
    if is_destructive(words) {
        return Risk::Destructive;
    }
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
        || (words.iter().any(|w| w == "for") && words.iter().any(|w| w == "update" || w == "share"))
    {
        return Risk::Mutating;
    }
    Risk::ReadOnly
}

/// DROP and TRUNCATE anywhere (a CTE included), and a DELETE or UPDATE with no WHERE
/// after it: every row goes.
fn is_destructive(words: &[String]) -> bool {
    if words.iter().any(|w| w == "drop" || w == "truncate") {
        return true;
    }
    words.iter().enumerate().any(|(i, w)| {
        // `FOR UPDATE`, `FOR NO KEY UPDATE`, `ON DELETE CASCADE` lock or declare; they
        // write nothing themselves.
        let qualified = i > 0 && matches!(words[i - 1].as_str(), "for" | "no" | "on");
        let row_write = (w == "delete" || w == "update") && !qualified;
        row_write && !words[i + 1..].iter().any(|w| w == "where")
    })
}

/// Keywords that write, whatever statement they appear in.
const SHAPE_WRITES: &[&str] = &[
    "insert", "update", "delete", "merge", "truncate", "drop", "alter", "create", "grant",
    "revoke", "copy", "into", "vacuum", "analyze", "analyse", "reindex", "cluster", "lock",
    "refresh", "call", "do", "set", "reset", "comment", "security", "listen", "notify",
];
/// Keywords after which a table name follows.
const TABLE_LEADS: &[&str] = &[
    "from", "join", "update", "into", "table", "truncate", "using", "only", "lock", "vacuum",
    "analyze", "analyse", "full", "verbose", "freeze", "reindex", "cluster", "copy", "on",
];
/// Keywords that take a parenthesis without being function calls.
const NOT_FUNCTIONS: &[&str] = &[
    "in", "exists", "any", "all", "some", "values", "as", "over", "filter", "using", "on", "and",
    "or", "not", "where", "when", "then", "else", "case", "select", "from", "join", "lateral",
    "with", "by", "into", "table",
];

/// What a session approval of one SQL statement covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqlShape {
    pub statement: String,
    pub writes: Vec<String>,
    pub functions: Vec<String>,
    pub tables: Vec<String>,
    /// Every token in order, literals as `?` except backend pids.
    pub skeleton: String,
}

/// Functions whose literal arguments name what they act on (a backend's pid), so a
/// session approval of one call never covers another target.
const TARGET_NAMING_FUNCTIONS: &[&str] = &["pg_terminate_backend", "pg_cancel_backend"];

/// The backend pids a statement terminates or cancels, when each is a literal number
/// (`pg_terminate_backend(31616)`); empty when it names none that way.
pub(crate) fn backend_pids(sql: &str) -> Vec<i64> {
    let mut pids = Vec::new();
    for statement in statements(sql) {
        let tokens = tokens(&statement);
        for window in tokens.windows(4) {
            if TARGET_NAMING_FUNCTIONS.contains(&window[0].as_str())
                && window[1] == "("
                && window[3] == ")"
                && let Ok(pid) = window[2].parse::<i64>()
            {
                pids.push(pid);
            }
        }
    }
    pids
}

/// The statement's tokens joined by spaces, with literal values as `?` except inside the
/// parentheses of a [`TARGET_NAMING_FUNCTIONS`] call.
fn skeleton(tokens: &[String]) -> String {
    // A statement that ends backends chooses which by its literals wherever they are
    // (`WHERE pid = 31616`, `application_name = 'cleanup'`): all of them stay.
    if tokens
        .iter()
        .any(|t| TARGET_NAMING_FUNCTIONS.contains(&t.as_str()))
    {
        return tokens.join(" ");
    }
    let mut out: Vec<&str> = Vec::with_capacity(tokens.len());
    // Depth of parentheses inside a target-naming call (0: outside any).
    let mut naming_depth = 0usize;
    let mut i = 0;
    while i < tokens.len() {
        let token = tokens[i].as_str();
        let next = tokens.get(i + 1).map(String::as_str);
        if naming_depth == 0 && TARGET_NAMING_FUNCTIONS.contains(&token) && next == Some("(") {
            out.extend([token, "("]);
            naming_depth = 1;
            i += 2;
            continue;
        }
        if naming_depth > 0 {
            match token {
                "(" => naming_depth += 1,
                ")" => naming_depth -= 1,
                _ => {}
            }
            out.push(token);
        } else if token.starts_with('\'') || token.starts_with(|c: char| c.is_ascii_digit()) {
            out.push("?");
        } else {
            out.push(token);
        }
        i += 1;
    }
    out.join(" ")
}

/// Tokens of one statement: identifiers (lower-cased unless quoted, schema-qualified
/// names kept whole) and single punctuation characters.
fn tokens(statement: &str) -> Vec<String> {
    let chars: Vec<char> = statement.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let is_ident = |c: char| c.is_alphanumeric() || c == '_' || c == '$' || c == '.';
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '\'' {
            // A string literal, whole (inner quotes are doubled).
            let start = i;
            i += 1;
            while i < chars.len() {
                if chars[i] == '\'' && chars.get(i + 1) == Some(&'\'') {
                    i += 2;
                } else if chars[i] == '\'' {
                    break;
                } else {
                    i += 1;
                }
            }
            i = (i + 1).min(chars.len());
            out.push(chars[start..i].iter().collect());
        } else if c == '"' {
            let start = i;
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                i += 1;
            }
            i = (i + 1).min(chars.len());
            out.push(chars[start..i].iter().collect());
        } else if is_ident(c) {
            let start = i;
            while i < chars.len() && (is_ident(chars[i]) || chars[i] == '"') {
                if chars[i] == '"' {
                    i += 1;
                    while i < chars.len() && chars[i] != '"' {
                        i += 1;
                    }
                }
                i = (i + 1).min(chars.len());
            }
            let word: String = chars[start..i].iter().collect();
            out.push(if word.contains('"') {
                word
            } else {
                word.to_lowercase()
            });
        } else {
            out.push(c.to_string());
            i += 1;
        }
    }
    out
}

fn is_name(token: &str) -> bool {
    token
        .chars()
        .next()
        .is_some_and(|c| c.is_alphabetic() || c == '_' || c == '"')
}

/// The shape of `sql` when it is exactly one statement.
pub fn shape(sql: &str) -> Option<SqlShape> {
    let statements = split(sql, true);
    let [statement] = statements.as_slice() else {
        return None;
    };
    let tokens = tokens(statement);
    let lead = tokens.first().filter(|t| is_name(t))?.clone();
    let mut writes = std::collections::BTreeSet::new();
    let mut functions = std::collections::BTreeSet::new();
    let mut tables = std::collections::BTreeSet::new();
    for (i, token) in tokens.iter().enumerate() {
        let next = tokens.get(i + 1).map(String::as_str);
        if SHAPE_WRITES.contains(&token.as_str()) {
            writes.insert(token.clone());
        }
        if next == Some("(") && is_name(token) && !NOT_FUNCTIONS.contains(&token.as_str()) {
            functions.insert(token.clone());
        }
        if TABLE_LEADS.contains(&token.as_str()) {
            tables.extend(table_list(&tokens[i + 1..]));
        }
    }
    writes.remove(&lead);
    Some(SqlShape {
        statement: lead,
        writes: writes.into_iter().collect(),
        functions: functions.into_iter().collect(),
        tables: tables.into_iter().collect(),
        skeleton: skeleton(&tokens),
    })
}

/// The tables named after `FROM`/`JOIN`/…: `a`, `a x`, `a AS x, b`, `ONLY a`.
fn table_list(tokens: &[String]) -> Vec<String> {
    const NOT_TABLES: &[&str] = &[
        "only",
        "table",
        "lateral",
        "select",
        "where",
        "set",
        "as",
        "on",
        "join",
        "group",
        "order",
        "limit",
        "having",
        "window",
        "union",
        "values",
        "default",
        "returning",
    ];
    let mut out = Vec::new();
    let mut i = 0;
    loop {
        while tokens
            .get(i)
            .is_some_and(|t| t == "only" || t == "table" || t == "lateral")
        {
            i += 1;
        }
        let Some(name) = tokens.get(i).filter(|t| is_name(t)) else {
            return out;
        };
        if NOT_TABLES.contains(&name.as_str()) || tokens.get(i + 1).is_some_and(|t| t == "(") {
            return out;
        }
        out.push(name.clone());
        i += 1;
        if tokens.get(i).is_some_and(|t| t == "as") {
            i += 1;
        }
        if tokens
            .get(i)
            .is_some_and(|t| is_name(t) && t != "," && !NOT_TABLES.contains(&t.as_str()))
        {
            i += 1;
        }
        if tokens.get(i).is_some_and(|t| t == ",") {
            i += 1;
            continue;
        }
        return out;
    }
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
        assert_eq!(
            classify("select 1; insert into x values (1)"),
            Risk::Mutating
        );
        assert_eq!(
            classify("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"),
            Risk::Mutating
        );
        assert_eq!(
            classify("with d as (delete from t where id = 1 returning *) select * from d"),
            Risk::Mutating
        );
        assert_eq!(
            classify("explain analyze delete from t where id = 1"),
            Risk::Mutating
        );
        assert_eq!(classify("explain analyze delete from t"), Risk::Destructive);
        assert_eq!(classify("vacuum full orders"), Risk::Mutating);
        assert_eq!(classify("select * from t for update"), Risk::Mutating);
        assert_eq!(classify("select * into new_t from t"), Risk::Mutating);
        assert_eq!(classify("set statement_timeout = 0"), Risk::Mutating);
        assert_eq!(classify("  ;  "), Risk::Unknown);
    }

    #[test]
    fn what_cannot_be_undone_is_destructive() {
        for destructive in [
            "DROP TABLE orders",
            "truncate orders",
            "DELETE FROM orders",
            "update orders set total = 0",
            "UPDATE orders SET status='paid' WHERE id=7; DROP TABLE orders",
            "alter table orders drop column total",
            "with d as (delete from orders returning *) select count(*) from d",
        ] {
            assert_eq!(classify(destructive), Risk::Destructive, "{destructive}");
        }
        for mutating in [
            "DELETE FROM orders WHERE id = 5",
            "UPDATE orders SET status='paid' WHERE id=7",
            "select * from orders for update",
            "SELECT pg_terminate_backend(31616)",
            "insert into orders values (1)",
        ] {
            assert_eq!(classify(mutating), Risk::Mutating, "{mutating}");
        }
        assert_eq!(classify("select 'drop table orders'"), Risk::ReadOnly);
    }

    #[test]
    fn the_skeleton_keeps_where_set_and_pids() {
        let skeleton_of = |sql: &str| shape(sql).unwrap().skeleton;
        assert_eq!(
            skeleton_of("DELETE FROM orders WHERE id = 5"),
            skeleton_of("delete from orders where id=6 -- other row")
        );
        assert_ne!(
            skeleton_of("DELETE FROM orders WHERE id = 5"),
            skeleton_of("DELETE FROM orders")
        );
        assert_ne!(
            skeleton_of("UPDATE orders SET status='paid' WHERE id=7"),
            skeleton_of("UPDATE orders SET total = 0 WHERE id=7")
        );
        assert_ne!(
            skeleton_of("SELECT pg_terminate_backend(31616)"),
            skeleton_of("SELECT pg_terminate_backend(1)")
        );
        assert_eq!(
            skeleton_of("SELECT pg_terminate_backend(31616)"),
            "select pg_terminate_backend ( 31616 )"
        );
        assert_eq!(
            backend_pids("select pg_terminate_backend (31616), pg_cancel_backend(7)"),
            [31616, 7]
        );
        assert!(backend_pids("select pg_terminate_backend(pid) from pg_stat_activity").is_empty());
        assert_ne!(
            skeleton_of("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid = 31616"),
            skeleton_of("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid = 4242"),
            "a statement that ends backends keeps every literal"
        );
    }
}
