//! The Watched panel: pinned probes that the trainer reads every few steps, and a
//! chart per probe of the probability of its top tokens and of the tokens the user
//! named, over training. The list is `train.watch`; changing it sends
//! [`Command::Watch`] with the whole new list.

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis, Block, Borders, Chart, Dataset, GraphType, Paragraph, Wrap};
use ratatui::Frame;
use tui_input::Input;

use super::theme;
use crate::config::watch::{WatchSpec, MAX_WATCHED};
use crate::curves::watched::{add_readings, ProbeSeries};
use crate::protocol::{Command, WatchReading};
use crate::terminal_text::escape;

#[derive(Debug, Default)]
pub struct WatchState {
    /// The watched entries as the trainer last confirmed them.
    pub entries: Vec<String>,
    /// Readings by probe text, in the order first seen.
    pub series: Vec<ProbeSeries>,
    pub selected: usize,
    pub input: Input,
    pub editing: bool,
    pub message: Option<String>,
}

impl WatchState {
    /// Adds readings taken at `step`.
    pub fn readings(&mut self, step: u64, readings: &[WatchReading]) {
        add_readings(&mut self.series, step, readings);
    }

    /// The series of the entry at `index` of the watched list, if read yet.
    fn series_of(&self, index: usize) -> Option<&ProbeSeries> {
        let spec = WatchSpec::parse(self.entries.get(index)?).ok()?;
        self.series.iter().find(|s| s.text == spec.text)
    }

    /// Keys while the panel is shown. `last_probe`: the Probe panel's last text, offered
    /// when adding.
    pub fn on_key(&mut self, key: KeyEvent, last_probe: Option<&str>) -> Option<Command> {
        if self.editing {
            return self.on_edit_key(key);
        }
        match key.code {
            KeyCode::Up => self.selected = self.selected.saturating_sub(1),
            KeyCode::Down => {
                self.selected = (self.selected + 1).min(self.entries.len().saturating_sub(1))
            }
            KeyCode::Char('a') => {
                if self.entries.len() >= MAX_WATCHED {
                    self.message = Some(format!(
                        "{MAX_WATCHED} probes are watched already: remove one with d first"
                    ));
                } else {
                    self.editing = true;
                    self.input = Input::new(last_probe.unwrap_or_default().to_string());
                    self.message = None;
                }
            }
            KeyCode::Char('d') | KeyCode::Delete if !self.entries.is_empty() => {
                let mut entries = self.entries.clone();
                entries.remove(self.selected.min(entries.len() - 1));
                self.selected = self.selected.min(entries.len().saturating_sub(1));
                return Some(Command::Watch(entries));
            }
            _ => {}
        }
        None
    }

    fn on_edit_key(&mut self, key: KeyEvent) -> Option<Command> {
        match key.code {
            KeyCode::Esc => self.editing = false,
            KeyCode::Enter => match WatchSpec::parse(self.input.value()) {
                Ok(spec) => {
                    self.editing = false;
                    let mut entries = self.entries.clone();
                    entries.retain(|e| WatchSpec::parse(e).is_ok_and(|s| s.text != spec.text));
                    entries.push(spec.entry());
                    self.selected = entries.len() - 1;
                    self.message = Some("watching from the next reading".into());
                    return Some(Command::Watch(entries));
                }
                Err(e) => self.message = Some(e.to_string()),
            },
            _ => {
                super::text_box::edit(&mut self.input, key);
            }
        }
        None
    }
}

/// Draws the panel: the watched list on the left, the selected probe's chart on the
/// right, the input line or a hint at the bottom. `interval`: steps between readings.
pub fn draw(frame: &mut Frame, area: Rect, state: &WatchState, interval: Option<u64>) {
    let [main, bottom] = Layout::vertical([Constraint::Min(3), Constraint::Length(3)]).areas(area);
    let [list, chart] =
        Layout::horizontal([Constraint::Percentage(38), Constraint::Percentage(62)]).areas(main);
    draw_list(frame, list, state, interval);
    draw_chart(frame, chart, state);
    let (title, text) = if state.editing {
        (
            " add a watched probe: TEXT with [MASK], then | and the words to follow ",
            Line::raw(escape(state.input.value())),
        )
    } else {
        (
            " watched probes ",
            Line::styled(
                state.message.clone().map_or_else(
                    || format!("a: add (up to {MAX_WATCHED}), d: remove, Up/Down: select; e.g. this movie was [MASK] . | great, awful"),
                    |m| escape(&m).into_owned(),
                ),
                theme::dim(),
            ),
        )
    };
    frame.render_widget(
        Paragraph::new(text).block(Block::default().borders(Borders::ALL).title(title)),
        bottom,
    );
    if state.editing && bottom.width > 2 {
        let x = bottom.x + 1 + (state.input.visual_cursor() as u16).min(bottom.width - 3);
        frame.set_cursor_position((x, bottom.y + 1));
    }
}

fn draw_list(frame: &mut Frame, area: Rect, state: &WatchState, interval: Option<u64>) {
    let every = interval.map_or(String::new(), |n| format!(", read every {n} steps"));
    let block = Block::default().borders(Borders::ALL).title(format!(
        " watched ({}/{MAX_WATCHED}{every}) ",
        state.entries.len()
    ));
    if state.entries.is_empty() {
        let text = vec![
            Line::raw("Nothing is watched yet."),
            Line::raw(""),
            // One line, wrapped to the panel's width, so it never breaks mid-sentence.
            Line::raw(
                "Press a to pin a probe: the trainer answers it every few steps on the weights of that step, and the chart shows how its answers change.",
            ),
        ];
        frame.render_widget(
            Paragraph::new(text)
                .style(theme::dim())
                .wrap(Wrap { trim: false })
                .block(block),
            area,
        );
        return;
    }
    let mut lines = Vec::new();
    for (i, entry) in state.entries.iter().enumerate() {
        let style = if i == state.selected {
            theme::selected()
        } else {
            theme::title()
        };
        lines.push(Line::styled(escape(entry), style));
        let latest = state.series_of(i).and_then(|s| s.latest.as_ref());
        let answer = match latest {
            Some((step, r)) => {
                let top: Vec<String> = r
                    .top
                    .iter()
                    .take(3)
                    .map(|(t, p)| format!("{} {p:.2}", escape(t)))
                    .collect();
                format!("  step {step}: {}", top.join(", "))
            }
            None => "  not read yet".into(),
        };
        lines.push(Line::styled(answer, theme::dim()));
    }
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(block),
        area,
    );
}

fn draw_chart(frame: &mut Frame, area: Rect, state: &WatchState) {
    let series = state.series_of(state.selected);
    let title = series.map_or(" probability at [MASK] ".into(), |s| {
        format!(" P(token) at [MASK]: {} ", escape(&s.text))
    });
    let block = Block::default().borders(Borders::ALL).title(title);
    let Some(series) = series.filter(|s| s.latest.is_some()) else {
        let text = Paragraph::new(Line::styled("no readings yet", theme::dim())).block(block);
        frame.render_widget(text, area);
        return;
    };
    let tokens = series.chart_tokens();
    let lines: Vec<(String, &Vec<(f64, f64)>)> = tokens
        .iter()
        .filter_map(|t| Some((escape(t).into_owned(), series.points.get(t)?)))
        .collect();
    let (mut x0, mut x1, mut y1) = (f64::MAX, f64::MIN, 0.0f64);
    for (_, points) in &lines {
        for &(x, y) in points.iter() {
            (x0, x1, y1) = (x0.min(x), x1.max(x), y1.max(y));
        }
    }
    if x1 <= x0 {
        x1 = x0 + 1.0;
    }
    let y1 = (y1 * 1.1).clamp(0.01, 1.0);
    let sets: Vec<Dataset> = lines
        .iter()
        .enumerate()
        .map(|(i, (name, points))| {
            Dataset::default()
                .name(name.clone())
                .marker(Marker::Braille)
                .graph_type(GraphType::Line)
                .style(theme::SERIES[i % theme::SERIES.len()])
                .data(points)
        })
        .collect();
    let legend: Vec<(String, ratatui::style::Color)> = lines
        .iter()
        .enumerate()
        .map(|(i, (name, _))| (name.clone(), theme::SERIES[i % theme::SERIES.len()]))
        .collect();
    let chart = Chart::new(sets)
        .block(block)
        .legend_position(None)
        .x_axis(Axis::default().title("step").bounds([x0, x1]).labels(vec![
            Span::raw(format!("{x0:.0}")),
            Span::raw(format!("{x1:.0}")),
        ]))
        .y_axis(
            Axis::default()
                .bounds([0.0, y1])
                .labels(vec![Span::raw("0"), Span::raw(format!("{y1:.2}"))]),
        );
    frame.render_widget(chart, area);
    super::legend::draw(frame, area, &legend);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossterm::event::KeyModifiers;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    fn reading(text: &str, top: &[(&str, f64)]) -> WatchReading {
        WatchReading {
            text: text.into(),
            top: top.iter().map(|(t, p)| (t.to_string(), *p)).collect(),
            named: Vec::new(),
        }
    }

    #[test]
    fn readings_build_one_line_per_token() {
        let mut s = WatchState::default();
        s.readings(10, &[reading("a [MASK]", &[("good", 0.5), ("bad", 0.2)])]);
        s.readings(20, &[reading("a [MASK]", &[("bad", 0.6), ("fun", 0.1)])]);
        let series = &s.series[0];
        assert_eq!(series.points["bad"], vec![(10.0, 0.2), (20.0, 0.6)]);
        assert_eq!(series.points["good"], vec![(10.0, 0.5)]);
        assert_eq!(series.latest.as_ref().unwrap().0, 20);
    }

    #[test]
    fn adding_and_removing_send_the_whole_list() {
        let mut s = WatchState {
            entries: vec!["x [MASK]".into()],
            ..WatchState::default()
        };
        assert_eq!(
            s.on_key(key(KeyCode::Char('a')), Some("the plot was [MASK] .")),
            None
        );
        assert!(s.editing);
        assert_eq!(s.input.value(), "the plot was [MASK] .");
        for c in " | dull, fun".chars() {
            s.on_key(key(KeyCode::Char(c)), None);
        }
        assert_eq!(
            s.on_key(key(KeyCode::Enter), None),
            Some(Command::Watch(vec![
                "x [MASK]".into(),
                "the plot was [MASK] . | dull, fun".into()
            ]))
        );
        // What the trainer confirms is what the panel shows.
        s.entries = vec![
            "x [MASK]".into(),
            "the plot was [MASK] . | dull, fun".into(),
        ];
        s.selected = 0;
        assert_eq!(
            s.on_key(key(KeyCode::Char('d')), None),
            Some(Command::Watch(vec![
                "the plot was [MASK] . | dull, fun".into()
            ]))
        );
        // A text without [MASK] is refused in the panel.
        s.on_key(key(KeyCode::Char('a')), Some("no mask"));
        assert_eq!(s.on_key(key(KeyCode::Enter), None), None);
        assert!(s.message.as_deref().unwrap().contains("no [MASK]"));
    }
}
