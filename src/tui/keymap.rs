//! Keymaps: which key does what, per context, loaded from TOML.
//!
//! Action names in the files are the [`Action`] names in kebab-case, so the help overlay
//! and the footer hints, which are generated from the resolved keymap, can never drift
//! from what the keys do. Built-in keymaps live in `keymaps/*.toml`; a file of the same
//! name in the config dir's `keymaps/` overrides one, and `inherits = "default"` layers a
//! file over another. A key bound twice in one context, or a key of a layered context that
//! collides with `global` (or `replay`), is rejected at start with a message naming both.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::Path;

macro_rules! actions {
    ($($variant:ident => $name:literal : $help:literal),* $(,)?) => {
        /// Everything a key can do. The kebab-case name is what keymap files use.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Action { $($variant),* }

        impl Action {
            pub const ALL: &[Action] = &[$(Action::$variant),*];
            pub fn name(self) -> &'static str {
                match self { $(Action::$variant => $name),* }
            }
            pub fn help(self) -> &'static str {
                match self { $(Action::$variant => $help),* }
            }
            pub fn from_name(name: &str) -> Option<Action> {
                match name { $($name => Some(Action::$variant),)* _ => None }
            }
        }
    };
}

actions! {
    Quit => "quit": "quit (asks first while something runs or waits; the session is saved)",
    Help => "help": "show this help",
    PauseResume => "pause-resume": "pause or resume the agent",
    CancelCall => "cancel-call": "stop the tool call that is running (its processes are killed)",
    EditHypotheses => "edit-hypotheses": "open the hypothesis editor",
    Steer => "steer": "tell the agent something",
    FocusNextPane => "focus-next-pane": "switch between transcript and board",
    ScrollUp => "scroll-up": "scroll up",
    ScrollDown => "scroll-down": "scroll down",
    PageUp => "page-up": "page up",
    PageDown => "page-down": "page down",
    ScrollTop => "scroll-top": "go to the top",
    ScrollBottom => "scroll-bottom": "go to the bottom (follow)",
    SelectPreviousCall => "select-previous-call": "select the previous tool call",
    SelectNextCall => "select-next-call": "select the next tool call",
    ToggleOutput => "toggle-output": "expand or collapse the selected output",
    OpenPager => "open-pager": "open the selected output in the pager",
    SelectUp => "select-up": "select the previous item",
    SelectDown => "select-down": "select the next item",
    OpenEditor => "open-editor": "edit the selected hypothesis",
    ApproveOnce => "approve-once": "approve this call once",
    ApproveSession => "approve-session": "approve this and matching calls for the session",
    EditThenApprove => "edit-then-approve": "edit the command, then approve it",
    Deny => "deny": "deny, with a reason for the agent",
    FocusLeft => "focus-left": "move focus left",
    FocusRight => "focus-right": "move focus right",
    Activate => "activate": "press the focused button",
    Review => "review": "set the decision aside to read the transcript and outputs; again to return",
    EditStatement => "edit-statement": "edit the statement",
    AddHypothesis => "add-hypothesis": "add a hypothesis",
    Reject => "reject": "reject (refute) it",
    Confirm => "confirm": "confirm it",
    Reopen => "reopen": "set it back to open",
    TogglePin => "toggle-pin": "pin or unpin it (the agent follows pinned ones first)",
    Close => "close": "close",
    Search => "search": "search",
    NextMatch => "next-match": "next match",
    PreviousMatch => "previous-match": "previous match",
    PlayPause => "play-pause": "play or pause the replay",
    Step => "step": "step one event",
    SpeedUp => "speed-up": "replay faster",
    SlowDown => "slow-down": "replay slower",
    NextDecision => "next-decision": "jump to the next approval, credential or edit",
    JumpStart => "jump-start": "jump to the start",
    JumpEnd => "jump-end": "jump to the end",
    StepBack => "step-back": "step one event back",
    SeekCall => "seek-call": "replay up to a tool call by its id (c5) and select it",
    QuitNow => "quit-now": "quit now (the session is saved)",
    Stay => "stay": "stay (do not quit)",
    Submit => "submit": "send or save what was typed",
    Cancel => "cancel": "leave the field; nothing is sent",
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Context {
    Global,
    Transcript,
    Board,
    Approval,
    Editor,
    Pager,
    Replay,
    Help,
    QuitDialog,
    TextField,
}

impl Context {
    pub const ALL: &[Context] = &[
        Context::Global,
        Context::Transcript,
        Context::Board,
        Context::Approval,
        Context::Editor,
        Context::Pager,
        Context::Replay,
        Context::Help,
        Context::QuitDialog,
        Context::TextField,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Context::Global => "global",
            Context::Transcript => "transcript",
            Context::Board => "board",
            Context::Approval => "approval",
            Context::Editor => "editor",
            Context::Pager => "pager",
            Context::Replay => "replay",
            Context::Help => "help",
            Context::QuitDialog => "quit-dialog",
            Context::TextField => "text-field",
        }
    }

    fn from_name(name: &str) -> Option<Context> {
        Context::ALL.iter().copied().find(|c| c.name() == name)
    }

    /// The contexts whose keys are also live while this one is (it must not reuse them).
    pub fn underneath(self) -> &'static [Context] {
        match self {
            Context::Transcript | Context::Board => &[Context::Global, Context::Replay],
            Context::Approval => &[Context::Global],
            _ => &[],
        }
    }

    fn allows(self, action: Action) -> bool {
        use Action::*;
        let allowed: &[Action] = match self {
            Context::Global => &[
                Quit,
                Help,
                PauseResume,
                CancelCall,
                EditHypotheses,
                Steer,
                FocusNextPane,
            ],
            Context::Transcript => &[
                ScrollUp,
                ScrollDown,
                PageUp,
                PageDown,
                ScrollTop,
                ScrollBottom,
                SelectPreviousCall,
                SelectNextCall,
                ToggleOutput,
                OpenPager,
            ],
            Context::Board => &[SelectUp, SelectDown, OpenEditor],
            Context::Approval => &[
                ApproveOnce,
                ApproveSession,
                EditThenApprove,
                Deny,
                FocusLeft,
                FocusRight,
                Activate,
                Review,
                PageUp,
                PageDown,
            ],
            Context::Editor => &[
                SelectUp,
                SelectDown,
                EditStatement,
                AddHypothesis,
                Reject,
                Confirm,
                Reopen,
                TogglePin,
                Close,
            ],
            Context::Pager => &[
                ScrollUp,
                ScrollDown,
                PageUp,
                PageDown,
                ScrollTop,
                ScrollBottom,
                Search,
                NextMatch,
                PreviousMatch,
                Close,
            ],
            Context::Replay => &[
                Quit,
                Help,
                PlayPause,
                Step,
                SpeedUp,
                SlowDown,
                NextDecision,
                JumpStart,
                JumpEnd,
                StepBack,
                SeekCall,
                FocusNextPane,
            ],
            Context::Help => &[
                ScrollUp,
                ScrollDown,
                PageUp,
                PageDown,
                ScrollTop,
                ScrollBottom,
                Close,
            ],
            Context::QuitDialog => &[QuitNow, Stay],
            Context::TextField => &[Submit, Cancel],
        };
        allowed.contains(&action)
    }
}

/// A key with its modifiers, normalised so `G` and `shift-g` are the same key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key {
    code: KeyCodeOrd,
    ctrl: bool,
    alt: bool,
}

/// KeyCode has no Ord; this is the subset keymaps can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum KeyCodeOrd {
    Char(char),
    F(u8),
    Named(&'static str),
}

const NAMED: &[(&str, KeyCode)] = &[
    ("enter", KeyCode::Enter),
    ("esc", KeyCode::Esc),
    ("tab", KeyCode::Tab),
    ("backtab", KeyCode::BackTab),
    ("backspace", KeyCode::Backspace),
    ("delete", KeyCode::Delete),
    ("up", KeyCode::Up),
    ("down", KeyCode::Down),
    ("left", KeyCode::Left),
    ("right", KeyCode::Right),
    ("pageup", KeyCode::PageUp),
    ("pagedown", KeyCode::PageDown),
    ("home", KeyCode::Home),
    ("end", KeyCode::End),
];

/// A keymap word that names no key; `text` is the word as written.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error(
    "`{text}` is not a key (use a character, or enter, esc, tab, space, up, pagedown, f1… with ctrl-/alt-)"
)]
pub struct KeyError {
    pub text: String,
}

impl Key {
    pub fn parse(text: &str) -> Result<Key, KeyError> {
        let mut rest = text;
        let (mut ctrl, mut alt) = (false, false);
        loop {
            if let Some(r) = rest.strip_prefix("ctrl-").filter(|r| !r.is_empty()) {
                ctrl = true;
                rest = r;
            } else if let Some(r) = rest.strip_prefix("alt-").filter(|r| !r.is_empty()) {
                alt = true;
                rest = r;
            } else if let Some(r) = rest
                .strip_prefix("shift-")
                .filter(|r| r.chars().count() == 1)
            {
                return Key::parse(&format!(
                    "{}{}{}",
                    if ctrl { "ctrl-" } else { "" },
                    if alt { "alt-" } else { "" },
                    r.to_uppercase()
                ));
            } else {
                break;
            }
        }
        let code = if rest == "space" {
            KeyCodeOrd::Char(' ')
        } else if let Some((name, _)) = NAMED.iter().find(|(n, _)| *n == rest) {
            KeyCodeOrd::Named(name)
        } else if let Some(n) = rest
            .strip_prefix('f')
            .and_then(|n| n.parse::<u8>().ok())
            .filter(|n| (1..=12).contains(n))
        {
            KeyCodeOrd::F(n)
        } else if rest.chars().count() == 1 {
            KeyCodeOrd::Char(rest.chars().next().expect("one char"))
        } else {
            return Err(KeyError { text: text.into() });
        };
        Ok(Key { code, ctrl, alt })
    }

    /// The key press this key stands for (tests drive the App with it).
    pub fn event(&self) -> KeyEvent {
        let code = match self.code {
            KeyCodeOrd::Char(c) => KeyCode::Char(c),
            KeyCodeOrd::F(n) => KeyCode::F(n),
            KeyCodeOrd::Named(name) => NAMED
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, c)| *c)
                .expect("named keys come from NAMED"),
        };
        let mut modifiers = KeyModifiers::NONE;
        if self.ctrl {
            modifiers |= KeyModifiers::CONTROL;
        }
        if self.alt {
            modifiers |= KeyModifiers::ALT;
        }
        KeyEvent::new(code, modifiers)
    }

    pub(crate) fn from_event(event: &KeyEvent) -> Option<Key> {
        let code = match event.code {
            KeyCode::Char(c) => KeyCodeOrd::Char(c),
            KeyCode::F(n) => KeyCodeOrd::F(n),
            other => KeyCodeOrd::Named(NAMED.iter().find(|(_, c)| *c == other)?.0),
        };
        Some(Key {
            code,
            ctrl: event.modifiers.contains(KeyModifiers::CONTROL),
            alt: event.modifiers.contains(KeyModifiers::ALT),
        })
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.ctrl {
            f.write_str("ctrl-")?;
        }
        if self.alt {
            f.write_str("alt-")?;
        }
        match self.code {
            KeyCodeOrd::Char(' ') => f.write_str("space"),
            KeyCodeOrd::Char(c) => write!(f, "{c}"),
            KeyCodeOrd::F(n) => write!(f, "f{n}"),
            KeyCodeOrd::Named(n) => f.write_str(n),
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq)]
#[error("keymap {source_name}: {message}")]
pub struct KeymapError {
    pub source_name: String,
    pub message: String,
}

/// The resolved keymap.
#[derive(Debug, Clone)]
pub struct Keymap {
    pub name: String,
    bindings: HashMap<(Context, Key), Action>,
    /// For help and hints: each context's actions and their keys, in file order.
    listing: BTreeMap<Context, Vec<(Action, Vec<Key>)>>,
}

const BUILT_IN: &[(&str, &str)] = &[
    ("default", include_str!("../../keymaps/default.toml")),
    ("vim", include_str!("../../keymaps/vim.toml")),
];

type Layer = BTreeMap<Context, Vec<(Action, Vec<Key>)>>;

fn parse_layer(text: &str, source: &str) -> Result<(Option<String>, Layer), KeymapError> {
    let err = |message: String| KeymapError {
        source_name: source.to_string(),
        message,
    };
    let table: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| err(e.message().trim().to_string()))?;
    let mut inherits = None;
    let mut layer = Layer::new();
    for (name, value) in table {
        if name == "inherits" {
            inherits = Some(
                value
                    .as_str()
                    .ok_or_else(|| err("`inherits` must be a keymap name".into()))?
                    .to_string(),
            );
            continue;
        }
        let context = Context::from_name(&name).ok_or_else(|| {
            let names: Vec<&str> = Context::ALL.iter().map(|c| c.name()).collect();
            err(format!(
                "unknown context [{name}]; contexts are {}",
                names.join(", ")
            ))
        })?;
        let actions = value
            .as_table()
            .ok_or_else(|| err(format!("[{name}] must be a table")))?;
        let entries = layer.entry(context).or_default();
        for (action_name, keys) in actions {
            let action = Action::from_name(action_name)
                .filter(|a| context.allows(*a))
                .ok_or_else(|| {
                    let valid: Vec<&str> = Action::ALL
                        .iter()
                        .filter(|a| context.allows(**a))
                        .map(|a| a.name())
                        .collect();
                    err(format!(
                        "[{name}] has no action `{action_name}`; it has {}",
                        valid.join(", ")
                    ))
                })?;
            let keys: Vec<&toml::Value> = match keys {
                toml::Value::Array(list) => list.iter().collect(),
                single => vec![single],
            };
            let keys = keys
                .into_iter()
                .map(|k| {
                    let text = k
                        .as_str()
                        .ok_or_else(|| err(format!("[{name}] {action_name}: keys are strings")))?;
                    Key::parse(text).map_err(|m| err(format!("[{name}] {action_name}: {m}")))
                })
                .collect::<Result<Vec<_>, _>>()?;
            entries.push((action, keys));
        }
    }
    Ok((inherits, layer))
}

impl Keymap {
    pub fn default_keymap() -> Keymap {
        Keymap::load("default", None).expect("the built-in default keymap is valid")
    }

    /// Load keymap `name`: from `<config_dir>/keymaps/<name>.toml` if present, else built in.
    pub fn load(name: &str, config_dir: Option<&Path>) -> Result<Keymap, KeymapError> {
        let mut layers = Vec::new();
        let mut next = Some(name.to_string());
        let mut sources = Vec::new();
        while let Some(current) = next.take() {
            if sources.contains(&current) || sources.len() > 8 {
                return Err(KeymapError {
                    source_name: name.into(),
                    message: format!("`inherits` loops through {}", sources.join(" → ")),
                });
            }
            let user = config_dir
                .map(|d| d.join("keymaps").join(format!("{current}.toml")))
                .filter(|p| p.is_file());
            let (source, text) = match (&user, BUILT_IN.iter().find(|(n, _)| *n == current)) {
                (Some(path), _) => {
                    let text = std::fs::read_to_string(path).map_err(|e| KeymapError {
                        source_name: path.display().to_string(),
                        message: e.to_string(),
                    })?;
                    (path.display().to_string(), text)
                }
                (None, Some((_, text))) => (format!("{current} (built in)"), text.to_string()),
                (None, None) => {
                    return Err(KeymapError {
                        source_name: current.clone(),
                        message: "no such keymap (built in: default, vim; or put one in the config dir's keymaps/)".into(),
                    });
                }
            };
            let (inherits, layer) = parse_layer(&text, &source)?;
            sources.push(current.clone());
            layers.push((source, layer));
            next = inherits;
            // A user file named like a built-in one layers over the built-in one.
            if next.is_none() && user.is_some() && BUILT_IN.iter().any(|(n, _)| *n == current) {
                let (_, text) = BUILT_IN
                    .iter()
                    .find(|(n, _)| *n == current)
                    .expect("checked");
                layers.push((
                    format!("{current} (built in)"),
                    parse_layer(text, &current)?.1,
                ));
            } else if next.is_none() && current != "default" {
                next = Some("default".into());
            }
        }
        let mut listing: BTreeMap<Context, Vec<(Action, Vec<Key>)>> = BTreeMap::new();
        for (_, layer) in layers.iter().rev() {
            for (context, entries) in layer {
                let list = listing.entry(*context).or_default();
                for (action, keys) in entries {
                    match list.iter_mut().find(|(a, _)| a == action) {
                        Some(slot) => slot.1 = keys.clone(),
                        None => list.push((*action, keys.clone())),
                    }
                }
            }
        }
        // Help and hints list actions in the order they are declared (related keys
        // together), whatever order the files wrote them in.
        for list in listing.values_mut() {
            list.sort_by_key(|(action, _)| Action::ALL.iter().position(|a| a == action));
        }
        let source_name = layers.first().map(|(s, _)| s.clone()).unwrap_or_default();
        let mut bindings = HashMap::new();
        for (context, entries) in &listing {
            for (action, keys) in entries {
                for key in keys {
                    if let Some(other) = bindings.insert((*context, *key), *action)
                        && other != *action
                    {
                        return Err(KeymapError {
                            source_name,
                            message: format!(
                                "key `{key}` is bound to both `{}` and `{}` in [{}]",
                                other.name(),
                                action.name(),
                                context.name()
                            ),
                        });
                    }
                }
            }
        }
        for ((context, key), action) in &bindings {
            for below in context.underneath() {
                if let Some(other) = bindings.get(&(*below, *key)) {
                    return Err(KeymapError {
                        source_name,
                        message: format!(
                            "key `{key}` is `{}` in [{}] and `{}` in [{}], which is active at the same time",
                            action.name(),
                            context.name(),
                            other.name(),
                            below.name()
                        ),
                    });
                }
            }
        }
        Ok(Keymap {
            name: name.into(),
            bindings,
            listing,
        })
    }

    pub fn action(&self, context: Context, event: &KeyEvent) -> Option<Action> {
        let key = Key::from_event(event)?;
        self.bindings.get(&(context, key)).copied()
    }

    pub fn keys(&self, context: Context, action: Action) -> &[Key] {
        self.listing
            .get(&context)
            .and_then(|l| l.iter().find(|(a, _)| *a == action))
            .map(|(_, k)| k.as_slice())
            .unwrap_or(&[])
    }

    /// The first key for an action, for hints: `?` for help.
    pub fn hint(&self, context: Context, action: Action) -> Option<String> {
        self.keys(context, action).first().map(Key::to_string)
    }

    pub fn listing(&self) -> &BTreeMap<Context, Vec<(Action, Vec<Key>)>> {
        &self.listing
    }

    /// The key table of the README, from the same listing the help overlay shows, so the
    /// two can't drift (a test compares them).
    pub fn markdown_table(&self) -> String {
        let mut out = String::from("| where | key | does |\n|---|---|---|\n");
        for (context, entries) in &self.listing {
            let mut first = true;
            for (action, keys) in entries.iter().filter(|(_, keys)| !keys.is_empty()) {
                let keys: Vec<String> = keys.iter().map(|k| format!("`{k}`")).collect();
                let place = if first { context.name() } else { "" };
                first = false;
                out.push_str(&format!(
                    "| {place} | {} | {} |\n",
                    keys.join(" "),
                    action.help()
                ));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn press(c: char) -> KeyEvent {
        KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)
    }

    #[test]
    fn built_in_keymaps_load_and_resolve() {
        let map = Keymap::default_keymap();
        assert_eq!(map.action(Context::Global, &press('q')), Some(Action::Quit));
        assert_eq!(
            map.action(Context::Approval, &press('y')),
            Some(Action::ApproveOnce)
        );
        let shifted = KeyEvent::new(KeyCode::Char('G'), KeyModifiers::SHIFT);
        assert_eq!(
            map.action(Context::Transcript, &shifted),
            Some(Action::ScrollBottom)
        );
        let vim = Keymap::load("vim", None).unwrap();
        let ctrl_f = KeyEvent::new(KeyCode::Char('f'), KeyModifiers::CONTROL);
        assert_eq!(
            vim.action(Context::Transcript, &ctrl_f),
            Some(Action::PageDown)
        );
        assert_eq!(vim.action(Context::Global, &press('q')), Some(Action::Quit));
    }

    #[test]
    fn conflicts_are_rejected_with_both_names() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("keymaps")).unwrap();
        std::fs::write(
            dir.path().join("keymaps/mine.toml"),
            "[transcript]\nopen-pager = \"j\"\n",
        )
        .unwrap();
        let err = Keymap::load("mine", Some(dir.path())).unwrap_err();
        assert!(
            err.message.contains("`j`")
                && err.message.contains("scroll-down")
                && err.message.contains("open-pager"),
            "{err}"
        );
        std::fs::write(
            dir.path().join("keymaps/mine.toml"),
            "[transcript]\nopen-pager = \"h\"\n",
        )
        .unwrap();
        let err = Keymap::load("mine", Some(dir.path())).unwrap_err();
        assert!(err.message.contains("[global]"), "{err}");
    }

    #[test]
    fn unbinding_and_bad_names_are_explained() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("keymaps")).unwrap();
        std::fs::write(
            dir.path().join("keymaps/default.toml"),
            "[global]\nsteer = []\n",
        )
        .unwrap();
        let map = Keymap::load("default", Some(dir.path())).unwrap();
        assert_eq!(map.action(Context::Global, &press('s')), None);
        assert_eq!(map.action(Context::Global, &press('q')), Some(Action::Quit));
        std::fs::write(
            dir.path().join("keymaps/default.toml"),
            "[global]\nfly = \"x\"\n",
        )
        .unwrap();
        let err = Keymap::load("default", Some(dir.path())).unwrap_err();
        assert!(
            err.message.contains("no action `fly`") && err.message.contains("pause-resume"),
            "{err}"
        );
        std::fs::write(
            dir.path().join("keymaps/default.toml"),
            "[global]\nquit = \"ctrl-banana\"\n",
        )
        .unwrap();
        assert!(
            Keymap::load("default", Some(dir.path()))
                .unwrap_err()
                .message
                .contains("not a key")
        );
    }

    #[test]
    fn a_word_that_is_no_key_is_named() {
        let err = Key::parse("ctrl-banana").unwrap_err();
        assert_eq!(err.text, "ctrl-banana");
        assert_eq!(
            err.to_string(),
            "`ctrl-banana` is not a key (use a character, or enter, esc, tab, space, up, pagedown, f1… with ctrl-/alt-)"
        );
    }
}
