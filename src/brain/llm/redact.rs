//! Redaction: nothing that looks like a secret leaves for a model.
//!
//! Every string of every request (tool outputs, logs quoted by the brain, the engineer's
//! steering) passes these patterns before it is sent: API keys and tokens of the common
//! providers, bearer tokens, JWTs, passwords in `key=value` or `key: value` form,
//! passwords inside connection strings, and PEM private keys. The match becomes
//! `[REDACTED]` (keeping the key name or URL around it, so the model still understands the
//! line); the count is reported on screen. Patterns from `[redaction] extra_patterns` in
//! config.toml are added to these.

use super::conversation::Turn;
use regex::Regex;
use serde_json::Value;

pub const MASK: &str = "[REDACTED]";

/// (pattern, group to replace: 0 = the whole match)
const BUILT_IN: &[(&str, usize)] = &[
    (
        r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----",
        0,
    ),
    (r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b", 0),
    (r"\bsk-(?:ant-|proj-)?[A-Za-z0-9_\-]{16,}", 0),
    (r"\bgh[pousr]_[A-Za-z0-9]{30,}\b", 0),
    (r"\bxox[abprs]-[A-Za-z0-9-]{10,}", 0),
    (
        r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}",
        0,
    ),
    (r"(?i)\bbearer\s+([A-Za-z0-9\-._~+/]{12,}=*)", 1),
    (r"\b[a-zA-Z][a-zA-Z0-9+.\-]*://[^:/\s@]+:([^@\s]+)@", 1),
    (
        r#"(?i)\b(?:password|passwd|pwd|secret|api[_-]?key|access[_-]?token|auth[_-]?token|client[_-]?secret|token)\b\s*[:=]\s*"?([^\s"',;]{3,})"#,
        1,
    ),
];

#[derive(Debug)]
pub struct Redactor {
    patterns: Vec<(Regex, usize)>,
}

impl Redactor {
    /// The built-in patterns plus `extra` (whole matches are redacted).
    pub fn new(extra: &[String]) -> Result<Redactor, String> {
        let mut patterns = Vec::new();
        for (p, group) in BUILT_IN {
            patterns.push((Regex::new(p).expect("built-in patterns compile"), *group));
        }
        for p in extra {
            patterns.push((
                Regex::new(p).map_err(|e| format!("redaction pattern `{p}`: {e}"))?,
                0,
            ));
        }
        Ok(Redactor { patterns })
    }

    /// The redacted text and how many secrets were removed.
    pub fn redact(&self, text: &str) -> (String, usize) {
        let mut out = text.to_string();
        let mut count = 0;
        for (regex, group) in &self.patterns {
            if !regex.is_match(&out) {
                continue;
            }
            let replaced = regex.replace_all(&out, |caps: &regex::Captures| {
                let whole = caps.get(0).expect("a match");
                match caps.get(*group).filter(|_| *group > 0) {
                    Some(secret) if secret.as_str() != MASK => {
                        count += 1;
                        let start = secret.start() - whole.start();
                        let end = secret.end() - whole.start();
                        format!(
                            "{}{MASK}{}",
                            &whole.as_str()[..start],
                            &whole.as_str()[end..]
                        )
                    }
                    Some(_) => whole.as_str().to_string(),
                    None if whole.as_str() == MASK => whole.as_str().to_string(),
                    None => {
                        count += 1;
                        MASK.to_string()
                    }
                }
            });
            out = replaced.into_owned();
        }
        (out, count)
    }
}

/// Redact every string a request carries; returns how many secrets were removed.
pub fn redact_turns(turns: &mut [Turn], redactor: &Redactor) -> usize {
    let mut count = 0;
    let mut text = |s: &mut String| {
        let (clean, n) = redactor.redact(s);
        if n > 0 {
            *s = clean;
            count += n;
        }
    };
    for turn in turns {
        match turn {
            Turn::System(_) => {}
            Turn::User(t) => text(t),
            Turn::ToolResult { content, .. } => text(content),
            Turn::Assistant(m) => {
                text(&mut m.text);
                text(&mut m.reasoning);
                for call in &mut m.calls {
                    redact_value(&mut call.args, &mut text);
                }
            }
        }
    }
    count
}

fn redact_value(value: &mut Value, text: &mut impl FnMut(&mut String)) {
    match value {
        Value::String(s) => text(s),
        Value::Array(items) => items.iter_mut().for_each(|v| redact_value(v, text)),
        Value::Object(map) => map.values_mut().for_each(|v| redact_value(v, text)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_secrets_are_removed_and_context_is_kept() {
        let r = Redactor::new(&[]).unwrap();
        let cases = [
            (
                "OPENAI_API_KEY=sk-proj-abcdefghijklmnopqrstuvwx",
                "OPENAI_API_KEY=[REDACTED]",
            ),
            (
                "Authorization: Bearer abcdef0123456789xyz",
                "Authorization: Bearer [REDACTED]",
            ),
            (
                "dsn postgres://app:hunter2pw@db:5432/shop",
                "dsn postgres://app:[REDACTED]@db:5432/shop",
            ),
            ("password = \"s3cr3t!\" ok", "password = \"[REDACTED]\" ok"),
            ("aws AKIAIOSFODNN7EXAMPLE done", "aws [REDACTED] done"),
            (
                "token: ghp_abcdefghijklmnopqrstuvwxyz0123456789",
                "token: [REDACTED]",
            ),
            (
                "jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N",
                "jwt [REDACTED]",
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(r.redact(input).0, expected, "{input}");
            assert!(r.redact(input).1 >= 1);
        }
        let pem = "key:\n-----BEGIN RSA PRIVATE KEY-----\nMIIEow\nabc\n-----END RSA PRIVATE KEY-----\nafter";
        assert_eq!(r.redact(pem).0, "key:\n[REDACTED]\nafter");
        assert_eq!(
            r.redact("orders-db connections 38 → 100; pool=orders-db active=20"),
            (
                "orders-db connections 38 → 100; pool=orders-db active=20".to_string(),
                0
            )
        );
        // Idempotent: redacting twice removes nothing more.
        let (once, _) = r.redact("password=abc123");
        assert_eq!(r.redact(&once), (once.clone(), 0));
    }

    #[test]
    fn extra_patterns_from_config() {
        let r = Redactor::new(&["CUST-[0-9]{6}".into()]).unwrap();
        assert_eq!(r.redact("order for CUST-123456").0, "order for [REDACTED]");
        assert!(
            Redactor::new(&["(".into()])
                .unwrap_err()
                .contains("redaction pattern `(`")
        );
    }
}
