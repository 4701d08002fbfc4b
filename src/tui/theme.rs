//! Themes: semantic style roles (`agent.reasoning`, `tool.failed`,
//! `approval.risk.high`, …) resolved from TOML files with a `[palette]` and `inherits`.
//!
//! Built-in themes are `themes/*.toml` (dark, light, high-contrast); a file of the same
//! name in the config dir's `themes/` overrides one. Named ANSI colours are the default so
//! the terminal's own palette decides the exact shades on light and dark backgrounds.

use ratatui::style::{Color, Modifier, Style};
use serde::Deserialize;
use std::collections::HashMap;
use std::path::Path;

const BUILT_IN: &[(&str, &str)] = &[
    ("dark", include_str!("../../themes/dark.toml")),
    ("light", include_str!("../../themes/light.toml")),
    (
        "high-contrast",
        include_str!("../../themes/high-contrast.toml"),
    ),
];

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ThemeFile {
    inherits: Option<String>,
    #[serde(default)]
    palette: HashMap<String, String>,
    #[serde(default)]
    styles: HashMap<String, StyleSpec>,
}

#[derive(Debug, Deserialize, Default, Clone)]
#[serde(deny_unknown_fields)]
struct StyleSpec {
    fg: Option<String>,
    bg: Option<String>,
    #[serde(default)]
    modifiers: Vec<String>,
}

#[derive(Debug, thiserror::Error, PartialEq)]
#[error("theme {source_name}: {message}")]
pub struct ThemeError {
    pub source_name: String,
    pub message: String,
}

#[derive(Debug, Clone)]
pub struct Theme {
    pub name: String,
    styles: HashMap<String, Style>,
}

/// What is wrong with a style's colour or modifier; `text` is the word as written.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
enum StyleError {
    #[error("`{text}` is not a #rrggbb colour")]
    BadHex { text: String },
    #[error(
        "`{text}` is not a colour (ANSI name like cyan or darkgray, #rrggbb, or a [palette] name)"
    )]
    UnknownColour { text: String },
    #[error("`{text}` is not a modifier (bold, dim, italic, underlined, reversed, crossed_out)")]
    UnknownModifier { text: String },
}

fn parse_color(
    text: &str,
    palette: &HashMap<String, String>,
    depth: u8,
) -> Result<Color, StyleError> {
    if let Some(hex) = text.strip_prefix('#') {
        let valid = hex.len() == 6 && hex.chars().all(|c| c.is_ascii_hexdigit());
        if !valid {
            return Err(StyleError::BadHex { text: text.into() });
        }
        let byte = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).expect("checked hex");
        return Ok(Color::Rgb(byte(0), byte(2), byte(4)));
    }
    if let Some(alias) = palette.get(text)
        && depth < 4
    {
        return parse_color(alias, palette, depth + 1);
    }
    text.parse::<Color>()
        .map_err(|_| StyleError::UnknownColour { text: text.into() })
}

fn parse_modifier(text: &str) -> Result<Modifier, StyleError> {
    Ok(match text {
        "bold" => Modifier::BOLD,
        "dim" => Modifier::DIM,
        "italic" => Modifier::ITALIC,
        "underlined" => Modifier::UNDERLINED,
        "reversed" => Modifier::REVERSED,
        "crossed_out" => Modifier::CROSSED_OUT,
        other => return Err(StyleError::UnknownModifier { text: other.into() }),
    })
}

impl Theme {
    pub fn default_theme() -> Theme {
        Theme::load("dark", None).expect("the built-in dark theme is valid")
    }

    pub fn load(name: &str, config_dir: Option<&Path>) -> Result<Theme, ThemeError> {
        // Collect the chain child → parent (by theme name), then apply parent first.
        let mut chain: Vec<(String, ThemeFile)> = Vec::new();
        let mut next = Some(name.to_string());
        while let Some(current) = next.take() {
            let seen = chain.iter().filter(|(n, _)| *n == current).count();
            let built_in = BUILT_IN.iter().any(|(n, _)| *n == current);
            // A user file may inherit the built-in theme of the same name, once; any other
            // repeat is a loop.
            if seen > 1 || (seen == 1 && !built_in) {
                return Err(ThemeError {
                    source_name: name.into(),
                    message: format!("`inherits` loops back to {current}"),
                });
            }
            let user = config_dir
                .map(|d| d.join("themes").join(format!("{current}.toml")))
                .filter(|p| seen == 0 && p.is_file());
            let (source, text) = match (&user, BUILT_IN.iter().find(|(n, _)| *n == current)) {
                (Some(path), _) => (
                    path.display().to_string(),
                    std::fs::read_to_string(path).map_err(|e| ThemeError {
                        source_name: path.display().to_string(),
                        message: e.to_string(),
                    })?,
                ),
                (None, Some((_, text))) => (format!("{current} (built in)"), text.to_string()),
                (None, None) => {
                    return Err(ThemeError {
                        source_name: current,
                        message: "no such theme (built in: dark, light, high-contrast; or put one in the config dir's themes/)".into(),
                    });
                }
            };
            let file: ThemeFile = toml::from_str(&text).map_err(|e| ThemeError {
                source_name: source.clone(),
                message: format!(
                    "line {}: {}",
                    e.span()
                        .map(|s| text[..s.start].lines().count().max(1))
                        .unwrap_or(0),
                    e.message().trim()
                ),
            })?;
            next = file.inherits.clone();
            chain.push((current, file));
        }
        let mut palette = HashMap::new();
        let mut specs: HashMap<String, StyleSpec> = HashMap::new();
        for (_, file) in chain.iter().rev() {
            palette.extend(file.palette.clone());
            specs.extend(file.styles.clone());
        }
        let mut styles = HashMap::new();
        for (role, spec) in specs {
            let err = |error: StyleError| ThemeError {
                source_name: name.into(),
                message: format!("style \"{role}\": {error}"),
            };
            let mut style = Style::default();
            if let Some(fg) = &spec.fg {
                style = style.fg(parse_color(fg, &palette, 0).map_err(err)?);
            }
            if let Some(bg) = &spec.bg {
                style = style.bg(parse_color(bg, &palette, 0).map_err(err)?);
            }
            for m in &spec.modifiers {
                style = style.add_modifier(parse_modifier(m).map_err(err)?);
            }
            styles.insert(role, style);
        }
        Ok(Theme {
            name: name.into(),
            styles,
        })
    }

    /// The style for a role; unknown roles fall back to their parent role
    /// (`tool.failed` → `tool`) and then to the default style.
    pub fn style(&self, role: &str) -> Style {
        let mut role = role;
        loop {
            if let Some(style) = self.styles.get(role) {
                return *style;
            }
            match role.rsplit_once('.') {
                Some((parent, _)) => role = parent,
                None => return Style::default(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_themes_resolve_with_inheritance() {
        for (name, _) in BUILT_IN {
            Theme::load(name, None).unwrap();
        }
        let light = Theme::load("light", None).unwrap();
        assert_eq!(light.style("title").fg, Some(Color::Blue));
        assert_eq!(light.style("tool.failed").fg, Some(Color::Red));
        assert_eq!(
            light.style("syntax.string").fg,
            Some(Color::Rgb(0x11, 0x63, 0x29))
        );
    }

    #[test]
    fn user_theme_errors_name_the_role() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("themes")).unwrap();
        std::fs::write(
            dir.path().join("themes/mine.toml"),
            "inherits = \"dark\"\n[styles]\n\"muted\" = { fg = \"mauve\" }\n",
        )
        .unwrap();
        let err = Theme::load("mine", Some(dir.path())).unwrap_err();
        assert!(
            err.message.contains("\"muted\"") && err.message.contains("`mauve`"),
            "{err}"
        );
        std::fs::write(dir.path().join("themes/mine.toml"), "inherits = \"mine\"\n").unwrap();
        assert!(
            Theme::load("mine", Some(dir.path()))
                .unwrap_err()
                .message
                .contains("loops")
        );
    }

    #[test]
    fn colour_and_modifier_errors_name_the_word() {
        let palette = HashMap::new();
        let colour = |text: &str| parse_color(text, &palette, 0).unwrap_err().to_string();
        assert_eq!(colour("#12345g"), "`#12345g` is not a #rrggbb colour");
        assert_eq!(
            colour("mauve"),
            "`mauve` is not a colour (ANSI name like cyan or darkgray, #rrggbb, or a [palette] name)"
        );
        assert_eq!(
            parse_modifier("blink").unwrap_err().to_string(),
            "`blink` is not a modifier (bold, dim, italic, underlined, reversed, crossed_out)"
        );
    }
}
