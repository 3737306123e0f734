//! The Downstream panel: the linear probe's accuracy on the corpus's own labels over
//! training, against the baselines (majority class, TF-IDF, the untrained encoder) as
//! levels, with the context onset marked, and a table of the numbers.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis, Block, Borders, Chart, Dataset, GraphType, Paragraph, Wrap};
use ratatui::Frame;

use super::theme;
use crate::curves::compare::{on_axis, XAxis};
use crate::curves::history::History;
use crate::protocol::{Accuracy, DownstreamReading, DownstreamSetup};
use crate::terminal_text::escape;

/// What the panel shows: the setup and baselines, and every reading so far.
#[derive(Debug, Default, Clone)]
pub struct DownstreamState {
    pub setup: Option<DownstreamSetup>,
    pub readings: Vec<DownstreamReading>,
    /// Classifier sessions fine-tuned from this one, one line each.
    pub fine_tunes: Vec<String>,
}

/// What the chart needs from the rest of the workbench.
pub struct ChartContext<'a> {
    pub history: &'a History,
    pub axis: XAxis,
    pub tokens_per_step: f64,
    /// Step of the context onset, if it happened, and its legend label.
    pub onset: Option<u64>,
    pub onset_label: &'a str,
    /// `data.label_column` of the run (to explain an empty panel).
    pub label_setting: Option<&'a str>,
    /// Sessions overlaid by `compare` (`c` on the dashboard): their probe curves.
    pub overlays: &'a [crate::curves::compare::Overlay],
}

pub fn draw(frame: &mut Frame, area: Rect, state: &DownstreamState, cx: &ChartContext) {
    let Some(setup) = &state.setup else {
        let text = match cx.label_setting {
            Some("none") => "The downstream probe is off (data.label_column = none).".to_string(),
            Some(_) if cx.history.steps.is_empty() => {
                "Waiting for the run to start: the probe needs the corpus's labels.".to_string()
            }
            Some(_) => "This corpus has no label column, so there is nothing to score the encoder on. Name one with --label-column NAME (a column of 2 to 50 classes beside the text).".to_string(),
            None => "Waiting for the run to start.".to_string(),
        };
        let p = Paragraph::new(text)
            .style(theme::dim())
            .wrap(Wrap { trim: true })
            .block(Block::default().borders(Borders::ALL).title(" Downstream "));
        frame.render_widget(p, area);
        return;
    };
    let [chart, table] =
        Layout::horizontal([Constraint::Min(30), Constraint::Length(46)]).areas(area);
    draw_chart(frame, chart, state, setup, cx);
    draw_table(frame, table, state, setup);
}

fn percent(points: impl Iterator<Item = (u64, f64)>) -> Vec<(f64, f64)> {
    points.map(|(s, a)| (s as f64, 100.0 * a)).collect()
}

fn draw_chart(
    frame: &mut Frame,
    area: Rect,
    state: &DownstreamState,
    setup: &DownstreamSetup,
    cx: &ChartContext,
) {
    let axis = cx.axis;
    let place = |p: Vec<(f64, f64)>| on_axis(&p, axis, cx.history, cx.tokens_per_step);
    let mean = place(percent(
        state
            .readings
            .iter()
            .map(|r| (r.step, r.mean_pooled.accuracy)),
    ));
    let cls = place(percent(
        state.readings.iter().map(|r| (r.step, r.cls.accuracy)),
    ));
    let overlaid: Vec<(String, Vec<(f64, f64)>)> = cx
        .overlays
        .iter()
        .filter(|o| !o.downstream.is_empty())
        .map(|o| {
            let points = percent(
                o.downstream
                    .iter()
                    .map(|r| (r.step, r.mean_pooled.accuracy)),
            );
            (
                o.name.clone(),
                on_axis(&points, axis, &o.history, o.tokens_per_step),
            )
        })
        .collect();
    let last_step = cx
        .history
        .last()
        .map_or(0, |m| m.step)
        .max(state.readings.last().map_or(0, |r| r.step))
        .max(1);
    let ends = place(vec![(0.0, 0.0), (last_step as f64, 0.0)]);
    let furthest = overlaid
        .iter()
        .flat_map(|o| o.1.iter().map(|p| p.0))
        .fold(ends[1].0, f64::max);
    let (x0, x1) = (ends[0].0, furthest.max(ends[0].0 + 1.0));
    let level = |a: &Accuracy| -> Vec<(f64, f64)> {
        (0..=60)
            .map(|i| (x0 + (x1 - x0) * i as f64 / 60.0, 100.0 * a.accuracy))
            .collect()
    };
    let tfidf = level(&setup.tfidf);
    let majority = level(&setup.majority);
    let untrained = setup.untrained.as_ref().map(level).unwrap_or_default();
    let mut values: Vec<f64> = mean
        .iter()
        .chain(&cls)
        .chain(overlaid.iter().flat_map(|o| &o.1))
        .map(|p| p.1)
        .collect();
    values.extend([
        100.0 * setup.tfidf.accuracy,
        100.0 * setup.majority.accuracy,
    ]);
    if let Some(u) = &setup.untrained {
        values.push(100.0 * u.accuracy);
    }
    let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let (y0, y1) = ((lo - 2.0).floor().max(0.0), (hi + 2.0).ceil().min(100.0));
    let onset: Vec<(f64, f64)> = cx
        .onset
        .map(|s| {
            let x = place(vec![(s as f64, 0.0)])[0].0;
            (0..=20)
                .map(|i| (x, y0 + (y1 - y0) * i as f64 / 20.0))
                .collect()
        })
        .unwrap_or_default();
    let mut sets = vec![
        series(&majority, theme::FLOOR, GraphType::Scatter, Marker::Dot),
        series(&tfidf, theme::EVAL, GraphType::Scatter, Marker::Dot),
        series(&untrained, theme::RAW, GraphType::Scatter, Marker::Dot),
        series(&onset, theme::ONSET, GraphType::Scatter, Marker::Dot),
        series(&cls, theme::MARKER, GraphType::Line, Marker::Braille),
        series(&mean, theme::MLM, GraphType::Line, Marker::Braille),
    ];
    for (i, (_, points)) in overlaid.iter().enumerate() {
        let color = theme::OVERLAYS[i % theme::OVERLAYS.len()];
        sets.push(series(points, color, GraphType::Line, Marker::Braille));
    }
    if state.readings.len() == 1 {
        // One reading is a point, not a line.
        sets.push(series(&mean, theme::MLM, GraphType::Scatter, Marker::Dot));
    }
    let chart = Chart::new(sets)
        .legend_position(None)
        .block(
            Block::default()
                .borders(Borders::ALL)
                .title(" Downstream accuracy (%), linear probe on frozen features "),
        )
        .x_axis(
            Axis::default()
                .title(axis.label())
                .bounds([x0, x1])
                .labels(vec![
                    Span::raw(format!("{x0:.0}")),
                    Span::raw(format!("{x1:.0}")),
                ]),
        )
        .y_axis(Axis::default().bounds([y0, y1]).labels(vec![
            Span::raw(format!("{y0:.0}")),
            Span::raw(format!("{:.0}", (y0 + y1) / 2.0)),
            Span::raw(format!("{y1:.0}")),
        ]));
    frame.render_widget(chart, area);
    let mut legend = vec![
        ("probe, mean-pooled".to_string(), theme::MLM),
        ("probe, [CLS]".to_string(), theme::MARKER),
        ("TF-IDF".to_string(), theme::EVAL),
        ("majority".to_string(), theme::FLOOR),
    ];
    if setup.untrained.is_some() {
        legend.push(("untrained encoder".into(), theme::RAW));
    }
    if cx.onset.is_some() {
        legend.push((cx.onset_label.into(), theme::ONSET));
    }
    for (i, (name, _)) in overlaid.iter().enumerate() {
        let color = theme::OVERLAYS[i % theme::OVERLAYS.len()];
        legend.push((format!("{} (mean)", escape(name)), color));
    }
    super::legend::draw(frame, area, &legend);
}

fn series(
    data: &[(f64, f64)],
    color: ratatui::style::Color,
    kind: GraphType,
    marker: Marker,
) -> Dataset<'_> {
    Dataset::default()
        .marker(marker)
        .graph_type(kind)
        .style(Style::default().fg(color))
        .data(data)
}

fn draw_table(frame: &mut Frame, area: Rect, state: &DownstreamState, setup: &DownstreamSetup) {
    let row = |name: &str, a: Option<&Accuracy>| {
        Line::from(vec![
            Span::styled(format!("{name:<20}"), theme::dim()),
            Span::raw(a.map_or("-".to_string(), Accuracy::describe)),
        ])
    };
    let last = state.readings.last();
    let best = state
        .readings
        .iter()
        .max_by(|a, b| a.best().1.accuracy.total_cmp(&b.best().1.accuracy));
    let mut lines = vec![
        Line::raw(format!(
            "`{}`: {} classes, {} documents",
            setup.label_column,
            setup.classes.len(),
            crate::format::group_thousands(setup.documents as u64)
        )),
        Line::styled(
            if setup.strict {
                format!("test: 1 of {} folds, unseen in pretraining", setup.folds)
            } else {
                format!("{}-fold; test text seen unlabelled", setup.folds)
            },
            theme::dim(),
        ),
        Line::raw(""),
        row("probe, mean-pooled", last.map(|r| &r.mean_pooled)),
        row("probe, [CLS]", last.map(|r| &r.cls)),
        row("TF-IDF (uni+bigram)", Some(&setup.tfidf)),
        row("untrained encoder", setup.untrained.as_ref()),
        row("majority class", Some(&setup.majority)),
    ];
    if let Some(b) = best {
        let (kind, a) = b.best();
        lines.push(Line::raw(""));
        lines.push(Line::raw(format!(
            "best: {} ({kind}) at step {}",
            a.describe(),
            b.step
        )));
    }
    if let Some(r) = last {
        let gap = 100.0 * (r.best().1.accuracy - setup.tfidf.accuracy);
        let both = r.best().1.half_width + setup.tfidf.half_width;
        let verdict = if gap > 100.0 * both {
            "above TF-IDF"
        } else if gap < -100.0 * both {
            "below TF-IDF"
        } else {
            "level with TF-IDF (within the intervals)"
        };
        lines.push(Line::raw(format!("now {gap:+.1} points: {verdict}")));
        lines.push(Line::styled(
            format!("last reading took {:.1}s", r.seconds),
            theme::dim(),
        ));
    } else {
        lines.push(Line::styled(
            "first reading at the first held-out evaluation",
            theme::dim(),
        ));
    }
    if !state.fine_tunes.is_empty() {
        lines.push(Line::raw(""));
        lines.push(Line::styled("fine-tuned from this session:", theme::dim()));
        lines.extend(
            state
                .fine_tunes
                .iter()
                .map(|f| Line::raw(escape(f).into_owned())),
        );
    }
    let p = Paragraph::new(lines)
        .wrap(Wrap { trim: false })
        .block(Block::default().borders(Borders::ALL).title(" Numbers "));
    frame.render_widget(p, area);
}
