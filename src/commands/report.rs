//! `bertwork report SESSION [--compare S...] [--out DIR]`: the session's charts as SVG
//! and PNG, `report.md` and `index.html`, written to its `report/` folder or `--out`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Result};
use clap::{Args, ValueEnum};

use crate::curves::compare::XAxis;
use crate::report::{command_line, Request, View};
use crate::terminal_text::escape;

/// The charts' horizontal axis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AxisArg {
    Step,
    Tokens,
    Time,
}

impl From<AxisArg> for XAxis {
    fn from(a: AxisArg) -> Self {
        match a {
            AxisArg::Step => XAxis::Step,
            AxisArg::Tokens => XAxis::Tokens,
            AxisArg::Time => XAxis::Time,
        }
    }
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The session to report on.
    pub session: String,
    /// Sessions to draw on the same charts, set against SESSION.
    #[arg(long, num_args = 1.., value_name = "SESSION")]
    pub compare: Vec<String>,
    /// Folder to write to (made if missing; an earlier report there is replaced).
    /// Default: the session's report/ folder (report-compare/ with --compare).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Horizontal axis: optimizer steps, tokens fed (padding included) or training
    /// time.
    #[arg(long, value_enum, default_value = "step")]
    pub axis: AxisArg,
    /// EMA factor of the smoothed train lines, 0 (none) to 0.99, as `+`/`-` set it in
    /// the workbench.
    #[arg(long, default_value_t = crate::curves::DEFAULT_SMOOTHING)]
    pub smoothing: f64,
}

pub fn exec(args: &ReportArgs) -> Result<ExitCode> {
    if !(0.0..=0.99).contains(&args.smoothing) {
        bail!(
            "--smoothing {} is out of range: use 0 (no smoothing) to 0.99",
            args.smoothing
        );
    }
    let view = View {
        axis: args.axis.into(),
        smoothing: args.smoothing,
    };
    let command = command_line(&args.session, &args.compare, args.out.as_deref(), view);
    let written = crate::report::write(&Request {
        session: &args.session,
        compare: &args.compare,
        out: args.out.as_deref(),
        view,
        command,
        workbench: false,
    })?;
    println!(
        "report written to {} ({} charts as SVG and PNG, report.md, index.html) in {:.1}s",
        escape(&written.dir.display().to_string()),
        written.charts,
        written.seconds
    );
    Ok(ExitCode::SUCCESS)
}
