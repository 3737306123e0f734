//! `bertwork compare A B ...`: session A's curves with the others' overlaid, in a
//! read-only dashboard; without a terminal, the table of the sessions (lineage, steps,
//! losses, config keys that differ from A's).

use std::io::IsTerminal;
use std::process::ExitCode;

use anyhow::{bail, Result};
use clap::Args;

use crate::curves::compare::{rows, table_lines, Overlay};

#[derive(Debug, Args)]
pub struct CompareArgs {
    /// Sessions to compare: the first is the reference the others are set against.
    #[arg(required = true, num_args = 1..)]
    pub sessions: Vec<String>,
    /// Print the table instead of opening the dashboard.
    #[arg(long)]
    pub table: bool,
}

pub fn exec(args: &CompareArgs) -> Result<ExitCode> {
    let mut loaded = Vec::new();
    for name in &args.sessions {
        if loaded.iter().any(|o: &Overlay| &o.name == name) {
            bail!("`{name}` is named twice; name each session once");
        }
        loaded.push(Overlay::load(name)?);
    }
    let first = loaded.remove(0);
    let full_screen = crate::terminal_kind::full_screen_here();
    if args.table
        || full_screen.is_err()
        || !std::io::stdout().is_terminal()
        || !std::io::stdin().is_terminal()
    {
        let table = rows(
            (
                &first.name,
                first.lineage.as_deref(),
                first.config.as_ref(),
                &first.history,
            ),
            &loaded,
        );
        for line in table_lines(&table) {
            println!("{}", crate::terminal_text::escape(&line));
        }
        return Ok(ExitCode::SUCCESS);
    }
    crate::tui::compare_view::open(first, loaded)?;
    Ok(ExitCode::SUCCESS)
}
