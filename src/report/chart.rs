//! Drawing a [`Chart`] with plotters, once for both formats: the SVG backend writes the
//! chart as text (a browser lays out its text in its own sans-serif), the bitmap
//! backend rasterises the same drawing into a PNG.
//!
//! Text in the PNG comes from DejaVu Sans compiled into the binary
//! (`assets/fonts/DejaVuSans.ttf`, its licence beside it) and rasterised by ab_glyph,
//! so a PNG looks the same on a machine without fonts or fontconfig. This is the
//! smallest set of parts that makes legible PNGs: plotters' own text path, no SVG
//! renderer (resvg with text shaping took 2 min 42 s to build on 2 cores here, plotters
//! and png 23 s).

use std::sync::Once;

use anyhow::{anyhow, Result};
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::series::{Chart, Line, Marker, Stroke, Tone, YFormat};
use crate::terminal_text::escape;

/// Pixel width of every chart (SVG and PNG): legible at 100% zoom, with text of 15 to
/// 26 px.
pub const WIDTH: u32 = 1200;
/// Pixel height of every chart.
pub const HEIGHT: u32 = 700;

/// Width of the legend column at the right.
const LEGEND: u32 = 350;

/// The family text is set in: the embedded font in PNGs, the viewer's in SVGs.
const FAMILY: &str = "sans-serif";

const FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");

fn register_font() {
    static ONCE: Once = Once::new();
    // A font that does not parse leaves text undrawable: each chart then fails with
    // plotters' "font unavailable" error, which the report reports.
    ONCE.call_once(|| {
        let _ = plotters::style::register_font(FAMILY, FontStyle::Normal, FONT);
    });
}

/// The chart as an SVG document.
///
/// Errors: the drawing fails (text that cannot be laid out).
pub fn svg(chart: &Chart) -> Result<String> {
    register_font();
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (WIDTH, HEIGHT)).into_drawing_area();
        draw(&root, chart)?;
        root.present().map_err(failed)?;
    }
    Ok(out)
}

/// The chart as a PNG file (8-bit RGB, [`WIDTH`] x [`HEIGHT`]).
///
/// Errors: the drawing or the encoding fails.
pub fn png(chart: &Chart) -> Result<Vec<u8>> {
    register_font();
    let mut pixels = vec![0u8; (WIDTH * HEIGHT * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, (WIDTH, HEIGHT)).into_drawing_area();
        draw(&root, chart)?;
        root.present().map_err(failed)?;
    }
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, WIDTH, HEIGHT);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header()?;
    writer.write_image_data(&pixels)?;
    writer.finish()?;
    Ok(out)
}

fn failed(e: impl std::fmt::Display) -> anyhow::Error {
    anyhow!("cannot draw the chart: {e}")
}

/// Tableau's ten colours: distinct on white, and for most colour-blind readers.
const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

fn colour(tone: Tone) -> RGBColor {
    match tone {
        Tone::Session(i) | Tone::Series(i) => PALETTE[i % PALETTE.len()],
        Tone::Raw => RGBColor(185, 185, 185),
        Tone::Floor => RGBColor(90, 90, 90),
        Tone::Onset => RGBColor(200, 0, 200),
        Tone::Milestone => RGBColor(0, 150, 150),
        Tone::Change => RGBColor(0, 140, 0),
        Tone::Baseline(0) => RGBColor(160, 120, 0),
        Tone::Baseline(_) => RGBColor(150, 150, 150),
    }
}

/// Text from the sessions (probe texts, tokens, names) as drawn: control characters
/// written out visibly ([`escape`]), never raw (an SVG cannot hold them; a PNG would
/// show boxes). plotters escapes what XML needs.
fn shown(text: &str) -> String {
    escape(text).into_owned()
}

fn text(size: u32) -> TextStyle<'static> {
    (FAMILY, size).into_font().color(&BLACK)
}

/// The plotted range: every point and level (and marker on x), padded; a flat series
/// gets a range around it.
fn ranges(chart: &Chart) -> ((f64, f64), (f64, f64)) {
    let points = chart.lines.iter().flat_map(|l| l.points.iter());
    let xs = points
        .clone()
        .map(|p| p.0)
        .chain(chart.markers.iter().map(|m| m.x));
    let ys = points
        .map(|p| p.1)
        .chain(chart.levels.iter().map(|l| l.y))
        .chain(chart.y_from_zero.then_some(0.0));
    let span = |vals: &mut dyn Iterator<Item = f64>| {
        vals.filter(|v| v.is_finite())
            .fold(None, |r: Option<(f64, f64)>, v| match r {
                None => Some((v, v)),
                Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
            })
            .unwrap_or((0.0, 1.0))
    };
    let (mut x0, mut x1) = span(&mut xs.into_iter());
    if x1 <= x0 {
        x1 = x0 + 1.0;
    }
    // Room at both ends for the marks of first and last points.
    let margin = (x1 - x0) * 0.015;
    (x0, x1) = (x0 - margin, x1 + margin);
    let (mut y0, mut y1) = span(&mut ys.into_iter());
    if y1 - y0 < 1e-12 {
        let pad = (y0.abs() * 0.1).max(1e-3);
        (y0, y1) = (y0 - pad, y1 + pad);
    }
    // Room above and below for the best values' notes.
    let pad = (y1 - y0) * 0.08;
    let y0 = if chart.y_from_zero && y0 >= 0.0 {
        0.0
    } else {
        y0 - pad
    };
    ((x0, x1), (y0, y1 + pad))
}

fn y_label(v: f64, format: YFormat) -> String {
    match format {
        YFormat::Decimals(d) => format!("{v:.d$}"),
        YFormat::Scientific if v == 0.0 => "0".into(),
        YFormat::Scientific => format!("{v:.1e}"),
    }
}

/// `text` cut to lines that fit `width` pixels (at most `max_lines`, the last one
/// ending in `…` when text was left out).
fn wrap<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    text: &str,
    style: &TextStyle,
    width: u32,
    max_lines: usize,
) -> Vec<String> {
    let fits = |s: &str| {
        area.estimate_text_size(s, style)
            .map_or(s.chars().count() as u32 * 9 <= width, |(w, _)| w <= width)
    };
    let mut lines: Vec<String> = Vec::new();
    let mut current = String::new();
    for word in text.split(' ') {
        let candidate = if current.is_empty() {
            word.to_string()
        } else {
            format!("{current} {word}")
        };
        if fits(&candidate) || current.is_empty() {
            current = candidate;
        } else {
            lines.push(std::mem::take(&mut current));
            current = word.to_string();
        }
    }
    lines.push(current);
    // A single word wider than the column is cut too.
    for line in lines.iter_mut() {
        while !fits(line) && line.chars().count() > 1 {
            line.pop();
            while !line.is_empty() && !fits(&format!("{line}…")) {
                line.pop();
            }
            line.push('…');
        }
    }
    if lines.len() > max_lines {
        lines.truncate(max_lines);
        if let Some(last) = lines.last_mut() {
            while !last.is_empty() && !fits(&format!("{last}…")) {
                last.pop();
            }
            last.push('…');
        }
    }
    lines
}

fn style(tone: Tone, stroke: Stroke) -> ShapeStyle {
    let width = match stroke {
        Stroke::Thin => 1,
        _ => 2,
    };
    colour(tone).stroke_width(width)
}

/// A chart's plotting context: f64 on both axes.
type Plot<'a, DB> = ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

fn draw<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, chart: &Chart) -> Result<()> {
    root.fill(&WHITE).map_err(failed)?;
    let title_style = text(26);
    let title = wrap(root, &shown(&chart.title), &title_style, WIDTH - 40, 1);
    root.draw(&Text::new(
        title.join(" "),
        (WIDTH as i32 / 2, 12),
        title_style.pos(Pos::new(HPos::Center, VPos::Top)),
    ))
    .map_err(failed)?;
    let body = root.margin(50, 0, 0, 0);
    let (plot, legend) = body.split_horizontally(WIDTH - LEGEND);
    let ((x0, x1), (y0, y1)) = ranges(chart);
    let axis = chart.axis;
    let format = chart.y_format;
    let mut ctx = ChartBuilder::on(&plot)
        .margin_left(12)
        .margin_right(16)
        .margin_bottom(8)
        .x_label_area_size(64)
        .y_label_area_size(96)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(failed)?;
    ctx.configure_mesh()
        .x_desc(chart.x_label())
        .y_desc(chart.y_label.as_str())
        .x_labels(8)
        .y_labels(8)
        .x_label_formatter(&|x| axis.format(*x))
        .y_label_formatter(&|y| y_label(*y, format))
        .label_style(text(17))
        .axis_desc_style(text(19))
        .bold_line_style(RGBColor(215, 215, 215).stroke_width(1))
        .light_line_style(RGBColor(242, 242, 242).stroke_width(1))
        .draw()
        .map_err(failed)?;
    for level in &chart.levels {
        let s = colour(level.tone).stroke_width(2);
        ctx.draw_series(DashedLineSeries::new(
            [(x0, level.y), (x1, level.y)],
            3,
            5,
            s,
        ))
        .map_err(failed)?;
    }
    for (i, m) in chart.markers.iter().enumerate() {
        draw_marker(root, &mut ctx, m, i, (y0, y1))?;
    }
    for line in &chart.lines {
        draw_line(&mut ctx, line)?;
    }
    for line in &chart.lines {
        let Some(best) = &line.best else { continue };
        let at = (best.x, best.value);
        let c = colour(line.tone);
        ctx.draw_series([
            Circle::new(at, 9, WHITE.filled()),
            Circle::new(at, 9, BLACK.stroke_width(2)),
            Circle::new(at, 4, c.filled()),
        ])
        .map_err(failed)?;
        // The note sits on the side away from the curve: below a minimum, above a
        // maximum; towards the middle horizontally.
        let below = line.points.iter().all(|p| p.1 >= best.value);
        let left = best.x <= x0 + 0.6 * (x1 - x0);
        let h = if left { HPos::Left } else { HPos::Right };
        let (dx, dy) = (if left { 14 } else { -14 }, if below { 12 } else { -12 });
        let (px, py) = ctx.backend_coord(&at);
        let v = if below { VPos::Top } else { VPos::Bottom };
        root.draw(&Text::new(
            shown(&best.text),
            (px + dx, py + dy),
            text(16).pos(Pos::new(h, v)),
        ))
        .map_err(failed)?;
    }
    draw_legend(&legend, chart)
}

fn draw_line<DB: DrawingBackend>(ctx: &mut Plot<DB>, line: &Line) -> Result<()> {
    let s = style(line.tone, line.stroke);
    let pts = line.points.iter().copied();
    match line.stroke {
        Stroke::Solid | Stroke::Thin => {
            ctx.draw_series(LineSeries::new(pts, s)).map_err(failed)?;
        }
        Stroke::Dashed => {
            ctx.draw_series(DashedLineSeries::new(pts, 9, 5, s))
                .map_err(failed)?;
        }
        Stroke::Dotted => {
            ctx.draw_series(DashedLineSeries::new(pts, 2, 5, s))
                .map_err(failed)?;
        }
    }
    if line.dots {
        let c = colour(line.tone);
        ctx.draw_series(line.points.iter().map(|&p| Circle::new(p, 3, c.filled())))
            .map_err(failed)?;
    }
    Ok(())
}

fn draw_marker<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    ctx: &mut Plot<DB>,
    m: &Marker,
    index: usize,
    (y0, y1): (f64, f64),
) -> Result<()> {
    let s = colour(m.tone).stroke_width(2);
    ctx.draw_series(DashedLineSeries::new([(m.x, y0), (m.x, y1)], 6, 4, s))
        .map_err(failed)?;
    if !m.note.is_empty() {
        // Notes of nearby markers are staggered so that they overlap less.
        let (px, py) = ctx.backend_coord(&(m.x, y1));
        let y = py + 6 + (index % 3) as i32 * 18;
        root.draw(&Text::new(
            shown(&m.note),
            (px + 4, y),
            text(15)
                .color(&colour(m.tone))
                .pos(Pos::new(HPos::Left, VPos::Top)),
        ))
        .map_err(failed)?;
    }
    Ok(())
}

/// What a legend row shows beside its label.
enum Swatch {
    Line(Tone, Stroke, bool),
    Level(Tone),
    Marker(Tone),
    Best,
}

fn draw_legend<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, chart: &Chart) -> Result<()> {
    let mut rows: Vec<(String, Swatch)> = chart
        .lines
        .iter()
        .filter(|l| !l.points.is_empty())
        .map(|l| (l.label.clone(), Swatch::Line(l.tone, l.stroke, l.dots)))
        .collect();
    rows.extend(
        chart
            .levels
            .iter()
            .map(|l| (l.label.clone(), Swatch::Level(l.tone))),
    );
    for m in &chart.markers {
        if !rows.iter().any(|(label, _)| *label == m.label) {
            rows.push((m.label.clone(), Swatch::Marker(m.tone)));
        }
    }
    if chart.lines.iter().any(|l| l.best.is_some()) {
        rows.push((
            "best held-out value (written beside it)".into(),
            Swatch::Best,
        ));
    }
    let font = text(16);
    let (x, mut y) = (8, 8);
    let swatch = 40;
    let width = LEGEND - swatch as u32 - 24;
    let bottom = HEIGHT as i32 - 60;
    let total = rows.len();
    for (i, (label, kind)) in rows.iter().enumerate() {
        let lines = wrap(area, &shown(label), &font, width, 2);
        let needed = 22 * lines.len() as i32;
        if y + needed > bottom - 22 && i + 1 < total {
            let more = format!("… and {} more", total - i);
            area.draw(&Text::new(more, (x, y), font.clone()))
                .map_err(failed)?;
            break;
        }
        let mid = y + 10;
        let (sx0, sx1) = (x, x + swatch - 8);
        match *kind {
            Swatch::Line(tone, stroke, dots) => {
                let s = style(tone, stroke);
                match stroke {
                    Stroke::Solid | Stroke::Thin => area
                        .draw(&PathElement::new([(sx0, mid), (sx1, mid)], s))
                        .map_err(failed)?,
                    Stroke::Dashed => area
                        .draw(&DashedPathElement::new([(sx0, mid), (sx1, mid)], 9, 5, s))
                        .map_err(failed)?,
                    Stroke::Dotted => area
                        .draw(&DashedPathElement::new([(sx0, mid), (sx1, mid)], 2, 5, s))
                        .map_err(failed)?,
                }
                if dots {
                    area.draw(&Circle::new(
                        ((sx0 + sx1) / 2, mid),
                        3,
                        colour(tone).filled(),
                    ))
                    .map_err(failed)?;
                }
            }
            Swatch::Level(tone) => area
                .draw(&DashedPathElement::new(
                    [(sx0, mid), (sx1, mid)],
                    3,
                    5,
                    colour(tone).stroke_width(2),
                ))
                .map_err(failed)?,
            Swatch::Marker(tone) => area
                .draw(&DashedPathElement::new(
                    [((sx0 + sx1) / 2, y), ((sx0 + sx1) / 2, y + 20)],
                    6,
                    4,
                    colour(tone).stroke_width(2),
                ))
                .map_err(failed)?,
            Swatch::Best => {
                let c = ((sx0 + sx1) / 2, mid);
                area.draw(&Circle::new(c, 9, BLACK.stroke_width(2)))
                    .map_err(failed)?;
                area.draw(&Circle::new(c, 4, BLACK.filled()))
                    .map_err(failed)?;
            }
        }
        for (k, text_line) in lines.iter().enumerate() {
            area.draw(&Text::new(
                text_line.clone(),
                (x + swatch, y + 22 * k as i32),
                font.clone(),
            ))
            .map_err(failed)?;
        }
        y += needed + 4;
    }
    Ok(())
}
