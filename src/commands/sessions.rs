//! `bertwork sessions`: list the saved sessions, show one, remove one.

use std::io::IsTerminal;
use std::path::Path;
use std::process::ExitCode;
use std::time::SystemTime;

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};

use crate::records::{CHANGES_FILE, METRICS_FILE};
use crate::session::{list_names, sessions_root, Lineage, Session, CHECKPOINTS_DIR};
use crate::terminal_text::escape;
use crate::train::checkpoint;

#[derive(Debug, Args)]
pub struct SessionsArgs {
    #[command(subcommand)]
    pub action: Option<SessionsAction>,
}

#[derive(Debug, Subcommand)]
pub enum SessionsAction {
    /// One session in detail: config, checkpoints, latest metrics, changes.
    Show { name: String },
    /// Delete a session folder.
    Rm {
        name: String,
        /// Do not ask for confirmation.
        #[arg(long)]
        yes: bool,
    },
}

pub fn exec(args: &SessionsArgs) -> Result<ExitCode> {
    match &args.action {
        None => list(),
        Some(SessionsAction::Show { name }) => show(name),
        Some(SessionsAction::Rm { name, yes }) => remove(name, *yes),
    }
}

/// What `metrics.csv` says about a session.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct MetricsSummary {
    pub last_step: u64,
    /// Lowest held-out MLM loss, with the NSP accuracy of the same evaluation (none
    /// when NSP is not trained).
    pub best: Option<(u64, f64, Option<f64>)>,
    pub last_train: Option<csv::StringRecord>,
    pub last_eval: Option<csv::StringRecord>,
}

pub fn summarize_metrics(path: &Path) -> Result<MetricsSummary> {
    let mut out = MetricsSummary::default();
    let Ok(mut reader) = csv::Reader::from_path(path) else {
        return Ok(out);
    };
    let headers = reader.headers()?.clone();
    let col = |name: &str| headers.iter().position(|h| h == name);
    let (Some(step), Some(split), Some(mlm), Some(nsp)) =
        (col("step"), col("split"), col("mlm_loss"), col("nsp_acc"))
    else {
        bail!("{} does not have bertwork's columns", path.display());
    };
    for row in reader.records() {
        let Ok(row) = row else { continue };
        let num = |i: usize| row.get(i).and_then(|v| v.parse::<f64>().ok());
        let s = row
            .get(step)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0);
        out.last_step = out.last_step.max(s);
        if row.get(split) == Some("heldout") {
            if let Some(loss) = num(mlm) {
                if out.best.is_none_or(|b| loss < b.1) {
                    out.best = Some((s, loss, num(nsp)));
                }
            }
            out.last_eval = Some(row);
        } else {
            out.last_train = Some(row);
        }
    }
    Ok(out)
}

fn modified(dir: &Path) -> Option<SystemTime> {
    std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok()?.metadata().ok()?.modified().ok())
        .max()
}

fn ago(t: Option<SystemTime>) -> String {
    let Some(t) = t else {
        return "-".into();
    };
    let local: chrono::DateTime<chrono::Local> = t.into();
    local.format("%Y-%m-%d %H:%M").to_string()
}

fn list() -> Result<ExitCode> {
    let names = list_names()?;
    if names.is_empty() {
        println!(
            "no sessions yet in {}; start one with `bertwork` or `bertwork train`",
            sessions_root()?.display()
        );
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{:<28} {:<8} {:>8} {:>12} {:>8}  {:<16} FORKED FROM",
        "NAME", "PRESET", "STEPS", "BEST MLM", "NSP ACC", "MODIFIED"
    );
    for name in names {
        let session = Session::open(&name)?;
        let preset = session
            .load_config()
            .map(|c| c.model.preset.to_string())
            .unwrap_or_else(|_| "?".into());
        let m = summarize_metrics(&session.path(METRICS_FILE)).unwrap_or_default();
        let (best, nsp) = match m.best {
            Some((_, loss, acc)) => (
                format!("{loss:.3}"),
                acc.map_or("off".into(), |a| format!("{a:.3}")),
            ),
            None => ("-".into(), "-".into()),
        };
        let from = Lineage::read(&session).map_or("-".into(), |l| l.label());
        // The step the session would resume from: its newest checkpoint.
        let saved = checkpoint::list(&session.path(CHECKPOINTS_DIR))
            .last()
            .map_or(m.last_step, |(step, _)| *step);
        println!(
            "{:<28} {:<8} {:>8} {:>12} {:>8}  {:<16} {}",
            name,
            preset,
            saved,
            best,
            nsp,
            ago(modified(&session.dir)),
            escape(&from)
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn show(name: &str) -> Result<ExitCode> {
    let session = Session::open(name)?;
    println!("session   {}", session.name);
    println!("folder    {}", session.dir.display());
    println!("modified  {}", ago(modified(&session.dir)));
    if let Some(l) = Lineage::read(&session) {
        println!(
            "forked from {} on {}",
            escape(&l.label()),
            escape(&l.created)
        );
    }
    match session.load_config() {
        Ok(c) => {
            let d = c.dims()?;
            println!(
                "model     {} ({} layers, hidden {}, {} heads), {} positions",
                c.model.preset,
                d.layers,
                d.hidden,
                d.heads,
                serde_json::to_string(&c.model.position)?.trim_matches('"')
            );
            let corpus = c
                .data
                .corpus
                .as_ref()
                .map_or("embedded IMDB sample".into(), |p| p.display().to_string());
            println!("corpus    {corpus} (column `{}`)", c.data.text_column);
            println!(
                "train     {} epochs, batch {} per process, lr {}, warmup {}, seed {}",
                c.train.epochs, c.train.batch_size, c.train.lr, c.train.warmup_steps, c.train.seed
            );
        }
        Err(e) => println!("config    unreadable: {e:#}"),
    }
    if let Ok(Some(state)) = crate::finetune::FinetuneState::read(&session) {
        if state.imported {
            println!("classifier {}", escape(&state.describe()));
        } else {
            println!(
                "classifier fine-tuned on `{}`: {}",
                escape(&state.label_column),
                escape(&state.describe())
            );
        }
    }
    if let Ok(Some(setup)) = crate::downstream::load_setup(&session.dir) {
        println!("{}", setup.describe());
        if let Some(r) = crate::records::read_downstream(&session).last() {
            println!("last {}", r.describe(Some(&setup.tfidf)));
        }
    }
    let best = checkpoint::best(&session).map(|b| b.0);
    let ckpts = checkpoint::list(&session.path(CHECKPOINTS_DIR));
    if ckpts.is_empty() {
        println!("checkpoints: none");
    } else {
        println!("checkpoints:");
        for (step, dir) in ckpts {
            let status = match checkpoint::verify(&dir) {
                Ok(s) => format!(
                    "epoch {}{}{}",
                    s.epoch,
                    s.heldout_mlm_loss
                        .map_or(String::new(), |l| format!(", held-out MLM {l:.3}")),
                    // `train.batch_size` is per process: say how many there were.
                    if s.world_size > 1 {
                        format!(
                            ", {} processes (global batch {})",
                            s.world_size,
                            s.world_size * s.config.train.batch_size
                        )
                    } else {
                        String::new()
                    }
                ),
                Err(checkpoint::Unusable::Damaged(e)) => format!("DAMAGED: {e:#}"),
                Err(checkpoint::Unusable::Newer(e)) => format!("NEWER VERSION: {e:#}"),
            };
            let mark = if Some(step) == best { "  (best)" } else { "" };
            println!("  step {step:>8}  {status}{mark}");
        }
    }
    let m = summarize_metrics(&session.path(METRICS_FILE))?;
    if let Some((step, loss, acc)) = m.best {
        let nsp = acc.map_or("NSP off".into(), |a| format!("NSP acc {a:.3}"));
        println!("best held-out MLM loss {loss:.4} ({nsp}) at step {step}");
    }
    for (label, row) in [("last step", &m.last_train), ("last eval", &m.last_eval)] {
        if let Some(row) = row {
            println!("{label:<10} {}", row.iter().collect::<Vec<_>>().join(","));
        }
    }
    if let Ok(text) = std::fs::read_to_string(session.path(CHANGES_FILE)) {
        let rows: Vec<&str> = text.lines().skip(1).collect();
        if !rows.is_empty() {
            println!("changes (step,epoch,time,key,value,source):");
            for r in rows {
                println!("  {r}");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn dir_size(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .filter_map(|e| e.ok())
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => dir_size(&e.path()),
            _ => e.metadata().map_or(0, |m| m.len()),
        })
        .sum()
}

fn remove(name: &str, yes: bool) -> Result<ExitCode> {
    // Locked before asking, so a run cannot start (or be running) while it is removed.
    let session = Session::open_to_write(name)?;
    let size = dir_size(&session.dir) as f64 / 1e6;
    if !yes {
        if !std::io::stdin().is_terminal() {
            bail!("removing session `{name}` ({size:.1} MB) needs confirmation: pass --yes");
        }
        eprint!(
            "remove session `{name}` ({size:.1} MB in {})? [y/N] ",
            session.dir.display()
        );
        let mut answer = String::new();
        std::io::stdin().read_line(&mut answer)?;
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            println!("kept `{name}`");
            return Ok(ExitCode::SUCCESS);
        }
    }
    std::fs::remove_dir_all(&session.dir)
        .with_context(|| format!("cannot remove {}", session.dir.display()))?;
    println!("removed session `{name}` ({size:.1} MB)");
    Ok(ExitCode::SUCCESS)
}
