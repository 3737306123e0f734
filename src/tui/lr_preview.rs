//! The learning-rate schedule preview under the Hyperparameters panel: the planned
//! curve (`train.lr_scheduler` over the planned steps) with the current step, and, while
//! a change to `train.lr`, `train.warmup_steps` or `train.epochs` is being typed or
//! waits in the queue, the curve it would give.

use ratatui::layout::{Constraint, Rect};
use ratatui::style::Style;
use ratatui::symbols::Marker;
use ratatui::text::Span;
use ratatui::widgets::{Axis, Block, Borders, Chart, Dataset, GraphType};
use ratatui::Frame;

use super::theme;
use crate::config::schedule::lr_at;
use crate::config::Config;

/// Points per curve: enough for a terminal-wide Braille line.
const POINTS: u64 = 200;

/// What the preview shows.
pub struct Plan<'a> {
    pub config: &'a Config,
    /// Planned optimizer steps of the run as it stands.
    pub total_steps: u64,
    pub steps_per_epoch: u64,
    /// Optimizer steps taken.
    pub step: u64,
    /// The config with the edited or queued changes, if any differ.
    pub candidate: Option<Config>,
}

/// Planned steps of `config`: `train.epochs` epochs of `steps_per_epoch`, capped by
/// `train.max_steps` when set.
pub fn planned_steps(config: &Config, steps_per_epoch: u64) -> u64 {
    let all = steps_per_epoch * config.train.epochs as u64;
    match config.train.max_steps {
        0 => all,
        cap => all.min(cap),
    }
}

/// `(step, lr)` samples of `config`'s schedule over `total` steps.
pub fn curve(config: &Config, total: u64) -> Vec<(f64, f64)> {
    let total = total.max(1);
    (0..=POINTS)
        .map(|i| {
            let step = (total * i / POINTS).min(total - 1);
            (step as f64, lr_at(&config.train, step, total))
        })
        .collect()
}

pub fn draw(frame: &mut Frame, area: Rect, plan: &Plan) {
    let planned = curve(plan.config, plan.total_steps);
    let candidate = plan.candidate.as_ref().map(|c| {
        let total = planned_steps(c, plan.steps_per_epoch);
        (curve(c, total), total)
    });
    let x1 = candidate
        .as_ref()
        .map_or(plan.total_steps, |(_, t)| (*t).max(plan.total_steps))
        .max(1) as f64;
    let y1 = planned
        .iter()
        .chain(candidate.iter().flat_map(|(c, _)| c.iter()))
        .map(|p| p.1)
        .fold(0.0, f64::max)
        .max(1e-12)
        * 1.05;
    let here = plan.step.min(plan.total_steps) as f64;
    let now: Vec<(f64, f64)> = (0..=8).map(|i| (here, y1 * i as f64 / 8.0)).collect();
    let mut sets = vec![Dataset::default()
        .name(format!("planned ({})", scheduler_name(plan.config)))
        .marker(Marker::Braille)
        .graph_type(GraphType::Line)
        .style(Style::default().fg(theme::MLM))
        .data(&planned)];
    if let Some((points, _)) = &candidate {
        sets.push(
            Dataset::default()
                .name("with the change")
                .marker(Marker::Braille)
                .graph_type(GraphType::Line)
                .style(Style::default().fg(theme::WARN))
                .data(points),
        );
    }
    sets.push(
        Dataset::default()
            .name(format!("step {}", plan.step))
            .marker(Marker::Dot)
            .graph_type(GraphType::Scatter)
            .style(Style::default().fg(theme::MARKER))
            .data(&now),
    );
    let chart = Chart::new(sets)
        .hidden_legend_constraints((Constraint::Ratio(1, 2), Constraint::Ratio(1, 1)))
        .block(
            Block::default()
                .borders(Borders::ALL)
                .title(" Learning-rate schedule "),
        )
        .x_axis(
            Axis::default()
                .title("step")
                .bounds([0.0, x1])
                .labels(vec![Span::raw("0"), Span::raw(format!("{x1:.0}"))]),
        )
        .y_axis(Axis::default().bounds([0.0, y1]).labels(vec![
            Span::raw("0"),
            Span::raw(format!("{:.1e}", y1 / 1.05)),
        ]));
    frame.render_widget(chart, area);
}

fn scheduler_name(config: &Config) -> &'static str {
    use crate::config::LrScheduler::*;
    match config.train.lr_scheduler {
        Linear => "linear",
        ConstantWithWarmup => "constant_with_warmup",
        WarmupStableDecay => "warmup_stable_decay",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_curve_follows_the_schedule_and_the_plan_follows_epochs_and_max_steps() {
        let mut c = Config::default();
        c.train.epochs = 4;
        assert_eq!(planned_steps(&c, 100), 400);
        c.train.max_steps = 250;
        assert_eq!(planned_steps(&c, 100), 250);
        let points = curve(&c, 250);
        assert_eq!(points.len() as u64, POINTS + 1);
        assert_eq!(points[0], (0.0, lr_at(&c.train, 0, 250)));
        let last = points.last().unwrap();
        assert_eq!(last.0, 249.0);
        assert_eq!(last.1, lr_at(&c.train, 249, 250));
        // Warmup-stable-decay: the peak in the middle.
        assert_eq!(points[POINTS as usize / 2].1, c.train.lr);
    }
}
