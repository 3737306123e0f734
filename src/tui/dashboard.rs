//! The dashboard: MLM and NSP loss charts (raw, smoothed, held-out points, change
//! markers) and a table of the latest numbers. With `model.nsp = false` the NSP side
//! says that NSP is off instead of plotting.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis, Block, Borders, Chart, Dataset, GraphType, Paragraph};
use ratatui::Frame;

use super::app::App;
use super::theme;
use crate::curves::compare::on_axis;
use crate::curves::history::{debiased_ema, Window};
use crate::curves::ONSET_MARKER;

pub fn draw(frame: &mut Frame, area: Rect, app: &App) {
    let [charts, stats] = Layout::vertical([Constraint::Min(8), Constraint::Length(9)]).areas(area);
    let [mlm, nsp] =
        Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(charts);
    let floor = app.info.as_ref().map(|i| i.no_context_mlm_loss);
    loss_chart(
        frame,
        mlm,
        app,
        ("MLM loss", theme::MLM),
        (|m| m.mlm_loss, |e| e.mlm_loss),
        floor.filter(|f| f.is_finite()),
    );
    if nsp_on(app) {
        loss_chart(
            frame,
            nsp,
            app,
            ("NSP loss", theme::NSP),
            (
                |m| m.nsp_loss.unwrap_or(f64::NAN),
                |e| e.nsp_loss.unwrap_or(f64::NAN),
            ),
            None,
        );
    } else {
        let off = Paragraph::new(vec![
            Line::raw("NSP is off (model.nsp = false):"),
            Line::raw("this run trains masked-language modelling only."),
        ])
        .style(theme::dim())
        .block(Block::default().borders(Borders::ALL).title(" NSP "));
        frame.render_widget(off, nsp);
    }
    if app.compare.overlays.is_empty() {
        draw_stats(frame, stats, app);
    } else {
        super::compare_panel::draw_table(frame, stats, &app.compare, &app.history);
    }
}

/// Whether the run trains NSP (until `Started` says otherwise, it does).
fn nsp_on(app: &App) -> bool {
    app.info.as_ref().is_none_or(|i| i.config.model.nsp)
}

/// A compared session's name, smoothed train line and held-out points, on the axis.
type OverlayLines = (String, Vec<(f64, f64)>, Vec<(f64, f64)>);

type StepField = fn(&crate::protocol::StepMetrics) -> f64;
type EvalField = fn(&crate::protocol::EvalMetrics) -> f64;

/// One loss chart: raw and smoothed train loss, held-out points, change markers and,
/// where given, a reference level drawn as a dashed line (the no-context floor).
fn loss_chart(
    frame: &mut Frame,
    area: Rect,
    app: &App,
    (name, color): (&str, ratatui::style::Color),
    (f, g): (StepField, EvalField),
    reference: Option<f64>,
) {
    let axis = app.compare.axis;
    let main_tps = app.compare.main_tokens_per_step;
    let at = |pts: &[(f64, f64)]| on_axis(pts, axis, &app.history, main_tps);
    let raw_steps = app.history.series(app.window, f);
    let raw = at(&raw_steps);
    let smooth = at(&debiased_ema(&raw_steps, app.smoothing));
    let evals = at(&app.history.eval_series(app.window, g));
    let window = match app.window {
        Window::All => "whole run",
        Window::Recent => "recent",
    };
    let title = format!(" {name} ({window}, smoothing {:.2}) ", app.smoothing);
    if raw.is_empty() && app.compare.overlays.is_empty() {
        let msg = Paragraph::new(Line::styled("waiting for the first steps...", theme::dim()))
            .block(Block::default().borders(Borders::ALL).title(title));
        frame.render_widget(msg, area);
        return;
    }
    // Other sessions: smoothed train loss and held-out points, over the same window.
    let from = raw.first().map(|p| p.0);
    let overlays: Vec<OverlayLines> = app
        .compare
        .overlays
        .iter()
        .map(|o| {
            let steps = o.history.series(Window::All, f);
            let keep = |p: &(f64, f64)| p.1.is_finite() && from.is_none_or(|x| p.0 >= x);
            let on = |pts: &[(f64, f64)]| {
                let mut v = on_axis(pts, axis, &o.history, o.tokens_per_step);
                v.retain(keep);
                v
            };
            let smooth = on(&debiased_ema(&steps, app.smoothing));
            let evals = on(&o.history.eval_series(Window::All, g));
            (o.name.clone(), smooth, evals)
        })
        .collect();
    let xs = raw
        .iter()
        .chain(overlays.iter().flat_map(|(_, a, b)| a.iter().chain(b)))
        .map(|p| p.0)
        .filter(|x| x.is_finite());
    let (x0, x1) = xs.fold((f64::MAX, f64::MIN), |(lo, hi), x| (lo.min(x), hi.max(x)));
    let (x0, x1) = if x0 > x1 {
        (0.0, 1.0)
    } else {
        (x0, x1.max(x0 + 1e-9))
    };
    let ys = raw
        .iter()
        .chain(&evals)
        .chain(overlays.iter().flat_map(|(_, a, b)| a.iter().chain(b)))
        .map(|p| p.1)
        .chain(reference)
        .filter(|y| y.is_finite());
    let (mut y0, mut y1) = ys.fold((f64::MAX, f64::MIN), |(lo, hi), y| (lo.min(y), hi.max(y)));
    if y1 - y0 < 1e-6 {
        (y0, y1) = (y0 - 0.5, y1 + 0.5);
    }
    // Vertical dotted lines: hyperparameter changes, and the context onset.
    let markers: Vec<(bool, Vec<(f64, f64)>)> = app
        .history
        .markers
        .iter()
        .filter_map(|(s, label)| {
            let x = at(&[(*s as f64, 0.0)]).first()?.0;
            (x >= x0 && x <= x1).then(|| {
                let points = (0..=10)
                    .map(|i| (x, y0 + (y1 - y0) * i as f64 / 10.0))
                    .collect();
                (label == ONSET_MARKER, points)
            })
        })
        .collect();
    let level: Vec<(f64, f64)> = reference
        .map(|y| {
            (0..=40)
                .map(|i| (x0 + (x1 - x0) * i as f64 / 40.0, y))
                .collect()
        })
        .unwrap_or_default();
    let mut sets = vec![
        line(&raw, theme::RAW).name("raw"),
        line(&smooth, color).name(if overlays.is_empty() {
            "smoothed".to_string()
        } else {
            format!("{} (smoothed)", app.compare.main_name())
        }),
        dots(&evals, theme::EVAL).name("held-out"),
    ];
    for (i, (name, smooth, evals)) in overlays.iter().enumerate() {
        let c = theme::OVERLAYS[i % theme::OVERLAYS.len()];
        sets.push(line(smooth, c).name(name.clone()));
        sets.push(dots(evals, c));
    }
    if !level.is_empty() {
        sets.push(dots(&level, theme::FLOOR).name("no context"));
    }
    for (onset, points) in &markers {
        sets.push(if *onset {
            dots(points, theme::ONSET).name(ONSET_MARKER)
        } else {
            dots(points, theme::MARKER)
        });
    }
    let label = |v: f64| Span::raw(format!("{v:.2}"));
    // The legend names the compared sessions; alone, the colours say enough.
    let mut legend: Vec<(String, ratatui::style::Color)> = Vec::new();
    if !overlays.is_empty() {
        legend.push((format!("{} (smoothed)", app.compare.main_name()), color));
        legend.push(("held-out".into(), theme::EVAL));
        for (i, (name, _, _)) in overlays.iter().enumerate() {
            legend.push((name.clone(), theme::OVERLAYS[i % theme::OVERLAYS.len()]));
        }
    }
    let chart = Chart::new(sets)
        .legend_position(None)
        .block(Block::default().borders(Borders::ALL).title(title))
        .x_axis(
            Axis::default()
                .title(axis.label())
                .bounds([x0, x1])
                .labels(vec![Span::raw(axis.format(x0)), Span::raw(axis.format(x1))]),
        )
        .y_axis(Axis::default().bounds([y0, y1]).labels(vec![
            label(y0),
            label((y0 + y1) / 2.0),
            label(y1),
        ]));
    frame.render_widget(chart, area);
    super::legend::draw(frame, area, &legend);
}

fn line(data: &[(f64, f64)], color: ratatui::style::Color) -> Dataset<'_> {
    Dataset::default()
        .marker(Marker::Braille)
        .graph_type(GraphType::Line)
        .style(Style::default().fg(color))
        .data(data)
}

fn dots(data: &[(f64, f64)], color: ratatui::style::Color) -> Dataset<'_> {
    Dataset::default()
        .marker(Marker::Dot)
        .graph_type(GraphType::Scatter)
        .style(Style::default().fg(color))
        .data(data)
}

fn eta(app: &App) -> String {
    let (Some(m), Some(info)) = (app.history.last(), app.info.as_ref()) else {
        return "-".into();
    };
    if m.step == 0 {
        return "-".into();
    }
    let left = info.total_steps.saturating_sub(m.step) as f64 * m.elapsed_s / m.step as f64;
    let secs = left.round() as u64;
    format!("{}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60)
}

/// "at chance" once held-out NSP accuracy has stayed within chance's interval for
/// [`crate::protocol::NSP_CHANCE_EVALS`] evaluations (the log says why).
fn nsp_verdict(app: &App) -> String {
    let (Some(info), Some(acc)) = (
        app.info.as_ref(),
        app.history.last_eval().and_then(|e| e.nsp_acc),
    ) else {
        return String::new();
    };
    let enough = app.history.evals.len() >= crate::protocol::NSP_CHANCE_EVALS;
    if enough
        && crate::protocol::nsp_at_chance(acc, info.heldout_random_next, info.heldout_examples)
    {
        "at chance (see Log)".into()
    } else {
        String::new()
    }
}

/// The downstream probe's last reading against TF-IDF, or why there is none.
fn downstream_line(app: &App) -> Line<'static> {
    let d = &app.downstream;
    let Some(setup) = &d.setup else {
        return Line::from(vec![
            Span::raw("downstream   "),
            Span::styled(
                "no label column in use (the Downstream panel says why)",
                theme::dim(),
            ),
        ]);
    };
    let reading = d
        .readings
        .last()
        .map_or("first reading at the first evaluation".into(), |r| {
            let (kind, a) = r.best();
            format!("{} ({kind})", a.describe())
        });
    Line::from(vec![
        Span::raw(format!("downstream   {reading}   ")),
        Span::styled(
            format!(
                "TF-IDF {}   majority {}",
                setup.tfidf.describe(),
                setup.majority.describe()
            ),
            theme::dim(),
        ),
    ])
}

/// Where the held-out MLM loss stands against the no-context floor.
fn context_line(app: &App, heldout: Option<f64>) -> Line<'static> {
    let Some(floor) = app
        .info
        .as_ref()
        .map(|i| i.no_context_mlm_loss)
        .filter(|f| f.is_finite())
    else {
        return Line::raw("");
    };
    let verdict = match heldout {
        None => "(a held-out MLM loss above it: context not used yet)".to_string(),
        Some(h) if h > floor => format!("held-out {:.3} above it: context not used yet", h - floor),
        Some(h) => format!("held-out {:.3} below it: the model uses context", floor - h),
    };
    Line::from(vec![
        Span::raw(format!("no-context floor {floor:.3}   ")),
        Span::styled(verdict, theme::dim()),
    ])
}

/// Tokens/s, with each rank's and the time in collectives in a data-parallel run
/// ("18000 (ranks 9.4k 8.6k, collectives 4%)").
fn throughput(m: &crate::protocol::StepMetrics) -> String {
    match crate::format::rank_shares(&m.rank_tokens_per_s, m.collective_share) {
        ranks if ranks.is_empty() => format!("{:.0}", m.tokens_per_s),
        ranks => format!("{:.0} ({ranks})", m.tokens_per_s),
    }
}

fn draw_stats(frame: &mut Frame, area: Rect, app: &App) {
    let fmt = |v: Option<f64>, d: usize| v.map_or("-".to_string(), |v| format!("{v:.d$}"));
    let last = app.history.last();
    let eval = app.history.last_eval();
    let total = app.info.as_ref().map_or(0, |i| i.total_steps);
    let epochs = app.info.as_ref().map_or(0, |i| i.config.train.epochs);
    let mut progress = last.map_or(0.0, |m| m.epoch_progress * 100.0);
    let (mut step, mut epoch) = last.map_or((0, 0), |m| (m.step, m.epoch + 1));
    // A run that ended before its first log line (or after its last) has its final
    // position in the summary only.
    if let Some(s) = app.summary.as_ref().filter(|s| s.step > step) {
        let per_epoch = app.info.as_ref().map_or(0, |i| i.steps_per_epoch);
        (step, epoch) = (s.step, s.epoch + 1);
        if per_epoch > 0 {
            let into = s.step.saturating_sub(s.epoch as u64 * per_epoch);
            progress = (into as f64 / per_epoch as f64 * 100.0).min(100.0);
        }
    }
    let rows = vec![
        Line::from(vec![Span::styled(
            "             train        held-out",
            theme::dim(),
        )]),
        Line::raw(format!(
            "MLM loss     {:<12} {:<12} MLM acc  {:<8} {:<8} perplexity {}",
            fmt(last.map(|m| m.mlm_loss), 3),
            fmt(eval.map(|e| e.mlm_loss), 3),
            fmt(last.map(|m| m.mlm_acc), 3),
            fmt(eval.map(|e| e.mlm_acc), 3),
            fmt(eval.map(|e| e.perplexity), 1),
        )),
        if nsp_on(app) {
            Line::from(vec![
                Span::raw(format!(
                    "NSP loss     {:<12} {:<12} NSP acc  {:<8} {:<8} ",
                    fmt(last.and_then(|m| m.nsp_loss), 3),
                    fmt(eval.and_then(|e| e.nsp_loss), 3),
                    fmt(last.and_then(|m| m.nsp_acc), 3),
                    fmt(eval.and_then(|e| e.nsp_acc), 3),
                )),
                Span::styled(nsp_verdict(app), theme::dim()),
            ])
        } else {
            Line::raw("NSP          off (model.nsp = false)")
        },
        context_line(app, eval.map(|e| e.mlm_loss)),
        downstream_line(app),
        Line::raw(format!(
            "lr {}   grad norm {}   {} tokens/s   data wait {}%",
            last.map_or("-".into(), |m| format!("{:.2e}", m.lr)),
            fmt(last.map(|m| m.grad_norm), 2),
            last.map_or("-".into(), throughput),
            fmt(last.map(|m| m.data_wait * 100.0), 1),
        )),
        Line::raw(format!(
            "step {}/{total}   epoch {}/{epochs} ({progress:.0}%)   ETA {}   {}",
            step,
            epoch,
            eta(app),
            app.memory
        )),
    ];
    frame.render_widget(
        Paragraph::new(rows).block(Block::default().borders(Borders::ALL).title(" Metrics ")),
        area,
    );
}
