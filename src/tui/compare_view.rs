//! `bertwork compare A B ...` in a terminal: a read-only dashboard of session A with
//! the others overlaid. No trainer runs; the keys change the view only.

use std::path::Path;

use anyhow::Result;
use crossterm::event::{Event as TermEvent, KeyCode, KeyEventKind, KeyModifiers};

use super::app::{Action, App, Status};
use super::draw::draw;
use super::terminal::TerminalGuard;
use crate::curves::compare::Overlay;

/// Shows `first` with `others` overlaid until the user quits (q, Esc, Ctrl-C).
///
/// Errors: the terminal cannot be set up or drawn to.
pub fn open(first: Overlay, others: Vec<Overlay>) -> Result<()> {
    let mut app = App::new();
    app.display = super::display::Display::from_env();
    app.status = Status::Viewing;
    app.compare.main = Some(first.name);
    app.compare.main_tokens_per_step = first.tokens_per_step;
    app.compare.main_lineage = first.lineage;
    app.compare.main_config = first.config;
    app.compare.overlays = others;
    app.history = first.history;
    // Nothing runs, so nothing writes to stderr worth keeping.
    let mut guard = TerminalGuard::enter(Path::new("/dev/null"))?;
    loop {
        guard.terminal().draw(|f| draw(f, &app))?;
        let TermEvent::Key(key) = crossterm::event::read()? else {
            continue;
        };
        if key.kind == KeyEventKind::Release {
            continue;
        }
        let ctrl_c =
            key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c');
        let popup = app.popup.is_some();
        if ctrl_c || (!popup && matches!(key.code, KeyCode::Char('q') | KeyCode::Esc)) {
            return Ok(());
        }
        // The dashboard's view keys and the session picker; no panels, no training.
        let view_key = matches!(
            key.code,
            KeyCode::Char('x' | 'c' | 'h' | '+' | '=' | '-' | 'r')
        );
        if !(popup || view_key) {
            continue;
        }
        for action in app.on_key(key) {
            match action {
                Action::PickSessions => {
                    app.compare
                        .open_picker(crate::session::list_names().unwrap_or_default());
                    app.popup = Some(super::app::Popup::Compare);
                }
                Action::LoadOverlay(name) => {
                    if let Ok(o) = Overlay::load(&name) {
                        app.compare.overlays.push(o);
                    }
                }
                Action::WriteReport => super::report_key::write_report(&mut app),
                _ => {}
            }
        }
    }
}
