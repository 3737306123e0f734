//! A chart legend drawn over the chart's top-right corner on cleared cells, so the
//! plotted lines never show through it (ratatui's own legend leaves them visible).

use ratatui::layout::Rect;
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};
use ratatui::Frame;

/// Draws `entries` (name, colour) in a bordered box at the top right inside `chart`
/// (the chart's whole area, borders included). Nothing is drawn when the box would
/// take more than half the chart's width or height.
pub fn draw(frame: &mut Frame, chart: Rect, entries: &[(String, Color)]) {
    if entries.is_empty() {
        return;
    }
    let width = entries
        .iter()
        .map(|(n, _)| n.chars().count() as u16 + 4)
        .max()
        .unwrap_or(0);
    let height = entries.len() as u16 + 2;
    if width > chart.width / 2 || height > chart.height / 2 {
        return;
    }
    let area = Rect::new(chart.right() - 1 - width, chart.y + 1, width, height);
    let lines: Vec<Line> = entries
        .iter()
        .map(|(name, color)| {
            Line::from(vec![
                Span::styled("━ ", Style::default().fg(*color)),
                Span::raw(name.clone()),
            ])
        })
        .collect();
    frame.render_widget(Clear, area);
    frame.render_widget(
        Paragraph::new(lines).block(Block::default().borders(Borders::ALL)),
        area,
    );
}
