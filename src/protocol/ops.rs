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
