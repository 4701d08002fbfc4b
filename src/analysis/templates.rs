//! Folding log messages into templates: variable tokens (numbers, hex ids, IPs, UUIDs,
//! durations, `key=value` values, quoted strings) become `<*>`, and lines with the same
//! template are counted together. Good enough to turn hundreds of lines into a handful
//! of rows the agent and the engineer can read.

/// The template of one message.
pub fn template_of(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    for (i, token) in message.split_whitespace().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(&mask_token(token));
    }
    out
}

fn mask_token(token: &str) -> String {
    const WRAP: &[char] = &['(', ')', ',', ';', ':', '[', ']', '"', '\'', '{', '}'];
    let core = token.trim_matches(WRAP);
    if core.is_empty() {
        return token.to_string();
    }
    let lead = &token[..token.find(core).unwrap_or(0)];
    let tail = &token[lead.len() + core.len()..];
    let masked = if let Some((key, value)) = core.split_once('=')
        && !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
    {
        if value.is_empty() {
            core.to_string()
        } else {
            format!("{key}=<*>")
        }
    } else if core.contains('/')
        && core.chars().any(|c| c.is_ascii_digit())
        && !core.contains("://")
    {
        core.split('/')
            .map(|segment| if is_variable(segment) { "<*>" } else { segment })
            .collect::<Vec<_>>()
            .join("/")
    } else if is_variable(core) {
        "<*>".to_string()
    } else {
        core.to_string()
    };
    format!("{lead}{masked}{tail}")
}

fn is_variable(token: &str) -> bool {
    let has_digit = token.chars().any(|c| c.is_ascii_digit());
    if !has_digit {
        return false;
    }
    // Words with a digit inside (v2, sha256, http2) stay; ids, numbers, paths with numbers go.
    let letters = token.chars().filter(|c| c.is_ascii_alphabetic()).count();
    let is_hex = token.len() >= 6 && token.chars().all(|c| c.is_ascii_hexdigit() || c == '-');
    let numeric_like = token
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '.' | ':' | '/' | '-' | '_' | '%' | '+'));
    let with_unit = token
        .trim_end_matches(|c: char| c.is_ascii_alphabetic())
        .chars()
        .all(|c| c.is_ascii_digit() || c == '.')
        && token.starts_with(|c: char| c.is_ascii_digit());
    numeric_like || is_hex || with_unit || letters * 2 < token.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_variables_and_keeps_words() {
        assert_eq!(
            template_of(
                "req=ab12cd timeout acquiring connection after 5000ms (pool=orders-db active=20)"
            ),
            "req=<*> timeout acquiring connection after <*> (pool=<*> active=<*>)"
        );
        assert_eq!(
            template_of("GET /products/1234/reviews 404 from 66.249.70.12 ua=Googlebot"),
            "GET /products/<*>/reviews <*> from <*> ua=<*>"
        );
        assert_eq!(template_of("starting v2 on http2"), "starting v2 on http2");
    }

    #[test]
    fn same_shape_same_template() {
        assert_eq!(
            template_of("redis: i/o timeout on GET cart:12345678 after 120ms (retrying)"),
            template_of("redis: i/o timeout on GET cart:87654321 after 99ms (retrying)")
        );
    }
}
