//! PostgreSQL through `tokio-postgres`: the live `psql` tool.
//!
//! Read-only SQL (as [`sql_risk`](super::super::sql_risk) judges it from the statement
//! text) runs inside `BEGIN TRANSACTION READ ONLY`, so even a misjudged statement cannot
//! write; everything else — `pg_terminate_backend`, `VACUUM`, `SET`, DDL, DML — waits for
//! approval and then runs as written. Built-in diagnostics cover what an on-call engineer
//! asks first: sessions by state, blocking chains, the costliest statements, dead tuples.
//! When the configured URL has no password the engineer is asked for one at the first
//! call; it goes into that one connection and nowhere else.

use super::super::{
    CallPreview, CredentialSpec, Secret, ToolError, ToolOutput, ToolSpec, TypedTool, parse_args,
    schema_of, sql_risk,
};
use crate::event::{Risk, SessionScope};
use futures::future::BoxFuture;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};
use std::str::FromStr;
use std::time::Duration;
use tokio_postgres::SimpleQueryMessage;

/// Rows shown per result set; the rest are counted.
const MAX_ROWS: usize = 200;

/// The built-in diagnostics, as the protocol names them (a brain builds the same value).
pub(super) use crate::protocol::ops::PsqlDiagnostic as Diagnostic;

/// The query each built-in diagnostic runs.
fn diagnostic_sql(diagnostic: Diagnostic) -> &'static str {
    match diagnostic {
        Diagnostic::Activity => {
            "SELECT application_name, state, count(*) AS sessions, \
                 max(now() - xact_start) AS oldest_xact, \
                 count(*) FILTER (WHERE wait_event_type = 'Lock') AS waiting_on_locks, \
                 max(now() - query_start) FILTER (WHERE state = 'active' \
                   AND wait_event_type IS DISTINCT FROM 'Lock') AS longest_query, \
                 current_setting('max_connections') AS max_connections, \
                 left(max(query), 60) AS sample_query \
                 FROM pg_stat_activity \
                 WHERE backend_type = 'client backend' AND pid <> pg_backend_pid() \
                 GROUP BY application_name, state ORDER BY sessions DESC"
        }
        Diagnostic::Blocking => {
            "SELECT blocked.pid AS blocked_pid, blocked.application_name AS blocked_app, \
                 now() - blocked.query_start AS waiting, \
                 blocking.pid AS blocking_pid, blocking.application_name AS blocking_app, \
                 blocking.state AS blocking_state, now() - blocking.xact_start AS blocking_xact_age, \
                 (SELECT l.relation::regclass::text FROM pg_locks AS l WHERE l.pid = blocked.pid \
                   AND NOT l.granted AND l.relation IS NOT NULL LIMIT 1) AS locked_relation, \
                 left(blocked.query, 60) AS blocked_query, left(blocking.query, 60) AS blocking_query \
                 FROM pg_stat_activity AS blocked \
                 CROSS JOIN LATERAL unnest(pg_blocking_pids(blocked.pid)) AS holder(pid) \
                 JOIN pg_stat_activity AS blocking ON blocking.pid = holder.pid \
                 ORDER BY waiting DESC"
        }
        Diagnostic::TopStatements => {
            "SELECT calls, round(total_exec_time::numeric, 1) AS total_ms, \
                 round(mean_exec_time::numeric, 2) AS mean_ms, rows, left(query, 80) AS query \
                 FROM pg_stat_statements ORDER BY total_exec_time DESC LIMIT 10"
        }
        Diagnostic::Vacuum => {
            "SELECT relname, n_live_tup, n_dead_tup, \
                 round(100.0 * n_dead_tup / nullif(n_live_tup + n_dead_tup, 0), 1) AS dead_pct, \
                 last_vacuum, last_autovacuum FROM pg_stat_user_tables \
                 ORDER BY n_dead_tup DESC LIMIT 15"
        }
    }
}

/// Arguments of the live `psql`.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct PgArgs {
    /// The database, as the environment names it (e.g. orders-db).
    target: String,
    /// SQL to run. Reads run in a read-only transaction; anything else waits for approval.
    query: Option<String>,
    /// A built-in read-only diagnostic, instead of `query`.
    diagnostic: Option<Diagnostic>,
}

/// One configured database.
pub(super) struct Postgres {
    config: tokio_postgres::Config,
    name: String,
    /// `user@host:port/db`, for prompts and previews (never the password).
    display: String,
    timeout: Duration,
}

impl Postgres {
    pub(super) fn new(
        url: &str,
        name: Option<&str>,
        password: Option<&Secret>,
        timeout: Duration,
    ) -> Result<Postgres, ToolError> {
        let mut config = tokio_postgres::Config::from_str(url).map_err(|e| {
            ToolError::InvalidArguments(format!(
                "postgres = \"…\" is not a connection URL ({e}); expected postgres://user@host:port/db"
            ))
        })?;
        config.application_name("hunch");
        if let Some(password) = password {
            config.password(password.expose());
        }
        config.connect_timeout(timeout.min(Duration::from_secs(10)));
        let db = config.get_dbname().unwrap_or("postgres").to_string();
        let host = config
            .get_hosts()
            .first()
            .map(|h| match h {
                tokio_postgres::config::Host::Tcp(h) => h.clone(),
                tokio_postgres::config::Host::Unix(p) => p.display().to_string(),
            })
            .unwrap_or_else(|| "localhost".into());
        let port = config.get_ports().first().copied().unwrap_or(5432);
        let display = format!(
            "{}@{host}:{port}/{db}",
            config.get_user().unwrap_or("postgres")
        );
        Ok(Postgres {
            name: name.map(str::to_string).unwrap_or(db),
            display,
            config,
            timeout,
        })
    }

    pub(super) fn name(&self) -> &str {
        &self.name
    }

    fn needs_password(&self) -> bool {
        self.config.get_password().is_none()
    }

    /// The SQL a call runs, and the diagnostic it came from; the target must be this database.
    fn sql(&self, a: PgArgs) -> Result<(String, Option<Diagnostic>), ToolError> {
        if a.target != self.name {
            return Err(ToolError::InvalidArguments(format!(
                "no database `{}` in this environment; it has `{}`",
                a.target, self.name
            )));
        }
        match (a.query, a.diagnostic) {
            (Some(q), None) if !q.trim().is_empty() => Ok((q, None)),
            (None, Some(d)) => Ok((diagnostic_sql(d).to_string(), Some(d))),
            (Some(_), Some(_)) => Err(ToolError::InvalidArguments(
                "give either `query` or `diagnostic`, not both".into(),
            )),
            _ => Err(ToolError::InvalidArguments(
                "`query` (SQL) or `diagnostic` is required".into(),
            )),
        }
    }

    /// The result sets in psql's aligned format, and how many rows they held.
    async fn execute(
        &self,
        sql: &str,
        read_only: bool,
        secret: Option<&Secret>,
    ) -> Result<(String, usize), ToolError> {
        let mut config = self.config.clone();
        if let Some(secret) = secret {
            config.password(secret.expose());
        }
        let (client, connection) = config
            .connect(tokio_postgres::NoTls)
            .await
            .map_err(|e| self.error("connecting", &e))?;
        let driver = tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "postgres connection ended");
            }
        });
        let timeout_ms = self.timeout.as_millis();
        let setup = if read_only {
            format!("BEGIN TRANSACTION READ ONLY; SET LOCAL statement_timeout = {timeout_ms}")
        } else {
            format!("SET statement_timeout = {timeout_ms}")
        };
        let result = async {
            client
                .batch_execute(&setup)
                .await
                .map_err(|e| self.error("starting", &e))?;
            if read_only {
                // The server parses it as one statement, or it doesn't run: a `COMMIT`
                // hidden from the classifier (by a quirk of its lexer) would end the
                // read-only transaction and let what follows write.
                client
                    .prepare(sql)
                    .await
                    .map_err(|e| self.error("checking the read-only statement", &e))?;
            }
            let messages = client
                .simple_query(sql)
                .await
                .map_err(|e| self.error("running the query", &e))?;
            if read_only {
                client
                    .batch_execute("ROLLBACK")
                    .await
                    .map_err(|e| self.error("ending the read-only transaction", &e))?;
            }
            let rows = messages
                .iter()
                .filter(|m| matches!(m, SimpleQueryMessage::Row(_)))
                .count();
            Ok((render(&messages), rows))
        }
        .await;
        drop(client);
        driver.abort();
        result
    }

    fn error(&self, doing: &str, e: &tokio_postgres::Error) -> ToolError {
        let detail = match e.as_db_error() {
            Some(db) => {
                let mut text = format!("{}: {}", db.code().code(), db.message());
                if let Some(hint) = db.hint() {
                    text.push_str(&format!(" (hint: {hint})"));
                }
                text
            }
            None => {
                let mut text = e.to_string();
                let mut source = std::error::Error::source(e);
                while let Some(s) = source {
                    text.push_str(&format!(": {s}"));
                    source = s.source();
                }
                text
            }
        };
        ToolError::Failed(format!("postgres {} {doing}: {detail}", self.display))
    }
}

/// Result sets as psql's aligned format: a header, a rule, rows, and a row count.
fn render(messages: &[SimpleQueryMessage]) -> String {
    let mut out = String::new();
    let mut table: Vec<Vec<String>> = Vec::new();
    let mut header: Vec<String> = Vec::new();
    let flush = |out: &mut String, header: &[String], table: &mut Vec<Vec<String>>| {
        if header.is_empty() {
            return;
        }
        let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
        for row in table.iter().take(MAX_ROWS) {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let line = |cells: &[String]| -> String {
            cells
                .iter()
                .zip(&widths)
                .map(|(c, w)| format!(" {c:<w$} "))
                .collect::<Vec<_>>()
                .join("|")
                .trim_end()
                .to_string()
        };
        out.push_str(&line(header));
        out.push('\n');
        out.push_str(
            &widths
                .iter()
                .map(|w| "-".repeat(w + 2))
                .collect::<Vec<_>>()
                .join("+"),
        );
        out.push('\n');
        for row in table.iter().take(MAX_ROWS) {
            out.push_str(&line(row));
            out.push('\n');
        }
        if table.len() > MAX_ROWS {
            out.push_str(&format!(
                "… {} not shown\n",
                crate::text::plural(table.len() - MAX_ROWS, "more row")
            ));
        }
        out.push_str(&format!(
            "({} row{})\n",
            table.len(),
            if table.len() == 1 { "" } else { "s" }
        ));
        table.clear();
    };
    for message in messages {
        match message {
            SimpleQueryMessage::RowDescription(columns) => {
                flush(&mut out, &header, &mut table);
                header = columns.iter().map(|c| c.name().to_string()).collect();
            }
            SimpleQueryMessage::Row(row) => {
                if header.is_empty() {
                    header = row.columns().iter().map(|c| c.name().to_string()).collect();
                }
                table.push(
                    (0..row.len())
                        .map(|i| row.get(i).unwrap_or("").replace('\n', " "))
                        .collect(),
                );
            }
            SimpleQueryMessage::CommandComplete(n) => {
                if header.is_empty() {
                    out.push_str(&format!("OK, {n} rows affected\n"));
                } else {
                    flush(&mut out, &header, &mut table);
                    header.clear();
                }
            }
            _ => {}
        }
    }
    flush(&mut out, &header, &mut table);
    out
}

/// A psql call as parsed once: the SQL it runs (and the diagnostic it came from), or
/// why it can't run here (another database, both or neither of query and diagnostic).
pub(super) struct PgCall {
    sql: Result<(String, Option<Diagnostic>), ToolError>,
}

impl TypedTool for Postgres {
    type Args = PgCall;

    fn spec(&self) -> ToolSpec {
        ToolSpec {
            name: "psql".into(),
            description: format!(
                "Run SQL on the PostgreSQL database `{}`, or a built-in diagnostic (activity, blocking, top_statements, vacuum). Reads run in a read-only transaction at once; anything else (pg_terminate_backend, VACUUM, SET, DDL, DML) waits for the engineer's approval.",
                self.name
            ),
            parameters: schema_of::<PgArgs>(),
        }
    }

    fn parse(&self, args: &Value) -> Result<PgCall, ToolError> {
        Ok(PgCall {
            sql: self.sql(parse_args(args)?),
        })
    }

    fn classify(&self, args: &PgCall) -> Risk {
        let Ok((sql, _)) = &args.sql else {
            return Risk::Unknown;
        };
        match sql_risk::classify(sql) {
            Risk::ReadOnly if self.needs_password() => Risk::NeedsCredentials,
            risk => risk,
        }
    }

    fn credential(&self, _args: &PgCall) -> Option<CredentialSpec> {
        self.needs_password().then(|| CredentialSpec {
            target: format!("postgres {}", self.display),
            prompt: format!("Password for {}", self.display),
        })
    }

    fn preview(&self, args: &PgCall) -> CallPreview {
        let command = match &args.sql {
            Ok((_, Some(d))) => format!("psql diagnostic {d:?}").to_lowercase(),
            Ok((sql, None)) => sql.split_whitespace().collect::<Vec<_>>().join(" "),
            Err(e) => format!("psql ({e})"),
        };
        CallPreview {
            command,
            target: format!("{} ({})", self.name, self.display),
        }
    }

    fn session_scope(&self, args: &PgCall, risk: Risk) -> Option<SessionScope> {
        let (sql, _) = args.sql.as_ref().ok()?;
        crate::scope::sql("psql", &self.name, sql, risk)
    }

    fn dry_run<'a>(&'a self, args: &'a PgCall) -> BoxFuture<'a, Option<String>> {
        Box::pin(async move {
            let (sql, _) = args.sql.as_ref().ok()?;
            let pids = sql_risk::backend_pids(sql);
            if pids.is_empty() {
                return None;
            }
            if self.needs_password() {
                return Some(format!(
                    "no preview of backend {}: the password is typed after you decide",
                    join_pids(&pids)
                ));
            }
            Some(
                match self.execute(&backend_preview_sql(&pids), true, None).await {
                    Ok((text, 0)) => format!(
                        "no backend {} is connected now: the call would do nothing\n{text}",
                        join_pids(&pids)
                    ),
                    Ok((text, _)) => {
                        format!("the sessions this call ends, and what they block:\n{text}")
                    }
                    Err(e) => format!("preview failed: {e}"),
                },
            )
        })
    }

    fn args_from_command(&self, command: &str, original: &Value) -> Result<Value, ToolError> {
        Ok(json!({
            "target": original["target"].as_str().unwrap_or(&self.name),
            "query": command,
        }))
    }

    fn run<'a>(
        &'a self,
        args: &'a PgCall,
        secret: Option<&'a Secret>,
    ) -> BoxFuture<'a, Result<ToolOutput, ToolError>> {
        Box::pin(async move {
            let (sql, diagnostic) = args.sql.clone()?;
            if self.needs_password() && secret.is_none() {
                return Err(ToolError::MissingCredential);
            }
            let read_only = sql_risk::classify(&sql) == Risk::ReadOnly;
            let (text, rows) = self.execute(&sql, read_only, secret).await?;
            let digest = match diagnostic {
                Some(d) => format!("{d:?} diagnostic: {rows} rows").to_lowercase(),
                None if read_only => format!("{rows} rows (read-only transaction)"),
                None => text.lines().last().unwrap_or("done").to_string(),
            };
            Ok(ToolOutput {
                text,
                language: "table",
                digest,
                raw: None,
                display: None,
            })
        })
    }
}

fn join_pids(pids: &[i64]) -> String {
    pids.iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Who each backend is (user, application, state, transaction age, query) and how many
/// sessions wait on its locks: what ending it would end. Read-only.
fn backend_preview_sql(pids: &[i64]) -> String {
    format!(
        "SELECT a.pid, a.usename AS user, a.application_name, a.state, \
         now() - a.xact_start AS xact_age, left(a.query, 80) AS query, \
         (SELECT count(*) FROM pg_stat_activity AS w WHERE a.pid = ANY(pg_blocking_pids(w.pid))) AS sessions_it_blocks \
         FROM pg_stat_activity AS a WHERE a.pid IN ({}) ORDER BY a.pid",
        join_pids(pids)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db(url: &str) -> std::sync::Arc<dyn crate::Tool> {
        crate::typed(Postgres::new(url, Some("orders-db"), None, Duration::from_secs(5)).unwrap())
    }

    #[test]
    fn risk_and_credentials_come_from_the_arguments_and_the_url() {
        let no_password = db("postgres://readonly@127.0.0.1:5432/shop");
        let read = json!({"target": "orders-db", "diagnostic": "blocking"});
        assert_eq!(no_password.classify(&read), Risk::NeedsCredentials);
        assert!(
            no_password
                .credential(&read)
                .unwrap()
                .prompt
                .contains("readonly@127.0.0.1:5432/shop")
        );
        let with_password = db("postgres://readonly:pw@127.0.0.1:5432/shop");
        assert_eq!(with_password.classify(&read), Risk::ReadOnly);
        assert!(with_password.credential(&read).is_none());
        assert!(!with_password.preview(&read).unwrap().target.contains("pw"));
        let write = json!({"target": "orders-db", "query": "select 1; drop table x"});
        assert_eq!(with_password.classify(&write), Risk::Destructive);
        let both = json!({"target": "orders-db", "query": "select 1", "diagnostic": "vacuum"});
        assert_eq!(with_password.classify(&both), Risk::Unknown);
    }

    #[test]
    fn a_bad_url_is_named() {
        let err = Postgres::new("postgres://x:y@[::1", None, None, Duration::from_secs(1))
            .err()
            .unwrap();
        assert!(err.to_string().contains("connection URL"), "{err}");
    }
}
