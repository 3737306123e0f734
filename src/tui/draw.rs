//! The whole screen as a pure function of the app state: tabs, the current panel,
//! the status line and the key hints of the current panel.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Tabs};
use ratatui::Frame;

use super::app::{App, Panel, Popup, Status, PANELS};
use super::keymap::{self, Binding, HintScope};
use super::{
    attention_panel, compare_panel, dashboard, downstream_panel, hyper_panel, log_panel,
    neighbours_panel, overlay, probe_panel, theme, watch_panel,
};
use crate::protocol::FinishReason;
use crate::terminal_text::escape;

pub fn draw(frame: &mut Frame, app: &App) {
    draw_panels(frame, app);
    app.display.adapt(frame.buffer_mut());
}

fn draw_panels(frame: &mut Frame, app: &App) {
    let area = frame.area();
    let [tabs, body, status, keys] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(0),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(area);
    // `bertwork compare` has the dashboard only: the tab bar names what is compared.
    let titles: Vec<String> = if app.status == Status::Viewing {
        let mut names = vec![app.compare.main_name().to_string()];
        names.extend(app.compare.overlays.iter().map(|o| o.name.clone()));
        vec![format!("compare: {}", escape(&names.join(" vs ")))]
    } else {
        PANELS
            .iter()
            .enumerate()
            .map(|(i, (_, t))| format!("{} {t}", i + 1))
            .collect()
    };
    let selected = PANELS
        .iter()
        .position(|(p, _)| *p == app.panel)
        .unwrap_or(0);
    frame.render_widget(
        Tabs::new(titles)
            .select(selected)
            .highlight_style(theme::selected()),
        tabs,
    );
    match app.panel {
        Panel::Dashboard => dashboard::draw(frame, body, app),
        Panel::Probe => probe_panel::draw(frame, body, &app.probe),
        Panel::Hyper => hyper_panel::draw(
            frame,
            body,
            &app.hyper,
            app.info.as_ref().map(|i| &i.config),
            app.info.as_ref().map(|i| hyper_panel::Progress {
                total_steps: i.total_steps,
                steps_per_epoch: i.steps_per_epoch,
                step: app.step(),
            }),
        ),
        Panel::Log => log_panel::draw(frame, body, &app.log),
        Panel::Attention => attention_panel::draw(frame, body, &app.attention),
        Panel::Neighbours => neighbours_panel::draw(frame, body, &app.neighbours),
        Panel::Watch => watch_panel::draw(
            frame,
            body,
            &app.watch,
            app.info.as_ref().map(|i| i.config.train.watch_interval()),
        ),
        Panel::Downstream => downstream_panel::draw(
            frame,
            body,
            &app.downstream,
            &downstream_panel::ChartContext {
                history: &app.history,
                axis: app.compare.axis,
                tokens_per_step: app.compare.main_tokens_per_step,
                onset: app.onset_step(),
                onset_label: crate::curves::ONSET_MARKER,
                label_setting: app
                    .info
                    .as_ref()
                    .map(|i| i.config.data.label_column.as_str()),
                overlays: &app.compare.overlays,
            },
        ),
    }
    draw_status(frame, status, app);
    draw_keys(frame, keys, app);
    match app.popup {
        Some(Popup::Help) => overlay::help(frame, area),
        Some(Popup::Quit) => overlay::quit(frame, area),
        Some(Popup::Compare) => compare_panel::draw_picker(frame, area, &app.compare),
        Some(Popup::Report) => overlay::note(
            frame,
            area,
            " Report ",
            app.report_note.as_deref().unwrap_or_default(),
        ),
        Some(Popup::Failure) => overlay::failure(
            frame,
            area,
            app.summary
                .as_ref()
                .and_then(|s| s.error.as_deref())
                .unwrap_or("training failed"),
        ),
        None => {}
    }
}

fn draw_status(frame: &mut Frame, area: Rect, app: &App) {
    let preparing =
        (app.preparing.as_ref()).map(|p| format!("preparing the corpus: {}", p.describe()));
    let (text, color) = match app.status {
        Status::Preparing if preparing.is_some() => {
            (preparing.as_deref().unwrap_or_default(), theme::WARN)
        }
        Status::Preparing => ("preparing the corpus", theme::WARN),
        Status::WarmingUp => ("warming up", theme::WARN),
        Status::Training => ("training", theme::OK),
        Status::Paused => ("paused", theme::WARN),
        Status::Saving => ("saving", theme::WARN),
        Status::Finished(FinishReason::Failed) => ("error", theme::ERROR),
        Status::Finished(_) => ("finished", theme::OK),
        Status::Viewing => ("comparing sessions (read-only)", theme::OK),
    };
    let session = app.info.as_ref().map_or(String::new(), |i| {
        format!(
            "  session {}  {}L/{}H  {} {}{}",
            escape(&i.session),
            i.layers,
            i.hidden,
            i.device,
            i.precision,
            if i.world_size > 1 {
                format!(" x {} ranks", i.world_size)
            } else {
                String::new()
            }
        )
    });
    let last_error = app
        .log
        .lines
        .iter()
        .rev()
        .find(|l| l.level == super::log_panel::Level::Error)
        .map(|l| format!("  last error: {}", escape(&l.text)))
        .unwrap_or_default();
    let line = Line::from(vec![
        Span::styled(
            format!(" {text} "),
            Style::default()
                .fg(color)
                .add_modifier(ratatui::style::Modifier::BOLD),
        ),
        Span::raw(session),
        Span::styled(last_error, Style::default().fg(theme::ERROR)),
    ]);
    frame.render_widget(Paragraph::new(line), area);
}

fn draw_keys(frame: &mut Frame, area: Rect, app: &App) {
    let scope = match app.panel {
        _ if app.status == Status::Viewing => HintScope::Viewing,
        Panel::Dashboard => HintScope::Dashboard,
        Panel::Probe => HintScope::Probe {
            typing: app.probe.focused,
        },
        Panel::Hyper => HintScope::Hyper {
            editing: app.hyper.is_editing(),
        },
        Panel::Attention => HintScope::Attention {
            typing: app.attention.focused,
        },
        Panel::Neighbours => HintScope::Neighbours {
            typing: app.neighbours.focused,
        },
        Panel::Watch => HintScope::Watch {
            editing: app.watch.editing,
        },
        Panel::Downstream => HintScope::Downstream,
        Panel::Log => HintScope::Log,
    };
    let keys = keymap::hints(scope);
    // Once the run has ended there is nothing to pause or save.
    let ended = matches!(app.status, Status::Finished(_));
    let mut shown: Vec<&Binding> = keys
        .iter()
        .filter(|b| !(ended && keymap::NEEDS_TRAINER.contains(b)))
        .collect();
    // A narrow terminal drops whole hints, panel switching first (the tab bar shows
    // it), never help or quit.
    let width = |shown: &[&Binding]| -> usize {
        shown
            .iter()
            .map(|b| b.key.chars().count() + b.what.chars().count() + 5)
            .sum::<usize>()
            .saturating_sub(2)
    };
    while width(&shown) > area.width as usize {
        let Some(i) = shown.iter().position(|b| **b == keymap::PANEL).or_else(|| {
            shown
                .iter()
                .rposition(|b| ![keymap::HELP_KEY, keymap::QUIT].contains(b))
        }) else {
            break;
        };
        shown.remove(i);
    }
    let mut spans = Vec::new();
    for b in shown {
        spans.push(Span::styled(format!(" {} ", b.key), theme::key()));
        spans.push(Span::raw(format!(" {}  ", b.what)));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}
