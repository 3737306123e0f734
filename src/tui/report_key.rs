//! The workbench's `r`: the report of the session on screen, with the sessions
//! overlaid on it, written from its saved files into its report folder
//! ([`crate::report::write`]), on the chart's axis and smoothing; a popup and the log
//! say where it went (or why it did not).
//!
//! It runs on the UI thread: a report of 3,000 logged steps with 8 watched probes (12
//! charts, each as SVG and PNG) took 0.25 to 0.31 s in a debug build on 2 cores
//! (`report::tests::a_long_runs_report_is_quick`), so the screen pauses for a moment
//! at most.

use super::app::{App, Popup};
use super::log_panel::Level;
use crate::report::{command_line, Request, View};
use crate::terminal_text::escape;

/// Writes the report and records the outcome in `app` (popup and log).
pub fn write_report(app: &mut App) {
    let (level, note) = match app.compare.main.clone() {
        None => (
            Level::Warning,
            "no report yet: the run has not started; press r again once it has logged a step"
                .to_string(),
        ),
        Some(session) => {
            let compare: Vec<String> = app
                .compare
                .overlays
                .iter()
                .map(|o| o.name.clone())
                .collect();
            let view = View {
                axis: app.compare.axis,
                smoothing: app.smoothing,
            };
            let request = Request {
                session: &session,
                compare: &compare,
                out: None,
                view,
                command: command_line(&session, &compare, None, view),
                workbench: true,
            };
            match crate::report::write(&request) {
                Ok(w) => (
                    Level::Info,
                    format!(
                        "report written to {} in {:.1}s ({} charts as SVG and PNG, report.md); open {} in a browser",
                        w.dir.display(),
                        w.seconds,
                        w.charts,
                        w.dir.join(crate::report::folder::INDEX).display()
                    ),
                ),
                Err(e) => (Level::Error, format!("no report: {e:#}")),
            }
        }
    };
    app.log.push(level, note.clone());
    app.report_note = Some(escape(&note).into_owned());
    app.popup = Some(Popup::Report);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn before_the_run_has_started_the_popup_says_there_is_nothing_yet() {
        let mut app = App::new();
        write_report(&mut app);
        assert_eq!(app.popup, Some(Popup::Report));
        let note = app.report_note.clone().unwrap();
        assert!(note.contains("the run has not started"), "{note}");
        assert!(app.log.lines.iter().any(|l| l.text == note));
    }
}
