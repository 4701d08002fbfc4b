//! Model specs (`openai:gpt-5.1`, `ollama:qwen3:14b`) resolved to endpoints: built-in
//! presets, the environment variables the official SDKs honour, and `[providers.NAME]`
//! tables in config.toml that add or override providers.

use super::{Dialect, Endpoint};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::time::Duration;

/// A provider's settings; every field optional so config.toml can override one field.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ProviderConfig {
    /// `openai` (default) or `anthropic`: the wire format.
    pub dialect: Option<String>,
    pub base_url: Option<String>,
    /// The variable holding the API key; unset means no key (local servers).
    pub api_key_env: Option<String>,
    /// A variable that overrides `base_url` when set (OPENAI_BASE_URL for `openai`).
    pub base_url_env: Option<String>,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    pub connect_timeout_secs: Option<u64>,
    pub stall_timeout_secs: Option<u64>,
    /// The longest a whole reply (headers to the last chunk) may take.
    pub reply_timeout_secs: Option<u64>,
    pub max_retries: Option<usize>,
    /// Dollars per million input tokens (enables cost in the status bar and --max-cost).
    pub price_input_per_mtok: Option<f64>,
    pub price_output_per_mtok: Option<f64>,
    /// The model's context window in tokens (otherwise asked of the server, else 8192
    /// for local servers and 128000 for hosted ones).
    pub context_window: Option<u64>,
}

/// name, base URL, base-URL variable, key variable.
const PRESETS: &[(&str, &str, Option<&str>, Option<&str>)] = &[
    (
        "openai",
        "https://api.openai.com/v1",
        Some("OPENAI_BASE_URL"),
        Some("OPENAI_API_KEY"),
    ),
    (
        "ollama",
        "http://localhost:11434/v1",
        Some("OLLAMA_BASE_URL"),
        None,
    ),
    (
        "vllm",
        "http://localhost:8000/v1",
        Some("VLLM_BASE_URL"),
        Some("VLLM_API_KEY"),
    ),
    (
        "llamacpp",
        "http://localhost:8080/v1",
        Some("LLAMACPP_BASE_URL"),
        None,
    ),
    (
        "lmstudio",
        "http://localhost:1234/v1",
        Some("LMSTUDIO_BASE_URL"),
        None,
    ),
    (
        "openrouter",
        "https://openrouter.ai/api/v1",
        Some("OPENROUTER_BASE_URL"),
        Some("OPENROUTER_API_KEY"),
    ),
    (
        "deepseek",
        "https://api.deepseek.com/v1",
        Some("DEEPSEEK_BASE_URL"),
        Some("DEEPSEEK_API_KEY"),
    ),
    (
        "anthropic",
        "https://api.anthropic.com",
        Some("ANTHROPIC_BASE_URL"),
        Some("ANTHROPIC_API_KEY"),
    ),
];

pub(crate) fn preset_names() -> Vec<&'static str> {
    PRESETS.iter().map(|p| p.0).collect()
}

fn preset(name: &str) -> Option<ProviderConfig> {
    PRESETS
        .iter()
        .find(|p| p.0 == name)
        .map(|(_, url, url_env, key_env)| ProviderConfig {
            base_url: Some(url.to_string()),
            base_url_env: url_env.map(str::to_string),
            api_key_env: key_env.map(str::to_string),
            dialect: (name == "anthropic").then(|| "anthropic".to_string()),
            ..ProviderConfig::default()
        })
}

fn merge(base: ProviderConfig, over: &ProviderConfig) -> ProviderConfig {
    let mut headers = base.headers;
    headers.extend(over.headers.clone());
    ProviderConfig {
        dialect: over.dialect.clone().or(base.dialect),
        base_url: over.base_url.clone().or(base.base_url),
        api_key_env: over.api_key_env.clone().or(base.api_key_env),
        base_url_env: over.base_url_env.clone().or(base.base_url_env),
        headers,
        connect_timeout_secs: over.connect_timeout_secs.or(base.connect_timeout_secs),
        stall_timeout_secs: over.stall_timeout_secs.or(base.stall_timeout_secs),
        reply_timeout_secs: over.reply_timeout_secs.or(base.reply_timeout_secs),
        max_retries: over.max_retries.or(base.max_retries),
        price_input_per_mtok: over.price_input_per_mtok.or(base.price_input_per_mtok),
        price_output_per_mtok: over.price_output_per_mtok.or(base.price_output_per_mtok),
        context_window: over.context_window.or(base.context_window),
    }
}

/// The longest silence allowed by default: a local server on a CPU may take minutes to
/// read a long prompt before its first token.
fn default_stall_secs(provider: &str) -> u64 {
    match provider {
        "ollama" | "llamacpp" | "lmstudio" | "vllm" => 300,
        _ => 60,
    }
}

/// Why a model spec names no endpoint.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ResolveError {
    #[error(
        "`{spec}` is not a model spec; write provider:model, e.g. openai:gpt-5.1 or ollama:qwen3:14b"
    )]
    NotASpec { spec: String },
    /// `known`: the presets, then the providers config.toml adds.
    #[error(
        "unknown provider `{provider}`; known: {} (add [providers.{provider}] to config.toml)",
        .known.join(", ")
    )]
    UnknownProvider {
        provider: String,
        known: Vec<String>,
    },
    #[error("provider `{provider}` has no base_url")]
    NoBaseUrl { provider: String },
    #[error("provider `{provider}`: dialect `{dialect}` is not openai or anthropic")]
    UnknownDialect { provider: String, dialect: String },
}

/// Resolve `provider:model` with `env` for variables (the process environment in `main`).
pub fn resolve(
    spec: &str,
    configured: &BTreeMap<String, ProviderConfig>,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Endpoint, ResolveError> {
    let (provider, model) = spec
        .split_once(':')
        .filter(|(p, m)| !p.is_empty() && !m.is_empty())
        .ok_or_else(|| ResolveError::NotASpec { spec: spec.into() })?;
    let settings = match (preset(provider), configured.get(provider)) {
        (Some(p), Some(over)) => merge(p, over),
        (Some(p), None) => p,
        (None, Some(c)) => c.clone(),
        (None, None) => {
            let mut known: Vec<String> = preset_names().into_iter().map(str::to_string).collect();
            known.extend(configured.keys().cloned());
            return Err(ResolveError::UnknownProvider {
                provider: provider.into(),
                known,
            });
        }
    };
    let base_url = settings
        .base_url_env
        .as_deref()
        .and_then(&env)
        .filter(|v| !v.is_empty())
        .or(settings.base_url.clone())
        .ok_or_else(|| ResolveError::NoBaseUrl {
            provider: provider.into(),
        })?;
    let api_key = settings
        .api_key_env
        .as_deref()
        .and_then(&env)
        .filter(|v| !v.is_empty());
    let dialect = match settings.dialect.as_deref() {
        None | Some("openai") => Dialect::OpenAi,
        Some("anthropic") => Dialect::Anthropic,
        Some(other) => {
            return Err(ResolveError::UnknownDialect {
                provider: provider.into(),
                dialect: other.into(),
            });
        }
    };
    Ok(Endpoint {
        provider: provider.to_string(),
        dialect,
        base_url: base_url.trim_end_matches('/').to_string(),
        model: model.to_string(),
        api_key,
        api_key_env: settings.api_key_env,
        headers: settings.headers.into_iter().collect(),
        connect_timeout: Duration::from_secs(settings.connect_timeout_secs.unwrap_or(10)),
        stall_timeout: Duration::from_secs(
            settings
                .stall_timeout_secs
                .unwrap_or(default_stall_secs(provider)),
        ),
        reply_timeout: Duration::from_secs(settings.reply_timeout_secs.unwrap_or(600)),
        max_retries: settings.max_retries.unwrap_or(4),
        price_per_mtok: settings
            .price_input_per_mtok
            .zip(settings.price_output_per_mtok),
        context_window: settings.context_window,
    })
}

/// Every provider: the presets, then those only in config.toml.
pub fn all_providers(configured: &BTreeMap<String, ProviderConfig>) -> Vec<String> {
    let mut names: Vec<String> = preset_names().into_iter().map(str::to_string).collect();
    names.extend(configured.keys().filter(|k| preset(k).is_none()).cloned());
    names
}

/// Why a provider failed its check. The transport error is said in the message with its
/// causes, not chained as a source, so it is read once.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error("unreachable: {}", super::error_chain(.0))]
    Unreachable(reqwest::Error),
    /// The server answered `status`; `detail` is its `error.message`, if any.
    #[error("{}", refusal(*.status, .key.as_ref(), .detail))]
    Refused {
        status: reqwest::StatusCode,
        key: Option<KeyHint>,
        detail: String,
    },
}

/// What the API key may have to do with a refusal, by the variable that holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyHint {
    /// The variable is not set.
    Unset(String),
    /// The variable is set: its key may be wrong.
    Check(String),
}

impl std::fmt::Display for KeyHint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeyHint::Unset(var) => write!(f, "${var} is not set"),
            KeyHint::Check(var) => write!(f, "check ${var}"),
        }
    }
}

/// `401 Unauthorized ($OPENAI_API_KEY is not set) missing key`, trimmed.
fn refusal(status: reqwest::StatusCode, key: Option<&KeyHint>, detail: &str) -> String {
    let hint = key.map(|key| format!(" ({key})")).unwrap_or_default();
    format!("{status}{hint} {detail}").trim().to_string()
}

/// The key hint for a refusal: only a 401 or 403 is about the key, and only a provider
/// that reads one from a variable can be told which.
fn key_hint(status: reqwest::StatusCode, endpoint: &Endpoint) -> Option<KeyHint> {
    match (status.as_u16(), &endpoint.api_key_env, &endpoint.api_key) {
        (401 | 403, Some(var), None) => Some(KeyHint::Unset(var.clone())),
        (401 | 403, Some(var), Some(_)) => Some(KeyHint::Check(var.clone())),
        _ => None,
    }
}

/// Ask a provider which models it serves (`GET …/models`): the cheapest proof that the
/// base URL, the network and the key all work. Returns a one-line verdict.
pub async fn check(client: &reqwest::Client, endpoint: &Endpoint) -> Result<String, CheckError> {
    let base = endpoint.base_url.trim_end_matches('/');
    let mut request = match endpoint.dialect {
        Dialect::OpenAi => client.get(format!("{base}/models")),
        Dialect::Anthropic => client
            .get(format!("{base}/v1/models"))
            .header("anthropic-version", "2023-06-01"),
    };
    if let Some(key) = &endpoint.api_key {
        request = match endpoint.dialect {
            Dialect::OpenAi => request.bearer_auth(key),
            Dialect::Anthropic => request.header("x-api-key", key),
        };
    }
    for (name, value) in &endpoint.headers {
        request = request.header(name, value);
    }
    let response = request.send().await.map_err(CheckError::Unreachable)?;
    let status = response.status();
    let body: serde_json::Value = response.json().await.unwrap_or_default();
    if !status.is_success() {
        let detail = body
            .pointer("/error/message")
            .and_then(serde_json::Value::as_str)
            .unwrap_or("");
        return Err(CheckError::Refused {
            status,
            key: key_hint(status, endpoint),
            detail: detail.into(),
        });
    }
    let models: Vec<&str> = body
        .get("data")
        .or_else(|| body.get("models"))
        .and_then(serde_json::Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(|m| {
                    m.get("id")
                        .or_else(|| m.get("name"))
                        .and_then(serde_json::Value::as_str)
                })
                .collect()
        })
        .unwrap_or_default();
    let sample = models
        .iter()
        .take(3)
        .copied()
        .collect::<Vec<_>>()
        .join(", ");
    Ok(format!(
        "answers: {} models{}",
        models.len(),
        if sample.is_empty() {
            String::new()
        } else {
            format!(" ({sample}…)")
        }
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_honour_the_sdk_variables() {
        let env = |k: &str| match k {
            "OPENAI_BASE_URL" => Some("http://127.0.0.1:9999/v1/".to_string()),
            "OPENAI_API_KEY" => Some("sk-test".to_string()),
            _ => None,
        };
        let e = resolve("openai:gpt-5.1", &BTreeMap::new(), env).unwrap();
        assert_eq!(e.base_url, "http://127.0.0.1:9999/v1");
        assert_eq!(e.api_key.as_deref(), Some("sk-test"));
        let e = resolve("ollama:qwen3:14b", &BTreeMap::new(), |_| None).unwrap();
        assert_eq!(
            (e.model.as_str(), e.base_url.as_str(), e.api_key),
            ("qwen3:14b", "http://localhost:11434/v1", None)
        );
    }

    #[test]
    fn config_adds_and_overrides_providers() {
        let mut configured = BTreeMap::new();
        configured.insert(
            "azure".to_string(),
            ProviderConfig {
                base_url: Some("https://x.openai.azure.com/openai/v1".into()),
                api_key_env: Some("AZURE_OPENAI_API_KEY".into()),
                ..ProviderConfig::default()
            },
        );
        configured.insert(
            "ollama".to_string(),
            ProviderConfig {
                stall_timeout_secs: Some(120),
                context_window: Some(32768),
                ..ProviderConfig::default()
            },
        );
        let e = resolve("azure:gpt-4o", &configured, |_| None).unwrap();
        assert_eq!(e.api_key_env.as_deref(), Some("AZURE_OPENAI_API_KEY"));
        let e = resolve("ollama:llama3", &configured, |_| None).unwrap();
        assert_eq!(e.stall_timeout, Duration::from_secs(120));
        assert_eq!(e.context_window, Some(32768));
        assert_eq!(e.base_url, "http://localhost:11434/v1");
        // A local server on a CPU is given longer to read a long prompt.
        let e = resolve("llamacpp:gemma", &configured, |_| None).unwrap();
        assert_eq!(
            (e.stall_timeout, e.context_window),
            (Duration::from_secs(300), None)
        );
        let e = resolve("openai:gpt-5.1", &configured, |_| None).unwrap();
        assert_eq!(e.stall_timeout, Duration::from_secs(60));
        assert!(
            resolve("nope:x", &configured, |_| None)
                .unwrap_err()
                .to_string()
                .contains("known: openai")
        );
        let key = |k: &str| (k == "ANTHROPIC_API_KEY").then(|| "sk-ant".to_string());
        let e = resolve("anthropic:claude-sonnet-4-5", &configured, key).unwrap();
        assert_eq!(e.dialect, Dialect::Anthropic);
        assert_eq!(
            (e.base_url.as_str(), e.api_key.as_deref()),
            ("https://api.anthropic.com", Some("sk-ant"))
        );
        assert!(
            resolve("gpt-4o", &configured, |_| None)
                .unwrap_err()
                .to_string()
                .contains("provider:model")
        );
    }

    #[test]
    fn resolve_and_check_errors_read_as_before() {
        let said = |spec: &str| {
            resolve(spec, &BTreeMap::new(), |_| None)
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            said("gpt-4o"),
            "`gpt-4o` is not a model spec; write provider:model, e.g. openai:gpt-5.1 or ollama:qwen3:14b"
        );
        assert!(
            said("nope:x").starts_with("unknown provider `nope`; known: openai, ")
                && said("nope:x").ends_with(" (add [providers.nope] to config.toml)"),
            "{}",
            said("nope:x")
        );
        let odd = ProviderConfig {
            base_url: Some("http://x".into()),
            dialect: Some("grpc".into()),
            ..ProviderConfig::default()
        };
        let configured = BTreeMap::from([("odd".to_string(), odd)]);
        assert_eq!(
            resolve("odd:m", &configured, |_| None).unwrap_err(),
            ResolveError::UnknownDialect {
                provider: "odd".into(),
                dialect: "grpc".into()
            }
        );
        let bare = BTreeMap::from([("bare".to_string(), ProviderConfig::default())]);
        assert_eq!(
            resolve("bare:m", &bare, |_| None).unwrap_err().to_string(),
            "provider `bare` has no base_url"
        );
        let forbidden = refusal(
            reqwest::StatusCode::FORBIDDEN,
            Some(&KeyHint::Check("X_KEY".into())),
            "",
        );
        assert_eq!(forbidden, "403 Forbidden (check $X_KEY)");
        assert_eq!(
            refusal(reqwest::StatusCode::NOT_FOUND, None, "no such route"),
            "404 Not Found no such route"
        );
    }
}
