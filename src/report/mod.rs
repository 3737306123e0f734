//! `bertwork report`: a session's charts as SVG and PNG, a `report.md` and an
//! `index.html` that shows them, from the saved session folder alone (no model, no
//! corpus, no network), by the command line or a key in the workbench.
//!
//! Read ([`run`]) → plain series ([`series`]) → drawn ([`chart`]) and described
//! ([`document`], written as [`markdown`] and [`html`]) → put in place whole
//! ([`folder`]). The report never writes into the session's own files: by default it
//! goes to the session's `report/` folder (`report-compare/` for a comparison), which
//! nothing else reads and a fork does not copy.

pub mod chart;
pub mod document;
pub mod folder;
pub mod html;
pub mod markdown;
pub mod run;
pub mod series;
#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};

pub use run::Run;
pub use series::View;

/// The folder a comparison report goes to by default, in the first session's folder.
pub const COMPARE_DIR: &str = "report-compare";

/// What to report on and where.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    /// The session reported on.
    pub session: &'a str,
    /// Sessions drawn on the same charts, set against `session`.
    pub compare: &'a [String],
    /// Where to write; None: [`default_out`].
    pub out: Option<&'a Path>,
    pub view: View,
    /// The command line that writes this report ([`command_line`]), written in it.
    pub command: String,
    /// Whether the workbench's `r` asked for it (the report says so).
    pub workbench: bool,
}

/// What a report wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct Written {
    pub dir: PathBuf,
    /// The charts, each as `.svg` and `.png`.
    pub charts: usize,
    /// Every file, by name.
    pub files: Vec<String>,
    /// Wall seconds it took, reading included.
    pub seconds: f64,
}

/// Where a report on `run` goes unless told: its session's `report/` folder, or
/// `report-compare/` when others are compared with it.
pub fn default_out(run: &Run, comparing: bool) -> PathBuf {
    run.dir.join(if comparing {
        COMPARE_DIR
    } else {
        crate::session::REPORT_DIR
    })
}

/// A report's files: (name, bytes).
pub type Files = Vec<(String, Vec<u8>)>;

/// The command line that writes the same report: `bertwork report NAME [--compare
/// ...] [--out DIR] [--axis A] [--smoothing S]` (defaults left out).
pub fn command_line(session: &str, compare: &[String], out: Option<&Path>, view: View) -> String {
    let mut line = format!("bertwork report {session}");
    if !compare.is_empty() {
        line.push_str(&format!(" --compare {}", compare.join(" ")));
    }
    if let Some(out) = out {
        line.push_str(&format!(" --out {}", out.display()));
    }
    if view.axis != crate::curves::compare::XAxis::Step {
        line.push_str(&format!(" --axis {}", axis_name(view.axis)));
    }
    if (view.smoothing - crate::curves::DEFAULT_SMOOTHING).abs() > 1e-9 {
        line.push_str(&format!(" --smoothing {:.2}", view.smoothing));
    }
    line
}

/// The `--axis` value of an axis.
pub fn axis_name(axis: crate::curves::compare::XAxis) -> &'static str {
    use crate::curves::compare::XAxis;
    match axis {
        XAxis::Step => "step",
        XAxis::Tokens => "tokens",
        XAxis::Time => "time",
    }
}

/// Every file of the report on `runs` (the reported session first): the charts as
/// SVG and PNG, `report.md` and `index.html`, by name. `command`: the command line that
/// writes it, and whether the workbench did.
///
/// Errors: a chart cannot be drawn or encoded.
pub fn files(
    runs: &[Run],
    view: View,
    (command, workbench): (&str, bool),
) -> Result<(usize, Files)> {
    let charts = series::charts(runs, view);
    let mut files = Vec::new();
    for c in &charts {
        files.push((format!("{}.svg", c.stem), chart::svg(c)?.into_bytes()));
        files.push((format!("{}.png", c.stem), chart::png(c)?));
    }
    let doc = document::document(runs, &charts, view, (command, workbench));
    files.push(("report.md".into(), markdown::render(&doc).into_bytes()));
    files.push((folder::INDEX.into(), html::render(&doc).into_bytes()));
    Ok((charts.len(), files))
}

/// Reads the sessions, draws the charts and writes the report.
///
/// Errors: a session that does not exist or has no readable metrics (see
/// [`Run::from_session`]), a session named twice, or an output folder that cannot be
/// written or holds something else (see [`folder::publish`]).
pub fn write(request: &Request) -> Result<Written> {
    let start = Instant::now();
    let mut runs = vec![Run::load(request.session)?];
    for name in request.compare {
        if runs.iter().any(|r| &r.name == name) {
            bail!("`{name}` is named twice; name each session once");
        }
        runs.push(Run::load(name).with_context(|| format!("cannot compare with `{name}`"))?);
    }
    let out = match request.out {
        Some(dir) => dir.to_path_buf(),
        None => default_out(&runs[0], runs.len() > 1),
    };
    let (charts, files) = files(&runs, request.view, (&request.command, request.workbench))?;
    folder::publish(&out, &files)?;
    Ok(Written {
        dir: out,
        charts,
        files: files.into_iter().map(|(name, _)| name).collect(),
        seconds: start.elapsed().as_secs_f64(),
    })
}
