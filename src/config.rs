//! Configuration and paths: `config.toml` in the config dir, sessions and blobs in the
//! data dir, the log file in the state dir, all from `directories` (so XDG variables are
//! honoured on Linux).
//!
//! A broken config is an error that names the file, the line and what was expected;
//! hunch never starts with a config it only half understood.

use crate::brain::llm::providers::ProviderConfig;
use crate::engine::gate::Policy;
use crate::event::SessionScope;
use crate::tools::live::EnvironmentConfig;
use crate::tools::scope::TrustedRule;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}:{line}: {message}")]
    Invalid {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("no home directory found to keep hunch's files in; set HOME or XDG_DATA_HOME")]
    NoHome,
}

/// Where hunch keeps its files.
#[derive(Debug, Clone)]
pub struct Paths {
    pub config_dir: PathBuf,
    pub data_dir: PathBuf,
    pub state_dir: PathBuf,
}

impl Paths {
    pub fn discover() -> Result<Paths, ConfigError> {
        let dirs = directories::ProjectDirs::from("", "", "hunch").ok_or(ConfigError::NoHome)?;
        Ok(Paths {
            config_dir: dirs.config_dir().to_path_buf(),
            data_dir: dirs.data_dir().to_path_buf(),
            state_dir: dirs
                .state_dir()
                .unwrap_or_else(|| dirs.data_local_dir())
                .to_path_buf(),
        })
    }

    pub fn sessions_dir(&self) -> PathBuf {
        self.data_dir.join("sessions")
    }

    pub fn blobs_dir(&self) -> PathBuf {
        self.data_dir.join("blobs")
    }

    pub fn config_file(&self) -> PathBuf {
        self.config_dir.join("config.toml")
    }

    pub fn log_file(&self) -> PathBuf {
        self.state_dir.join("hunch.log")
    }
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Default)]
#[serde(rename_all = "kebab-case")]
enum PolicyName {
    #[default]
    Ask,
    ReadOnly,
    TrustedSession,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    theme: Option<String>,
    keymap: Option<String>,
    policy: Option<PolicyName>,
    #[serde(default)]
    trusted: Vec<toml::Spanned<TrustedRule>>,
    #[serde(default)]
    providers: BTreeMap<String, ProviderConfig>,
    #[serde(default)]
    redaction: RedactionConfig,
    #[serde(default)]
    environments: BTreeMap<String, EnvironmentConfig>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RedactionConfig {
    #[serde(default)]
    extra_patterns: Vec<String>,
}

/// The resolved configuration.
#[derive(Debug, Clone, Default)]
pub struct Config {
    pub theme: Option<String>,
    pub keymap: Option<String>,
    policy: PolicyName,
    /// `[[trusted]]` rules: the environment each holds in, and the scope it grants.
    trusted: Vec<(String, SessionScope)>,
    /// `[providers.NAME]` tables: model providers added to or overriding the presets.
    pub providers: BTreeMap<String, ProviderConfig>,
    /// Regexes redacted from model requests in addition to the built-in ones.
    pub redaction_patterns: Vec<String>,
    /// `[environments.NAME]` tables: the systems `hunch investigate --env NAME` reaches.
    pub environments: BTreeMap<String, EnvironmentConfig>,
}

impl Config {
    /// The policy in force in `environment` (an `[environments.NAME]`, or `demo` for the
    /// demo and bundles): `trusted-session` keeps only the rules written for it.
    pub fn policy_for(&self, environment: &str) -> Policy {
        match self.policy {
            PolicyName::Ask => Policy::Ask,
            PolicyName::ReadOnly => Policy::ReadOnly,
            PolicyName::TrustedSession => Policy::TrustedSession(
                self.trusted
                    .iter()
                    .filter(|(env, _)| env == environment)
                    .map(|(_, scope)| scope.clone())
                    .collect(),
            ),
        }
    }

    /// Load `config.toml`; a missing file is the default config.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Config::default()),
            Err(source) => {
                return Err(ConfigError::Io {
                    path: path.into(),
                    source,
                });
            }
        };
        Config::parse(&text, path)
    }

    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let line_of = |offset: usize| text[..offset.min(text.len())].matches('\n').count() + 1;
        let raw: RawConfig = toml::from_str(text).map_err(|e| ConfigError::Invalid {
            path: path.into(),
            line: e.span().map(|s| line_of(s.start)).unwrap_or(0),
            message: e.message().trim().to_string(),
        })?;
        let mut trusted = Vec::new();
        for rule in &raw.trusted {
            let scope = rule.get_ref().scope().map_err(|e| ConfigError::Invalid {
                path: path.into(),
                // The span may start at the blank line before `[[trusted]]`.
                line: line_of(
                    rule.span().start
                        + text[rule.span().start.min(text.len())..]
                            .chars()
                            .take_while(|c| c.is_whitespace())
                            .map(char::len_utf8)
                            .sum::<usize>(),
                ),
                message: format!("[[trusted]] rule: {e}"),
            })?;
            trusted.push((rule.get_ref().environment.trim().to_string(), scope));
        }
        let policy = match raw.policy.unwrap_or(PolicyName::Ask) {
            PolicyName::TrustedSession => {
                if trusted.is_empty() {
                    return Err(ConfigError::Invalid {
                        path: path.into(),
                        line: 0,
                        message: "policy = \"trusted-session\" needs at least one [[trusted]] rule with `tool` and an example `call`".into(),
                    });
                }
                PolicyName::TrustedSession
            }
            other => other,
        };
        Ok(Config {
            theme: raw.theme,
            keymap: raw.keymap,
            policy,
            trusted,
            providers: raw.providers,
            redaction_patterns: raw.redaction.extra_patterns,
            environments: raw.environments,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn providers_load_and_typos_are_named() {
        let text = "[providers.azure]\nbase_url = \"https://x/openai/v1\"\napi_key_env = \"AZURE_KEY\"\n[providers.azure.headers]\napi-version = \"2025-01-01\"\n";
        let config = Config::parse(text, Path::new("c.toml")).unwrap();
        assert_eq!(
            config.providers["azure"].headers["api-version"],
            "2025-01-01"
        );
        let err =
            Config::parse("[providers.x]\nbase_ulr = \"y\"\n", Path::new("c.toml")).unwrap_err();
        assert!(
            err.to_string().contains("base_ulr") && err.to_string().contains("`base_url`"),
            "{err}"
        );
    }

    #[test]
    fn environments_load_and_typos_are_named() {
        let text = "[environments.prod]\nprometheus = \"http://prometheus:9090\"\npostgres = \"postgres://readonly@db:5432/shop\"\nmcp = [{ name = \"grafana\", command = [\"mcp-grafana\"] }]\n";
        let config = Config::parse(text, Path::new("c.toml")).unwrap();
        let prod = &config.environments["prod"];
        assert_eq!(prod.prometheus.as_deref(), Some("http://prometheus:9090"));
        assert_eq!(prod.mcp[0].name, "grafana");
        assert_eq!(prod.service_label(), "service");
        let err = Config::parse(
            "[environments.prod]\nprometheus_url = \"x\"\n",
            Path::new("c.toml"),
        )
        .unwrap_err();
        assert!(
            err.to_string().starts_with("c.toml:")
                && err
                    .to_string()
                    .contains("unknown field `prometheus_url`, expected one of `prometheus`"),
            "{err}"
        );
    }

    #[test]
    fn trusted_session_rules_load_and_hold_only_in_their_environment() {
        let text = "policy = \"trusted-session\"\n[[trusted]]\nenvironment = \"lab\"\ntool = \"kubectl\"\ncall = \"kubectl rollout restart deployment/cart -n shop\"\n";
        let config = Config::parse(text, Path::new("c.toml")).unwrap();
        assert_eq!(config.policy_for("lab").name(), "trusted-session");
        let rules = |env: &str| match config.policy_for(env) {
            Policy::TrustedSession(rules) => rules.len(),
            other => panic!("{other:?}"),
        };
        assert_eq!(rules("lab"), 1);
        assert_eq!(rules("prod"), 0, "a lab rule never runs anything in prod");
        let err = Config::parse(
            "policy = \"trusted-session\"\n[[trusted]]\ntool = \"kubectl\"\ncall = \"kubectl get pods\"\n",
            Path::new("c.toml"),
        )
        .unwrap_err();
        assert!(err.to_string().contains("environment"), "{err}");
    }

    #[test]
    fn bad_trusted_rules_name_their_line() {
        let cases = [
            (
                "policy = \"trusted-session\"\n\n[[trusted]]\nenvironment = \"lab\"\ntool = \"kubectl\"\nprefix = \"\"\n",
                "unknown field `prefix`",
            ),
            (
                "policy = \"trusted-session\"\n\n[[trusted]]\nenvironment = \"lab\"\ntool = \"kubectl\"\ncall = \"\"\n",
                "`call` is empty",
            ),
            (
                "policy = \"trusted-session\"\n\n[[trusted]]\nenvironment = \"lab\"\ntool = \"kubectl\"\ncall = \"kubectl get pods; kubectl delete ns x\"\n",
                "can't be trusted",
            ),
            (
                "policy = \"trusted-session\"\n\n[[trusted]]\nenvironment = \"lab\"\ntool = \"psql\"\ncall = \"select 1\"\n",
                "needs `target`",
            ),
        ];
        for (text, expected) in cases {
            let err = Config::parse(text, Path::new("c.toml"))
                .unwrap_err()
                .to_string();
            assert!(err.contains(expected), "{err}");
            let line: usize = err.split(':').nth(1).unwrap().parse().unwrap();
            assert!((3..=6).contains(&line), "{err}");
        }
    }

    #[test]
    fn errors_name_file_line_and_expectation() {
        let err = Config::parse("theme = \"dark\"\npolicy = \"yolo\"\n", Path::new("c.toml"))
            .unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("c.toml:2:"), "{text}");
        assert!(text.contains("ask") && text.contains("read-only"), "{text}");
        let err = Config::parse("colour = 1\n", Path::new("c.toml")).unwrap_err();
        assert!(err.to_string().contains("unknown field `colour`"), "{err}");
        let err = Config::parse("policy = \"trusted-session\"\n", Path::new("c.toml")).unwrap_err();
        assert!(err.to_string().contains("[[trusted]]"));
    }
}
