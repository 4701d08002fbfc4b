//! The arguments of the operational tools a runbook names (`kubectl`, `psql`), so a
//! brain that follows a runbook builds the same typed value the tool parses.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub const KUBECTL: &str = "kubectl";
pub const PSQL: &str = "psql";

/// Arguments of `kubectl`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KubectlArgs {
    /// A full command line starting with `kubectl`.
    pub command: String,
}

/// Arguments of `psql`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PsqlArgs {
    /// The database service name, e.g. orders-db.
    pub target: String,
    /// The SQL to run.
    pub query: String,
}

/// A built-in read-only diagnostic of a live `psql` (the live tool offers them; the demo's
/// does not). Their output is psql's aligned table, with the columns each one names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[schemars(inline)]
pub enum PsqlDiagnostic {
    /// Sessions per application and state, with the oldest open transaction.
    Activity,
    /// Who blocks whom: each waiting session with the sessions holding its locks.
    Blocking,
    /// The statements with the most total execution time (pg_stat_statements).
    TopStatements,
    /// Tables by dead tuples, with their last vacuum times.
    Vacuum,
}

/// Arguments of a `psql` diagnostic call, as a brain builds it.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PsqlDiagnosticArgs {
    /// The database service name, e.g. orders-db.
    pub target: String,
    /// The diagnostic to run.
    pub diagnostic: PsqlDiagnostic,
}
