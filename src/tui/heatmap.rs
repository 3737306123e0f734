//! A head's attention weights as a heatmap of text lines: token labels on both axes
//! and each cell shaded by a character ramp and a grayscale background, so it reads in
//! a terminal and in a plain-text capture alike.

use ratatui::layout::Rect;
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};

use super::theme;
use crate::probe::HeadAttention;
use crate::terminal_text::escape;

/// Shades from no weight to the head's largest weight.
pub const RAMP: [char; 5] = [' ', '░', '▒', '▓', '█'];
/// Row labels are cut to this many characters, column labels to [`COLUMN_LABEL`].
pub const ROW_LABEL: usize = 10;
pub const COLUMN_LABEL: usize = 6;

/// The gray of `level` in 0..=1 from the 24-step grayscale ramp of 256-colour terminals.
fn gray(level: f64) -> Color {
    Color::Indexed(232 + (level.clamp(0.0, 1.0) * 23.0).round() as u8)
}

/// A label cut to `width` characters.
fn cut(token: &str, width: usize) -> Vec<char> {
    escape(token).chars().take(width).collect()
}

/// The heatmap of `head` over `tokens` sized to `area`: the column (key) labels written
/// downwards, cut to [`COLUMN_LABEL`] characters; one line per visible query row from
/// `first_row`, its label cut to [`ROW_LABEL`], then its cells from `first_column`
/// (two characters wide when every column fits, else one), each shaded by its weight
/// over the head's largest weight with [`RAMP`] and a gray background; last the legend
/// (scale, and which rows and columns are shown when not all are). The first row and
/// column are clamped so the view stays filled.
pub fn lines(
    tokens: &[String],
    head: &HeadAttention,
    first_row: usize,
    first_column: usize,
    area: Rect,
) -> Vec<Line<'static>> {
    let n = tokens.len();
    let label = tokens
        .iter()
        .map(|t| escape(t).chars().count())
        .max()
        .unwrap_or(0)
        .min(ROW_LABEL)
        + 1;
    let label_rows = tokens
        .iter()
        .map(|t| escape(t).chars().count())
        .max()
        .unwrap_or(0)
        .min(COLUMN_LABEL);
    let room = (area.width as usize).saturating_sub(label);
    let cell = if n * 2 <= room { 2 } else { 1 };
    let first_column = first_column.min(n.saturating_sub(1));
    let columns = (room / cell).min(n - first_column);
    let rows_room = (area.height as usize).saturating_sub(label_rows + 1);
    let first_row = first_row.min(n.saturating_sub(rows_room.max(1)));
    let rows = rows_room.min(n - first_row);
    let largest = head
        .weights
        .iter()
        .flatten()
        .fold(0f32, |m, &w| m.max(w))
        .max(f32::MIN_POSITIVE) as f64;
    let mut lines = Vec::with_capacity(label_rows + rows + 1);
    let column_labels: Vec<Vec<char>> = tokens[first_column..first_column + columns]
        .iter()
        .map(|t| cut(t, label_rows))
        .collect();
    for r in 0..label_rows {
        let mut text = " ".repeat(label);
        for l in &column_labels {
            text.push(*l.get(r).unwrap_or(&' '));
            text.push_str(&" ".repeat(cell - 1));
        }
        lines.push(Line::styled(text, theme::dim()));
    }
    for (i, token) in tokens.iter().enumerate().skip(first_row).take(rows) {
        let name: String = cut(token, label - 1).into_iter().collect();
        let mut spans = vec![Span::styled(
            format!("{name:<width$} ", width = label - 1),
            theme::dim(),
        )];
        for j in first_column..first_column + columns {
            let w = head
                .weights
                .get(i)
                .and_then(|r| r.get(j))
                .copied()
                .unwrap_or(0.0) as f64;
            let level = w / largest;
            let shade = RAMP[((level * RAMP.len() as f64) as usize).min(RAMP.len() - 1)];
            let style = Style::default().fg(gray(level + 0.25)).bg(gray(level));
            spans.push(Span::styled(shade.to_string().repeat(cell), style));
        }
        lines.push(Line::from(spans));
    }
    let mut legend = format!("{} 0..{largest:.2}", RAMP.iter().collect::<String>());
    if rows < n {
        legend.push_str(&format!(
            "; rows {}-{} of {n}",
            first_row + 1,
            first_row + rows
        ));
    }
    if columns < n {
        let last = first_column + columns;
        legend.push_str(&format!("; columns {}-{last} of {n}", first_column + 1));
    }
    let note = " (scaled to this head's largest weight)";
    if legend.chars().count() + note.len() <= area.width as usize {
        legend.push_str(note);
    }
    lines.push(Line::styled(legend, theme::dim()));
    lines
}
