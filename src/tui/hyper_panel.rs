//! The hyperparameter panel: current values, an editor that validates on entry, and
//! the changes waiting for the next epoch.

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};
use ratatui::Frame;
use tui_input::Input;

use super::lr_preview::{self, Plan};
use super::theme;
use crate::config::Config;
use crate::protocol::{ApplyAt, Command, Hyper};
use crate::terminal_text::escape;

/// The editable fields' config keys, in display order ([`Hyper::all_from`]).
pub fn fields() -> [&'static str; 8] {
    Hyper::all_from(&Config::default()).map(|h| h.key())
}

#[derive(Debug, Default)]
pub struct HyperState {
    pub selected: usize,
    pub editing: Option<Input>,
    /// (is_error, text) about the last edit.
    pub message: Option<(bool, String)>,
    /// Changes sent and not yet applied.
    pub queued: Vec<Hyper>,
    /// Changes applied so far, (step it took effect, `key=value`), oldest first
    /// (a resumed session's earlier ones included).
    pub applied: Vec<(u64, String)>,
}

/// Reads `text` as a new value for the field at `index` ([`fields`]), checked like a
/// config value.
pub fn parse(index: usize, text: &str, config: &Config) -> Result<Hyper, String> {
    let change = Hyper::all_from(config)[index].with_text(text)?;
    let mut trial = config.clone();
    change.apply_to(&mut trial);
    trial.validate().map_err(|e| e.to_string())?;
    Ok(change)
}

impl HyperState {
    pub fn on_key(&mut self, key: KeyEvent, config: Option<&Config>) -> Option<Command> {
        if let Some(input) = &mut self.editing {
            match key.code {
                KeyCode::Esc => self.editing = None,
                KeyCode::Enter => {
                    let field = fields()[self.selected];
                    let Some(config) = config else {
                        self.message = Some((true, "wait until training has started".into()));
                        return None;
                    };
                    match parse(self.selected, input.value(), config) {
                        Ok(change) => {
                            self.editing = None;
                            let when = match change.applies_at() {
                                ApplyAt::NextStep => "next step",
                                ApplyAt::NextEpoch => "next epoch",
                            };
                            self.message = Some((
                                false,
                                format!(
                                    "{field} = {} queued for the {when}",
                                    change.value_string()
                                ),
                            ));
                            self.queued.retain(|q| q.key() != change.key());
                            self.queued.push(change);
                            return Some(Command::SetHyper(change));
                        }
                        Err(e) => self.message = Some((true, e)),
                    }
                }
                _ => {
                    super::text_box::edit(input, key);
                }
            }
            return None;
        }
        match key.code {
            KeyCode::Up | KeyCode::Char('k') => self.selected = self.selected.saturating_sub(1),
            KeyCode::Down | KeyCode::Char('j') => {
                self.selected = (self.selected + 1).min(fields().len() - 1)
            }
            KeyCode::Enter | KeyCode::Char('e') => {
                let value = config
                    .map(|c| Hyper::all_from(c)[self.selected].value_string())
                    .unwrap_or_default();
                self.editing = Some(Input::new(value));
                self.message = None;
            }
            _ => {}
        }
        None
    }

    /// The trainer applied a change from `step` on: it is no longer queued.
    pub fn applied(&mut self, change: &Hyper, step: u64) {
        self.queued.retain(|q| q.key() != change.key());
        self.applied
            .push((step, format!("{}={}", change.key(), change.value_string())));
    }

    pub fn is_editing(&self) -> bool {
        self.editing.is_some()
    }
}

/// The run's plan as the preview needs it: planned steps, steps per epoch, steps taken.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    pub total_steps: u64,
    pub steps_per_epoch: u64,
    pub step: u64,
}

/// `config` with the queued changes and the value being typed (when it parses) applied;
/// None when that changes nothing the learning-rate schedule depends on.
fn candidate(state: &HyperState, config: &Config) -> Option<Config> {
    let mut c = config.clone();
    for q in &state.queued {
        q.apply_to(&mut c);
    }
    if let Some(input) = &state.editing {
        if let Ok(change) = parse(state.selected, input.value(), &c) {
            change.apply_to(&mut c);
        }
    }
    let t = (&c.train, &config.train);
    let differs =
        t.0.lr != t.1.lr || t.0.warmup_steps != t.1.warmup_steps || t.0.epochs != t.1.epochs;
    differs.then_some(c)
}

/// The panel: the fields on top, the learning-rate preview below once the run has
/// started (`config` and `progress` known).
pub fn draw(
    frame: &mut Frame,
    area: Rect,
    state: &HyperState,
    config: Option<&Config>,
    progress: Option<Progress>,
) {
    let (list, preview) = match (config, progress) {
        (Some(c), Some(p)) if area.height >= 24 => {
            let [list, preview] =
                Layout::vertical([Constraint::Length(14), Constraint::Fill(1)]).areas(area);
            (list, Some((c, p, preview)))
        }
        _ => (area, None),
    };
    draw_fields(frame, list, state, config);
    if let Some((config, p, preview)) = preview {
        let plan = Plan {
            config,
            total_steps: p.total_steps,
            steps_per_epoch: p.steps_per_epoch,
            step: p.step,
            candidate: candidate(state, config),
        };
        lr_preview::draw(frame, preview, &plan);
    }
}

fn draw_fields(frame: &mut Frame, area: Rect, state: &HyperState, config: Option<&Config>) {
    let mut lines = vec![Line::styled(
        "Up/Down select, Enter edit, Enter apply, Esc cancel. lr and clip_norm apply at the next step, the rest at the next epoch.",
        theme::dim(),
    )];
    lines.push(Line::raw(""));
    let values = config.map(Hyper::all_from);
    for (i, field) in fields().iter().enumerate() {
        let value = values.map_or_else(|| "-".into(), |v| v[i].value_string());
        let queued = state.queued.iter().find(|q| q.key() == *field);
        let mut spans = vec![
            Span::raw(format!(" {field:<20} ")),
            Span::raw(format!("{value:<12}")),
        ];
        if let Some(q) = queued {
            let when = match q.applies_at() {
                ApplyAt::NextStep => "next step",
                ApplyAt::NextEpoch => "next epoch",
            };
            spans.push(Span::styled(
                format!(" → {} (queued for the {when})", q.value_string()),
                Style::default().fg(theme::WARN),
            ));
        }
        if i == state.selected {
            if let Some(input) = &state.editing {
                spans.push(Span::styled(
                    format!("  new value: {}_", input.value()),
                    Style::default().fg(theme::MLM),
                ));
            }
        }
        let line = Line::from(spans);
        lines.push(if i == state.selected {
            line.style(theme::selected())
        } else {
            line
        });
    }
    if !state.applied.is_empty() {
        // Newest first: the recent ones are what a user checks.
        let recent: Vec<String> = state
            .applied
            .iter()
            .rev()
            .take(4)
            .map(|(step, change)| format!("step {step}: {}", escape(change)))
            .collect();
        let more = state.applied.len().saturating_sub(4);
        let tail = if more > 0 {
            format!(" (+{more} earlier)")
        } else {
            String::new()
        };
        lines.push(Line::styled(
            format!(" applied: {}{tail}", recent.join(", ")),
            theme::dim(),
        ));
    } else {
        lines.push(Line::raw(""));
    }
    if let Some((is_err, m)) = &state.message {
        let color = if *is_err { theme::ERROR } else { theme::OK };
        lines.push(Line::styled(m.clone(), Style::default().fg(color)));
    }
    frame.render_widget(
        Paragraph::new(lines).block(
            Block::default()
                .borders(Borders::ALL)
                .title(" Hyperparameters "),
        ),
        area,
    );
}
