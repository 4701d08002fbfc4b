//! Redaction: nothing that looks like a secret is written, drawn or sent to a model.
//!
//! The engine runs every string it records (events, tool outputs, the raw data kept in
//! blobs) through a [`Redactor`] at the border, and the LLM brains run every request
//! through it again before it leaves. Patterns: PEM private keys and certificates (an
//! unterminated block to the end of the text), base64-encoded PEM (`LS0tLS1CRUdJTi…`),
//! kubeconfig `client-key-data` / `client-certificate-data`, AWS access keys and — by
//! context — AWS secret keys, provider API keys and tokens even when they are glued into
//! an identifier (`metric_ghp_…`), bearer tokens, JWTs, passwords in URLs, and any
//! `…password=`, `…secret:`, `…_key=`, `…token=` assignment. A match becomes a label that
//! says what was removed (`[redacted:aws-secret]`), keeping the key name or URL around it
//! so a reader still understands the line. Patterns from `[redaction] extra_patterns` in
//! config.toml are added as `[redacted:custom]`.
//!
//! Redaction works on whole values: a secret cut in two (a model streaming `AKIAIOSF`
//! then `ODNN7EXAMPLE`) matches nothing in either half. Streamed text therefore goes
//! through [`Streamed`], which holds it back until it can be redacted with its context.
//! A credential the engineer typed is scrubbed by value with [`scrub_credential`], as a
//! whole token and only when it is long enough to mean something.

mod stream;

pub use stream::Streamed;

use regex::{Captures, Regex};

/// The start of every redaction label; text already carrying it is left alone.
pub(crate) const LABEL_PREFIX: &str = "[redacted:";

/// A label left by an earlier redaction.
static LABEL: std::sync::LazyLock<Regex> = std::sync::LazyLock::new(|| {
    Regex::new(r"\[redacted:[a-z0-9-]+\]").expect("the pattern compiles")
});

/// Which part of a match is the secret, and how to tell a real one from a look-alike.
struct Pattern {
    regex: Regex,
    /// The capture group holding the secret (0: the whole match).
    group: usize,
    label: &'static str,
    /// Extra check on the secret, for patterns that a plain regex over-matches.
    accept: fn(&str) -> bool,
}

fn always(_: &str) -> bool {
    true
}

/// A 40-character base64 run is an AWS secret key only if it mixes cases and digits (a
/// hex digest never has capitals; prose never has 40 letters without a space).
fn looks_like_aws_secret(s: &str) -> bool {
    let count = |f: fn(&char) -> bool| s.chars().filter(f).count();
    count(char::is_ascii_uppercase) >= 5
        && count(char::is_ascii_lowercase) >= 5
        && count(|c| c.is_ascii_digit() || *c == '/' || *c == '+') >= 2
}

/// A value after `token=` is a secret unless it is a short count (`tokens: 512`).
fn not_a_count(s: &str) -> bool {
    !(s.len() < 8 && s.chars().all(|c| c.is_ascii_digit()))
}

/// Not a letter or digit before it: secrets glued to an identifier by `_`, `.` or `-`
/// are still found, while `task-…` is not an `sk-` key.
const START: &str = r"(?:^|[^A-Za-z0-9])";

/// (regex, secret group, label, check on the secret)
type BuiltIn = (&'static str, usize, &'static str, fn(&str) -> bool);

const BUILT_IN: &[BuiltIn] = &[
    (
        // PGP's armour says `PRIVATE KEY BLOCK`.
        r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----[\s\S]*?(?:-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|$)",
        0,
        "private-key",
        always,
    ),
    (
        r"-----BEGIN [A-Z0-9 ]*CERTIFICATE-----[\s\S]*?(?:-----END [A-Z0-9 ]*CERTIFICATE-----|$)",
        0,
        "certificate",
        always,
    ),
    (
        r#"(?i)\bclient-(?:key|certificate)-data"?\s*[:=]\s*"?([A-Za-z0-9+/=]{8,})"#,
        1,
        "kube-credential",
        always,
    ),
    (
        // `-----BEGIN` in base64: a key or certificate in a Secret's `data`.
        "START(LS0tLS1CRUdJTi[A-Za-z0-9+/=]*)",
        1,
        "pem-base64",
        always,
    ),
    (
        r"(?:^|[^A-Z0-9])((?:AKIA|ASIA)[0-9A-Z]{16})(?:[^A-Z0-9]|$)",
        1,
        "aws-key",
        always,
    ),
    (
        r"(?:^|[^A-Za-z0-9/+=])([A-Za-z0-9/+]{40})(?:[^A-Za-z0-9/+=]|$)",
        1,
        "aws-secret",
        looks_like_aws_secret,
    ),
    (
        "START(sk-(?:ant-|proj-)?[A-Za-z0-9_\\-]{16,})",
        1,
        "api-key",
        always,
    ),
    (
        "START(gh[pousr]_[A-Za-z0-9]{30,})",
        1,
        "github-token",
        always,
    ),
    (
        "START(gl(?:pat|ptt|dt)-[A-Za-z0-9_\\-]{20,})",
        1,
        "gitlab-token",
        always,
    ),
    (
        "START(xox[abprs]-[A-Za-z0-9-]{10,})",
        1,
        "slack-token",
        always,
    ),
    (
        "START(eyJ[A-Za-z0-9_-]{8,}\\.[A-Za-z0-9_-]{8,}\\.[A-Za-z0-9_-]{8,})",
        1,
        "jwt",
        always,
    ),
    (
        r"(?i)\bbearer\s+([A-Za-z0-9\-._~+/]{12,}=*)",
        1,
        "bearer",
        always,
    ),
    (
        // SQL sets passwords without `=`: `ALTER USER app PASSWORD 'x'`, `IDENTIFIED BY 'x'`
        // (as `pg_stat_activity` or a server log shows them).
        r"(?i)\b(?:password|identified\s+by)\s+'((?:[^']|'')+)'",
        1,
        "password",
        always,
    ),
    (
        r"\b[a-zA-Z][a-zA-Z0-9+.\-]*://[^:/\s@]+:([^@\s]+)@",
        1,
        "password",
        always,
    ),
    (
        r#"(?i)[A-Za-z0-9_.\-]*(?:password|passwd|pwd|secret|api[_-]?key|access[_-]?key|private[_-]?key|access[_-]?token|auth[_-]?token|token|credentials?)\b\s*[:=]\s*"?([^\s"',;]{3,})"#,
        1,
        "secret",
        not_a_count,
    ),
];

#[derive(Debug, thiserror::Error)]
#[error("redaction pattern `{pattern}`: {source}")]
pub struct PatternError {
    pattern: String,
    source: regex::Error,
}

pub struct Redactor {
    patterns: Vec<Pattern>,
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Redactor({} patterns)", self.patterns.len())
    }
}

impl Default for Redactor {
    fn default() -> Redactor {
        Redactor::new(&[]).expect("built-in patterns compile")
    }
}

impl Redactor {
    /// The built-in patterns plus `extra` (whole matches are redacted).
    pub fn new(extra: &[String]) -> Result<Redactor, PatternError> {
        let mut patterns = Vec::new();
        for (pattern, group, label, accept) in BUILT_IN {
            patterns.push(Pattern {
                regex: Regex::new(&pattern.replace("START", START))
                    .expect("built-in patterns compile"),
                group: *group,
                label,
                accept: *accept,
            });
        }
        for pattern in extra {
            patterns.push(Pattern {
                regex: Regex::new(pattern).map_err(|source| PatternError {
                    pattern: pattern.clone(),
                    source,
                })?,
                group: 0,
                label: "custom",
                accept: always,
            });
        }
        Ok(Redactor { patterns })
    }

    /// The redacted text and how many secrets were removed.
    pub fn redact(&self, text: &str) -> (String, usize) {
        let mut out = text.to_string();
        let mut count = 0;
        for pattern in &self.patterns {
            if !pattern.regex.is_match(&out) {
                continue;
            }
            let replaced = pattern.regex.replace_all(&out, |caps: &Captures| {
                let whole = caps.get(0).expect("a match");
                let secret = caps
                    .get(pattern.group)
                    .expect("the group is in the pattern");
                // Labels already in the value are not the secret, what is around them is:
                // `hunter2[redacted:aws-key]` still holds `hunter2`, and `[redacted:` typed
                // before a secret does not hide it. A value of labels only is left alone.
                let residue = LABEL.replace_all(secret.as_str(), "");
                if residue.is_empty() || !(pattern.accept)(&residue) {
                    return whole.as_str().to_string();
                }
                count += 1;
                let start = secret.start() - whole.start();
                let end = secret.end() - whole.start();
                format!(
                    "{}{LABEL_PREFIX}{}]{}",
                    &whole.as_str()[..start],
                    pattern.label,
                    &whole.as_str()[end..]
                )
            });
            out = replaced.into_owned();
        }
        (out, count)
    }
}

/// The shortest typed credential scrubbed from outputs by value: a shorter one would
/// match ordinary text (a one-letter password would blank that letter everywhere).
pub const MIN_SCRUBBED_CREDENTIAL: usize = 4;

/// What stands for a typed credential in an output.
pub(crate) const CREDENTIAL_LABEL: &str = "[redacted:credential]";

/// `text` with every occurrence of a typed `credential` that stands as a whole token
/// (bounded by a non-alphanumeric character or the end of the text on both sides)
/// replaced by [`CREDENTIAL_LABEL`]; a credential shorter than
/// [`MIN_SCRUBBED_CREDENTIAL`] characters is not scrubbed.
pub fn scrub_credential(text: &str, credential: &str) -> String {
    if credential.chars().count() < MIN_SCRUBBED_CREDENTIAL {
        return text.to_string();
    }
    let bounded = |c: Option<char>| c.is_none_or(|c| !c.is_alphanumeric());
    // A credential that begins or ends with a symbol is bounded there by itself: glued
    // to a letter (`pw-Secret1-x` for `-Secret1-`) it is still the credential.
    let symbol = |c: Option<char>| c.is_some_and(|c| !c.is_alphanumeric());
    let (open_start, open_end) = (
        symbol(credential.chars().next()),
        symbol(credential.chars().next_back()),
    );
    let mut out = String::with_capacity(text.len());
    let (mut copied, mut from) = (0, 0);
    while let Some(found) = text[from..].find(credential) {
        let at = from + found;
        let end = at + credential.len();
        if (open_start || bounded(text[..at].chars().next_back()))
            && (open_end || bounded(text[end..].chars().next()))
        {
            out.push_str(&text[copied..at]);
            out.push_str(CREDENTIAL_LABEL);
            (copied, from) = (end, end);
        } else {
            from = at + text[at..].chars().next().map_or(1, char::len_utf8);
        }
    }
    out.push_str(&text[copied..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_secrets_are_removed_and_context_is_kept() {
        let r = Redactor::default();
        let cases = [
            (
                "OPENAI_API_KEY=sk-proj-abcdefghijklmnopqrstuvwx",
                "OPENAI_API_KEY=[redacted:api-key]",
            ),
            (
                "Authorization: Bearer abcdef0123456789xyz",
                "Authorization: Bearer [redacted:bearer]",
            ),
            (
                "dsn postgres://app:hunter2pw@db:5432/shop",
                "dsn postgres://app:[redacted:password]@db:5432/shop",
            ),
            (
                "password = \"s3cr3t!\" ok",
                "password = \"[redacted:secret]\" ok",
            ),
            (
                "aws AKIAIOSFODNN7EXAMPLE done",
                "aws [redacted:aws-key] done",
            ),
            (
                "token: ghp_abcdefghijklmnopqrstuvwxyz0123456789",
                "token: [redacted:github-token]",
            ),
            (
                "jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N",
                "jwt [redacted:jwt]",
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(r.redact(input).0, expected, "{input}");
            assert!(r.redact(input).1 >= 1);
        }
        let pem = "key:\n-----BEGIN RSA PRIVATE KEY-----\nMIIEow\nabc\n-----END RSA PRIVATE KEY-----\nafter";
        assert_eq!(r.redact(pem).0, "key:\n[redacted:private-key]\nafter");
        // A value glued to a label is still a secret.
        assert_eq!(
            r.redact("password=hunter2secretAKIAIOSFODNN7EXAMPLE ok").0,
            "password=[redacted:secret] ok"
        );
        assert_eq!(
            r.redact("password=[redacted:hunter2secret ok").0,
            "password=[redacted:secret] ok"
        );
        // Idempotent: redacting twice removes nothing more.
        let (once, _) = r.redact("password=abc123");
        assert_eq!(r.redact(&once), (once.clone(), 0));
    }

    #[test]
    fn secrets_by_context_and_inside_identifiers() {
        let r = Redactor::default();
        let (text, n) =
            r.redact("aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY rotated");
        assert_eq!(n, 1, "{text}");
        assert!(!text.contains("wJalrXUtnFEMI"), "{text}");
        let (text, _) =
            r.redact("2024-05-01 loaded creds wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY from env");
        assert_eq!(
            text,
            "2024-05-01 loaded creds [redacted:aws-secret] from env"
        );
        let (text, _) =
            r.redact("exporter_ghp_abcdefghijklmnopqrstuvwxyz0123456789_requests_total");
        assert_eq!(text, "exporter_[redacted:github-token]_requests_total");
    }

    #[test]
    fn ordinary_telemetry_is_untouched() {
        let r = Redactor::default();
        for text in [
            "orders-db connections 38 → 100; pool=orders-db active=20",
            "commit 3f786850e387550fdab836ed7e6dc881de23001b deployed",
            "task-abcdefghijklmnopqrstuvwxyz done",
            "input_tokens: 512 output_tokens: 64",
            "GET /api/v1/orders/12345 200 13ms",
            "GET /api/v1/Orders/12345/items/SKU9/reviews/latest 200",
        ] {
            assert_eq!(r.redact(text), (text.to_string(), 0), "{text}");
        }
    }

    #[test]
    fn extra_patterns_from_config() {
        let r = Redactor::new(&["CUST-[0-9]{6}".into()]).unwrap();
        assert_eq!(
            r.redact("order for CUST-123456").0,
            "order for [redacted:custom]"
        );
        assert!(
            Redactor::new(&["(".into()])
                .unwrap_err()
                .to_string()
                .contains("redaction pattern `(`")
        );
    }

    #[test]
    fn kubeconfig_keys_certificates_and_tokens_are_removed() {
        let r = Redactor::default();
        let key = "LS0tLS1CRUdJTiBSU0EgUFJJVkFURSBLRVktLS0tLQpNSUlFb3dJQkFBS0NBUUVB";
        let cert = "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUMvakNDQWVhZ0F3SUJBZ0lC";
        let kubeconfig = format!(
            "users:\n- name: admin\n  user:\n    client-certificate-data: {cert}\n    client-key-data: {key}\n    token: kube7oken0value1234\n- name: ci\n  user:\n    id-token: abcdefgh12345678\n"
        );
        let (text, n) = r.redact(&kubeconfig);
        for secret in [key, cert, "kube7oken0value1234", "abcdefgh12345678"] {
            assert!(!text.contains(secret), "{text}");
        }
        assert_eq!(n, 4, "{text}");
        assert!(
            text.contains("client-key-data: [redacted:kube-credential]"),
            "{text}"
        );
        // The same, as JSON (`kubectl config view -o json --raw`), and base64 PEM anywhere.
        let json = format!(r#"{{"client-key-data": "{key}", "tls.key": "{key}"}}"#);
        let (text, _) = r.redact(&json);
        assert!(!text.contains(key), "{text}");
        assert!(
            text.contains(r#""tls.key": "[redacted:pem-base64]""#),
            "{text}"
        );
    }

    #[test]
    fn pem_blocks_even_cut_short_are_removed() {
        let r = Redactor::default();
        let cut = "key.pem:\n-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nMIIEow";
        assert_eq!(r.redact(cut).0, "key.pem:\n[redacted:private-key]");
        let ec = "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIB\n-----END EC PRIVATE KEY-----\nok";
        assert_eq!(r.redact(ec).0, "[redacted:private-key]\nok");
        let cert = "-----BEGIN CERTIFICATE-----\nMIIC/jCCAeagAwIBAgIB\n-----END CERTIFICATE-----";
        assert_eq!(r.redact(cert).0, "[redacted:certificate]");
    }

    #[test]
    fn a_credential_is_scrubbed_only_as_a_whole_token_and_when_long_enough() {
        assert_eq!(
            scrub_credential("oldest_transaction x", "x"),
            "oldest_transaction x",
            "a one-character credential is not scrubbed"
        );
        assert_eq!(scrub_credential("abc abc", "abc"), "abc abc");
        assert_eq!(
            scrub_credential("pw=s3cret;s3cret s3crets as3cret s3cret", "s3cret"),
            "pw=[redacted:credential];[redacted:credential] s3crets as3cret [redacted:credential]"
        );
        assert_eq!(
            scrub_credential("user_hunter2 é-hunter2-é", "hunter2"),
            "user_[redacted:credential] é-[redacted:credential]-é"
        );
        // A credential with a symbol at its edge is whole there whatever it touches.
        assert_eq!(
            scrub_credential("pw-Secret1-x and @dm1n!x", "-Secret1-"),
            "pw[redacted:credential]x and @dm1n!x"
        );
        assert_eq!(
            scrub_credential("u@dm1n!x", "@dm1n!"),
            "u[redacted:credential]x"
        );
        // Overlapping occurrences: the glued one is skipped, the whole one still found.
        assert_eq!(
            scrub_credential("aaaaa aaaa", "aaaa"),
            "aaaaa [redacted:credential]"
        );
    }
}
