//! Every key binding the workbench shows, defined once: the help overlay's rows
//! ([`HELP`]) and the hint bar's entries per panel and mode ([`hints`]) are lists of
//! the [`Binding`]s below. The handlers (`app.rs` and each panel's `on_key`) act on
//! the keys; tests hold each hint to a help row and `docs/workbench.md` to the help
//! rows.

/// A key (or keys) and what it does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Binding {
    /// The key(s) as shown, e.g. `space`, `Up/Down`, `[ ]`.
    pub key: &'static str,
    /// What it does, as the hint bar says it (a word or two) or as the help overlay
    /// says it (a sentence).
    pub what: &'static str,
}

const fn bind(key: &'static str, what: &'static str) -> Binding {
    Binding { key, what }
}

// Hint bar entries: short.
pub const PAUSE: Binding = bind("space", "pause");
pub const SAVE: Binding = bind("s", "save");
pub const FORK: Binding = bind("f", "fork");
pub const COMPARE: Binding = bind("c", "compare");
pub const SESSIONS: Binding = bind("c", "sessions");
pub const REPORT: Binding = bind("r", "report");
pub const WINDOW: Binding = bind("h", "window");
pub const SMOOTHING: Binding = bind("+/-", "smoothing");
pub const AXIS: Binding = bind("x", "axis: step / tokens / time");
pub const PANEL: Binding = bind("Tab", "panel");
pub const HELP_KEY: Binding = bind("?", "help");
pub const QUIT: Binding = bind("q", "quit");
pub const TYPE: Binding = bind("i", "type");
pub const LEAVE_BOX: Binding = bind("Esc", "leave box");
pub const CANCEL: Binding = bind("Esc", "cancel");
pub const RUN_PROBE: Binding = bind("Enter", "run");
pub const PROBE_HISTORY: Binding = bind("Up/Down", "history");
pub const PAIR_MODE: Binding = bind("Ctrl-T", "pair mode");
pub const SELECT: Binding = bind("Up/Down", "select");
pub const EDIT: Binding = bind("Enter", "edit");
pub const QUEUE: Binding = bind("Enter", "queue change");
pub const SHOW: Binding = bind("Enter", "show");
pub const ROWS: Binding = bind("Up/Down", "rows");
pub const LAYER: Binding = bind("[ ]", "layer");
pub const HEAD: Binding = bind("Left/Right", "head");
pub const COLUMNS: Binding = bind("< >", "columns");
pub const LOOK_UP: Binding = bind("Enter", "look up");
pub const ADD: Binding = bind("a", "add");
pub const REMOVE: Binding = bind("d", "remove");
pub const WATCH: Binding = bind("Enter", "watch");

/// The help overlay (`?`), in order: every key the workbench handles outside text
/// editing (which follows `text_box`).
pub const HELP: &[Binding] = &[
    bind("Tab / Shift-Tab", "next / previous panel"),
    bind("1 .. 8", "the panels, in the order of the tab bar"),
    bind("space", "pause / resume training"),
    bind("s", "save a checkpoint now"),
    bind("f", "fork here: a checkpoint, and a new session from it"),
    bind("q", "quit (asks: stop and save / quit unsaved / cancel)"),
    bind("Ctrl-C", "stop gracefully, save and quit"),
    bind(
        "Ctrl-Z",
        "suspend to the shell (training pauses with the process; fg returns)",
    ),
    bind("?", "this help (any key closes it)"),
    bind("h", "dashboard: whole run / recent window"),
    bind("+ / -", "dashboard: more / less smoothing"),
    bind("c", "dashboard: overlay other sessions, list differences"),
    bind("x", "dashboard, downstream: x axis by step / tokens / time"),
    bind("r", "the session's report: charts, report.md, index.html"),
    bind(
        "Enter / i",
        "probe, attention, neighbours: type; Enter asks",
    ),
    bind("Up / Down", "probe: earlier probes (Enter re-runs one)"),
    bind("Ctrl-T", "probe: fill-mask / sentence-pair mode (A | B)"),
    bind("Esc", "leave a text box; cancel an edit"),
    bind("Up / Down, j / k", "hyperparameters: select"),
    bind(
        "Enter / e",
        "hyperparameters: edit, then Enter to queue the change",
    ),
    bind("[ / ]", "attention: previous / next layer"),
    bind(
        "Left / Right",
        "attention: previous / next head (outside the text box)",
    ),
    bind("Up/Down PgUp/PgDn", "attention: scroll rows"),
    bind(
        "< / >, Home",
        "attention: scroll columns; back to the top left",
    ),
    bind(
        "Enter",
        "neighbours: look up \"word [other word]\", then every 2 s",
    ),
    bind(
        "a / d, Delete",
        "watched: pin a probe (TEXT [MASK] | words) / unpin",
    ),
    bind("Up / Down", "watched: select a pinned probe"),
    bind("q (finished)", "quit once training has finished"),
];

/// Which hint bar: the panel and whether its text box or editor has the keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HintScope {
    /// `bertwork compare`: read-only, no trainer.
    Viewing,
    Dashboard,
    Probe {
        typing: bool,
    },
    Hyper {
        editing: bool,
    },
    Attention {
        typing: bool,
    },
    Neighbours {
        typing: bool,
    },
    Watch {
        editing: bool,
    },
    Downstream,
    Log,
}

/// The hint bar's entries for `scope`, in order (the bar drops some when narrow).
pub fn hints(scope: HintScope) -> &'static [Binding] {
    match scope {
        HintScope::Viewing => &[AXIS, SESSIONS, WINDOW, SMOOTHING, REPORT, QUIT],
        HintScope::Dashboard => &[
            PAUSE, SAVE, FORK, COMPARE, REPORT, WINDOW, PANEL, HELP_KEY, QUIT,
        ],
        HintScope::Probe { typing: true } => {
            &[RUN_PROBE, PROBE_HISTORY, PAIR_MODE, LEAVE_BOX, PANEL]
        }
        HintScope::Probe { typing: false } => &[TYPE, PAUSE, SAVE, PANEL, HELP_KEY, QUIT],
        HintScope::Hyper { editing: true } => &[QUEUE, CANCEL],
        HintScope::Hyper { editing: false } => &[SELECT, EDIT, PAUSE, PANEL, HELP_KEY, QUIT],
        HintScope::Attention { typing: true } => &[SHOW, ROWS, LEAVE_BOX, PANEL],
        HintScope::Attention { typing: false } => &[LAYER, HEAD, ROWS, COLUMNS, TYPE, PANEL, QUIT],
        HintScope::Neighbours { typing: true } => &[LOOK_UP, LEAVE_BOX, PANEL],
        HintScope::Neighbours { typing: false } => &[TYPE, PAUSE, PANEL, HELP_KEY, QUIT],
        HintScope::Watch { editing: true } => &[WATCH, CANCEL],
        HintScope::Watch { editing: false } => &[ADD, REMOVE, SELECT, PANEL, HELP_KEY, QUIT],
        HintScope::Downstream => &[AXIS, PAUSE, PANEL, HELP_KEY, QUIT],
        HintScope::Log => &[PAUSE, SAVE, PANEL, HELP_KEY, QUIT],
    }
}

/// Hints that need a running trainer (hidden once the run has ended).
pub const NEEDS_TRAINER: [Binding; 3] = [PAUSE, SAVE, FORK];

#[cfg(test)]
mod tests {
    use super::*;

    const SCOPES: [HintScope; 14] = [
        HintScope::Viewing,
        HintScope::Dashboard,
        HintScope::Probe { typing: true },
        HintScope::Probe { typing: false },
        HintScope::Hyper { editing: true },
        HintScope::Hyper { editing: false },
        HintScope::Attention { typing: true },
        HintScope::Attention { typing: false },
        HintScope::Neighbours { typing: true },
        HintScope::Neighbours { typing: false },
        HintScope::Watch { editing: true },
        HintScope::Watch { editing: false },
        HintScope::Downstream,
        HintScope::Log,
    ];

    /// The keys a shown key string names: `Up/Down` and `Up / Down` both name `Up`
    /// and `Down`; `[ ]` names `[` and `]`; `+/-` names `+` and `-`.
    fn names(shown: &str) -> Vec<String> {
        let shown = shown.replace("(finished)", "");
        let mut out = Vec::new();
        for word in shown.split([' ', ',']).filter(|w| !w.is_empty()) {
            if word.len() > 1 && word.contains('/') && word != "/" {
                out.extend(
                    word.split('/')
                        .filter(|w| !w.is_empty())
                        .map(str::to_string),
                );
            } else if word != "/" && word != ".." {
                out.push(word.to_string());
            }
        }
        out
    }

    /// Every key a hint bar offers is explained in the help overlay.
    #[test]
    fn every_hinted_key_has_a_help_row() {
        let helped: Vec<String> = HELP.iter().flat_map(|b| names(b.key)).collect();
        for scope in SCOPES {
            for b in hints(scope) {
                for name in names(b.key) {
                    assert!(
                        helped.contains(&name),
                        "{scope:?}: `{name}` ({}) has no help row",
                        b.what
                    );
                }
            }
        }
    }

    /// `docs/workbench.md`, where a newcomer looks a key up, lists every help row.
    #[test]
    fn the_workbench_page_lists_every_help_row() {
        let page = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/workbench.md"),
        )
        .unwrap();
        for b in HELP {
            let row = format!(
                "| {} | {} |",
                b.key.replace('|', "\\|"),
                b.what.replace('|', "\\|")
            );
            assert!(page.contains(&row), "docs/workbench.md lacks the row {row}");
        }
    }
}
