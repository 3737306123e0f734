//! `bertwork train` (and `tui`, and no command at all): a new session.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::Args;

use super::options::{quote, ConfigArgs, RunArgs};
use crate::config::Config;
use crate::session::elastic::ElasticRun;
use crate::session::Session;
use crate::train::TrainSetup;

#[derive(Debug, Clone, Args, Default)]
pub struct TrainArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Corpus: a file (CSV, TSV, plain text, JSON Lines, Parquet, Arrow; gzip/zstd
    /// too), a folder of shards (or of `datasets.save_to_disk`) or a quoted glob
    /// (default: the embedded IMDB sample).
    #[arg(long, value_name = "PATH")]
    pub corpus: Option<PathBuf>,
    /// How the corpus is laid out: auto (by extension, then content), csv, tsv, text
    /// (a document per line), sentences (BERT's sentence per line, blank line between
    /// documents), jsonl, parquet or arrow; gzip and zstd files are read as such.
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<String>,
    /// Column (CSV/TSV/Parquet/Arrow) or field (JSON Lines) holding the text; a dotted
    /// path for a nested field (`meta.body`).
    #[arg(long, value_name = "NAME")]
    pub text_column: Option<String>,
    /// Column holding each document's class, for the downstream probe: auto (detect),
    /// none (off) or a column name.
    #[arg(long, value_name = "NAME")]
    pub label_column: Option<String>,
    /// Existing WordPiece vocab.txt instead of training one.
    #[arg(long, value_name = "FILE")]
    pub vocab: Option<PathBuf>,
    /// Session name (default: date-time-preset).
    #[arg(long)]
    pub session: Option<String>,
    #[command(flatten)]
    pub run: RunArgs,
}

impl TrainArgs {
    /// The config from file, flags and --set, in that order of precedence (last wins).
    pub fn resolve(&self) -> Result<Config> {
        let mut sets = Vec::new();
        if let Some(c) = &self.corpus {
            sets.push(format!("data.corpus={}", quote(&c.to_string_lossy())));
        }
        if let Some(f) = &self.format {
            sets.push(format!("data.format={}", quote(f)));
        }
        if let Some(c) = &self.text_column {
            sets.push(format!("data.text_column={}", quote(c)));
        }
        if let Some(c) = &self.label_column {
            sets.push(format!("data.label_column={}", quote(c)));
        }
        if let Some(v) = &self.vocab {
            sets.push(format!("data.vocab={}", quote(&v.to_string_lossy())));
        }
        sets.extend(self.run.overrides());
        let mut config = self.config.resolve(&sets)?;
        crate::corpus::format::Format::parse(&config.data.format)?;
        if config.data.corpus.is_none() && !self.config.sets_key("train", "watch") {
            config.train.watch = crate::corpus::EMBEDDED_WATCH.map(String::from).to_vec();
        }
        // The session keeps absolute paths, so that a resume from another folder finds
        // the same files.
        for path in [&mut config.data.corpus, &mut config.data.vocab]
            .into_iter()
            .flatten()
        {
            if let Ok(absolute) = std::path::absolute(&*path) {
                *path = absolute;
            }
        }
        Ok(config)
    }
}

/// Creates the session and trains it in the workbench, or headless with --headless
/// (or when stdout is not a terminal).
pub fn exec(args: &TrainArgs) -> Result<ExitCode> {
    let mut config = args.resolve()?;
    let job = ElasticRun::from_env();
    if let Some(name) = restarted_session(args, job.as_ref())? {
        return resume_after_restart(args, &name);
    }
    let session = Session::create(args.session.as_deref(), config.model.preset.name())?;
    if let Some(job) = &job {
        job.write(&session)?;
    }
    match crate::corpus::pipe::keep_named(&mut config.data.corpus, &session.dir) {
        Ok(Some(note)) => eprintln!("bertwork: {note}"),
        Ok(None) => {}
        Err(e) => {
            session.discard_if_untrained();
            return Err(e);
        }
    }
    args.run.launch(TrainSetup::fresh(config, session))
}

/// Under a restarted torchrun group (`TORCHELASTIC_RESTART_COUNT` > 0), the session
/// this job's earlier attempt created and checkpointed: the one named by `--session`,
/// or else the only one recorded with this job's id. None when this is a first attempt,
/// or the earlier one saved nothing (then the run starts again, reusing the folder).
fn restarted_session(args: &TrainArgs, job: Option<&ElasticRun>) -> Result<Option<String>> {
    let Some(job) = job else { return Ok(None) };
    let restarts = match crate::distributed::Rendezvous::from_env()? {
        Some(rdv) if rdv.restart_count > 0 && rdv.rank == 0 => rdv.restart_count,
        _ => return Ok(None),
    };
    let candidates: Vec<String> = match &args.session {
        Some(name) => vec![name.clone()],
        None if job.is_unique() => crate::session::list_names()?,
        None => Vec::new(),
    };
    let found = candidates.into_iter().find(|name| {
        Session::open(name)
            .is_ok_and(|s| s.has_saved_work() && ElasticRun::read(&s).as_ref() == Some(job))
    });
    if found.is_none() {
        eprintln!(
            "warning: torchrun restart {restarts}: no checkpoint of this job's session to resume; training starts again at step 0"
        );
    }
    Ok(found)
}

/// Continues `name` from its last complete checkpoint as `bertwork resume` does, with
/// this command line's run options (--max-steps, --epochs, --device, --threads).
fn resume_after_restart(args: &TrainArgs, name: &str) -> Result<ExitCode> {
    let (setup, warnings) = crate::resume::setup(name, &args.run.overrides())?;
    for w in &warnings {
        eprintln!("warning: {}", crate::terminal_text::escape_lines(w));
    }
    eprintln!("torchrun restarted the group: resuming session `{name}` from its last checkpoint");
    args.run.launch(setup)
}
